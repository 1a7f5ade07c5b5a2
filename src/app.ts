import { AppCore } from "./core/app.ts";
import { fetchApp } from "./engine/fetch/fetch.ts";
import { runtimeInfo } from "./engine/fetch/request.ts";

/**
 * A Sluice application: routes, middleware, mounts and an error hook, and `app.fetch`, which
 * answers a web Request with a web Response on any runtime (Bun, Deno, Workers, Node). On Node,
 * `serve(app)` from `sluice/node` writes straight to node:http.
 *
 * @example
 * const app = new App();
 * app.get("/hello/:name", (req) => ({ hello: req.params.name }));
 * export default { fetch: app.fetch };
 */
export class App extends AppCore {
  /**
   * Answers a web Request with a web Response, so the app runs on Bun, Deno and Workers, and a test
   * can call it directly. Bound: pass `app.fetch` around as it is. What a runtime passes beside the
   * Request is understood: a `FetchInfo` (`remoteAddress`, `waitUntil`), Workers' `(env, ctx)`,
   * Deno's handler info, Bun's server.
   *
   * @example
   * export default { fetch: app.fetch };                 // Workers
   * Bun.serve({ fetch: app.fetch });                      // Bun
   * Deno.serve(app.fetch);                                // Deno
   * const res = await app.fetch(new Request("http://localhost/json"));
   */
  readonly fetch = (request: Request, info?: unknown, ctx?: unknown): Promise<Response> =>
    fetchApp(this, request, runtimeInfo(request, info, ctx));
}
