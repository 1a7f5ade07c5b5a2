import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { AppCore } from "../core/app.ts";
import { HTTPError } from "../http/errors.ts";
import type { ContentfulStatus } from "../http/status.ts";
import { escapeHTML } from "../internal/html.ts";
import { BufferedResponse, type ResponseInit } from "../responses/base.ts";
import { HTMLResponse } from "../responses/buffered.ts";
import { type OpenAPIOptions, openAPIDocument } from "./document.ts";

/**
 * An OpenAPI document as a response, `application/vnd.oai.openapi+json`.
 *
 * @example
 * app.get("/openapi.json", () => new OpenAPIResponse(openAPIDocument(app)));
 */
export class OpenAPIResponse extends BufferedResponse<ContentfulStatus> {
  constructor(document: Record<string, unknown>, init?: ResponseInit<ContentfulStatus>) {
    super(JSON.stringify(document), { ...init, mediaType: "application/vnd.oai.openapi+json" });
  }
}

/** Options of `serveOpenAPI`. */
export interface ServeOpenAPIOptions extends OpenAPIOptions {
  /** Where the document is served (default `/openapi.json`; `?version=3.1` gives the 3.1 form). */
  path?: string;
  /** Where the docs page is served (default `/docs`; false for none). */
  docsPath?: string | false;
}

// The docs page's files come from the swagger-ui-dist package, served by this app: nothing is
// loaded from a CDN, so the page works offline and under a strict Content-Security-Policy.
const ASSETS: Record<string, string> = {
  "swagger-ui.css": "text/css; charset=utf-8",
  "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
};

async function asset(name: string): Promise<Uint8Array> {
  let dir: string;
  try {
    dir = dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
  } catch {
    throw new HTTPError(
      501,
      "the docs page needs the swagger-ui-dist package: npm install swagger-ui-dist",
    );
  }
  return readFile(join(dir, name));
}

/**
 * Serves the app's OpenAPI document and an API docs page that loads nothing from outside the
 * server (Swagger UI from the `swagger-ui-dist` package). The routes it adds are hidden from the
 * document itself. The document is built once per version, on first request, from the routes
 * declared by then.
 *
 * @example
 * serveOpenAPI(app, { info: { title: "Movies", version: "1.0.0" } }); // GET /openapi.json, GET /docs
 */
export function serveOpenAPI<A extends AppCore>(app: A, options: ServeOpenAPIOptions = {}): A {
  const path = options.path ?? "/openapi.json";
  const docsPath = options.docsPath === undefined ? "/docs" : options.docsPath;
  const cache = new Map<string, string>();
  app.get(path, { hidden: true }, (req) => {
    const v = req.query.version === "3.1" ? "3.1" : "3.2";
    let text = cache.get(v);
    if (text === undefined) {
      text = JSON.stringify(openAPIDocument(app, { ...options, version: v }));
      cache.set(v, text);
    }
    return new BufferedResponse(text, { mediaType: "application/vnd.oai.openapi+json" });
  });
  if (docsPath === false) return app;
  const files = new Map<string, Promise<Uint8Array>>();
  app.get(`${docsPath}/assets/:file`, { hidden: true }, (req) => {
    const type = ASSETS[req.params.file];
    if (type === undefined) throw new HTTPError(404, "no such docs asset");
    let data = files.get(req.params.file);
    if (!data) {
      data = asset(req.params.file);
      files.set(req.params.file, data);
      data.catch(() => files.delete(req.params.file));
    }
    return data.then((bytes) =>
      new BufferedResponse(bytes, { mediaType: type }).setHeader(
        "cache-control",
        "public, max-age=86400",
      ),
    );
  });
  const title = escapeHTML(options.info?.title ?? "API");
  // Swagger UI reads 3.1 documents; the 3.2 form stays the default at `path`.
  const spec = JSON.stringify(`${path}?version=3.1`);
  app.get(docsPath, { hidden: true }, () =>
    new HTMLResponse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>${title} · API docs</title>
<link rel="stylesheet" href="${docsPath}/assets/swagger-ui.css"></head>
<body><div id="ui"></div>
<script src="${docsPath}/assets/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({ url: ${spec}, dom_id: "#ui", validatorUrl: null, deepLinking: true });</script>
</body></html>`).setHeader(
      "content-security-policy",
      "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:",
    ),
  );
  return app;
}
