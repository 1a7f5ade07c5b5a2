import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { builtinModules } from "node:module";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

// The public surface, one list per subpath export. A change here is a change to the API: it shows
// in review, and this test fails until the list is updated on purpose.
const SURFACE: Record<string, string[]> = {
  ".": [
    "APIResponse",
    "App",
    "AppCore",
    "BufferedResponse",
    "CSVResponse",
    "Channel",
    "ChannelOverrunError",
    "Channels",
    "DEFAULT_BODY_LIMIT",
    "EmptyResponse",
    "EncodedEvent",
    "HTMLResponse",
    "HTTPError",
    "HeaderError",
    "JSONRPCError",
    "JSONRPCErrorResponse",
    "JSONRPCResponse",
    "JSONRPCRouter",
    "JSONRPC_ERRORS",
    "JSONResponse",
    "MemoryBackend",
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
    "compareIds",
    "encodeLocation",
    "escapeHTML",
    "isChannelId",
    "isChannelName",
    "isLocalPath",
    "isSchema",
    "isValidHeaderName",
    "isValidHeaderValue",
    "ndjsonOf",
    "problemBody",
    "sse",
    "sseOf",
    "statusText",
  ],
  "./node": [
    "FileResponse",
    "normalizeStaticPath",
    "resolveInsideRoot",
    "resolveStaticFile",
    "serve",
    "serveFile",
    "serveStatic",
    "staticMount",
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
    "selfSignedCertificate",
    "testClient",
  ],
  "./openapi": ["OpenAPIResponse", "openAPIDocument", "serveOpenAPI", "toJSONSchema"],
  "./templates": ["TemplateError", "TemplateResponse", "checkTemplateName", "liquidEngine"],
  "./compress": ["availableEncodings", "compress", "compressResponse", "isCompressible"],
  "./redis": ["RedisBackend"],
  "./client": [
    "EventStream",
    "ItemStream",
    "ProblemError",
    "SchemaError",
    "StreamError",
    "client",
    "parseSSE",
  ],
};

/** The entries package.json exports (the built files), and the source each is built from. */
async function entries(): Promise<Map<string, URL>> {
  const pkg = JSON.parse(await readFile(new URL("../package.json", import.meta.url), "utf8"));
  const out = new Map<string, URL>();
  for (const [subpath, target] of Object.entries(pkg.exports)) {
    if (subpath === "./package.json") continue;
    const built = (target as { import: string }).import;
    const source = built.replace(/^\.\/dist\//, "./src/").replace(/\.js$/, ".ts");
    out.set(subpath, new URL(`../${source}`, import.meta.url));
  }
  return out;
}

describe("the public surface", () => {
  it("lists every subpath that package.json exports", async () => {
    assert.deepEqual([...(await entries()).keys()].sort(), Object.keys(SURFACE).sort());
  });

  it("gives every subpath types and an ES module, both in dist/", async () => {
    const pkg = JSON.parse(await readFile(new URL("../package.json", import.meta.url), "utf8"));
    for (const [subpath, target] of Object.entries(pkg.exports)) {
      if (subpath === "./package.json") continue;
      const t = target as Record<string, string>;
      assert.deepEqual(Object.keys(t), ["types", "import"], subpath);
      assert.match(t.types!, /^\.\/dist\/.+\.d\.ts$/, subpath);
      assert.equal(t.types!.replace(/\.d\.ts$/, ".js"), t.import, subpath);
    }
  });

  for (const [subpath, names] of Object.entries(SURFACE)) {
    it(`exports exactly the listed names from sluice${subpath === "." ? "" : subpath.slice(1)}`, async () => {
      const source = (await entries()).get(subpath);
      assert.ok(source, `package.json exports ${subpath}`);
      const mod = await import(source.href);
      assert.deepEqual(Object.keys(mod).sort(), [...names].sort());
    });
  }
});

// Entries that must run in a browser or a Worker, and whether they may pull in packages.
const NEUTRAL: { entry: string; name: string; packages: boolean }[] = [
  { entry: "./index.ts", name: "the root entry", packages: true },
  { entry: "./client/index.ts", name: "sluice/client", packages: false },
];

describe("the runtime-neutral entries", () => {
  for (const { entry, name, packages } of NEUTRAL) {
    it(`bundle ${name} for a browser or a Worker without one Node built-in${packages ? ", its dependencies included" : " or one dependency"}`, async () => {
      const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
      const result = await build({
        entryPoints: [fileURLToPath(new URL(entry, import.meta.url))],
        bundle: true,
        write: false,
        format: "esm",
        platform: "browser",
        conditions: ["workerd", "worker", "browser"],
        metafile: true,
        logLevel: "silent",
        // Anything a module imports that is a Node built-in is kept out and listed, not failed on,
        // so the assertion below can name every one.
        plugins: [
          {
            name: "list-builtins",
            setup(b) {
              b.onResolve({ filter: /.*/ }, (args) =>
                builtins.has(args.path) ? { path: args.path, external: true } : undefined,
              );
            },
          },
        ],
      });
      const imported = Object.values(result.metafile.inputs).flatMap((input) =>
        input.imports.filter((i) => builtins.has(i.path)).map((i) => i.path),
      );
      assert.deepEqual(imported, [], `${name} pulls in Node built-ins`);
      if (!packages) {
        const outside = Object.keys(result.metafile.inputs).filter((f) => !f.startsWith("src/"));
        assert.deepEqual(outside, [], `${name} pulls in packages`);
      }
      const text = result.outputFiles[0]!.text;
      // Node globals a Worker does not have (as whole names: ArrayBuffer.isView is fine).
      for (const global of ["Buffer.", "process.", "__dirname", "require("]) {
        const used = new RegExp(`(?<![\\w$.])${global.replace(/[.(]/g, "\\$&")}`);
        assert.ok(!used.test(text), `${name} uses ${global}`);
      }
    });
  }
});
