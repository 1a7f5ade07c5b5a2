import { AppCore } from "./core/app.ts";
import { fetchApp } from "./engine/fetch/fetch.ts";
import type { FetchInfo } from "./engine/fetch/request.ts";

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
   * can call it directly. Bound: pass `app.fetch` around as it is.
   *
   * @example
   * export default { fetch: app.fetch };
   * const res = await app.fetch(new Request("http://localhost/json"));
   */
  readonly fetch = (request: Request, info?: FetchInfo): Promise<Response> =>
    fetchApp(this, request, info);
}
