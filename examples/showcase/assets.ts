import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { BufferedResponse, HTTPError } from "../../src/index.ts";

const BROWSER = new URL("./browser/", import.meta.url);
const NAME = /^([a-z][a-z-]*)\.js$/;

/**
 * The showcase's browser modules (browser/*.ts), bundled from their TypeScript sources by esbuild
 * when first asked for and kept: the typed client comes from `src/client`, so a page calls the
 * server through it with nothing loaded from outside the server. Each bundle is built once per
 * process; a build error is a 500 naming the module.
 *
 * @example
 * const assets = browserAssets();
 * app.get("/assets/:name", (req) => assets(req.params.name));
 */
export function browserAssets(): (file: string) => Promise<BufferedResponse> {
  const built = new Map<string, Promise<string>>();
  const bundle = (name: string) =>
    build({
      entryPoints: [fileURLToPath(new URL(`${name}.ts`, BROWSER))],
      bundle: true,
      write: false,
      format: "esm",
      platform: "browser",
      target: "es2022",
      minify: true,
      legalComments: "none",
      logLevel: "silent",
    }).then((result) => result.outputFiles[0]!.text);
  return async (file) => {
    const m = NAME.exec(file);
    if (!m || !["chat", "live"].includes(m[1]!)) throw new HTTPError(404, `no module ${file}`);
    let text = built.get(m[1]!);
    if (!text) {
      text = bundle(m[1]!);
      built.set(m[1]!, text);
      text.catch(() => built.delete(m[1]!));
    }
    return new BufferedResponse(await text, {
      mediaType: "text/javascript; charset=utf-8",
      headers: { "cache-control": "no-cache" },
    });
  };
}
