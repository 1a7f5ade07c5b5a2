import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { describe, it } from "node:test";

// The public surface, one list per subpath export. A change here is a change to the API: it shows
// in review, and this test fails until the list is updated on purpose.
const SURFACE: Record<string, string[]> = {
  ".": [
    "APIResponse",
    "App",
    "BufferedResponse",
    "CSVResponse",
    "DEFAULT_BODY_LIMIT",
    "EmptyResponse",
    "FileResponse",
    "HTMLResponse",
    "HTTPError",
    "HeaderError",
    "JSONRPCError",
    "JSONRPCErrorResponse",
    "JSONRPCResponse",
    "JSONRPCRouter",
    "JSONRPC_ERRORS",
    "JSONResponse",
    "NDJSONResponse",
    "ProblemResponse",
    "RedirectResponse",
    "SSEFormatError",
    "SSEResponse",
    "STATUS_TEXT",
    "SchemaError",
    "ServerSentEvent",
    "SluiceRequest",
    "SluiceResponse",
    "StreamingResponse",
    "TextResponse",
    "assertHeader",
    "coerce",
    "encodeLocation",
    "escapeHTML",
    "fetchApp",
    "isLocalPath",
    "isSchema",
    "isValidHeaderName",
    "isValidHeaderValue",
    "ndjsonOf",
    "problemBody",
    "serve",
    "sse",
    "sseOf",
    "statusText",
  ],
  "./testing": [
    "SSEParser",
    "chunks",
    "events",
    "lines",
    "ndjson",
    "parseLines",
    "parseNDJSON",
    "parseSSE",
    "testClient",
  ],
  "./openapi": ["OpenAPIResponse", "openAPIDocument", "serveOpenAPI", "toJSONSchema"],
  "./static": [
    "normalizeStaticPath",
    "resolveInsideRoot",
    "resolveStaticFile",
    "serveFile",
    "serveStatic",
    "staticMount",
  ],
  "./templates": ["TemplateError", "TemplateResponse", "checkTemplateName", "liquidEngine"],
  "./compress": ["availableEncodings", "compress", "compressResponse", "isCompressible"],
};

describe("the public surface", () => {
  it("lists every subpath that package.json exports", async () => {
    const pkg = JSON.parse(await readFile(new URL("../package.json", import.meta.url), "utf8"));
    const exported = Object.keys(pkg.exports);
    assert.deepEqual(exported.sort(), Object.keys(SURFACE).sort());
  });

  for (const [subpath, names] of Object.entries(SURFACE)) {
    it(`exports exactly the listed names from sluice${subpath === "." ? "" : subpath.slice(1)}`, async () => {
      const pkg = JSON.parse(await readFile(new URL("../package.json", import.meta.url), "utf8"));
      const mod = await import(new URL(`../${pkg.exports[subpath]}`, import.meta.url).href);
      assert.deepEqual(Object.keys(mod).sort(), [...names].sort());
    });
  }
});
