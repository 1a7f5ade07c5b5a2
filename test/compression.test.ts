/**
 * Compression end to end, through both engines: negotiation, Vary, the threshold, the cases never
 * compressed, per-item flushing of streams, backpressure and teardown through the compressor.
 * Bodies are read raw (app.fetch in memory, node:http over the socket, node:http2 on h2): fetch
 * would decode them.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request as httpRequest, type IncomingMessage } from "node:http";
import type { IncomingHttpHeaders } from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import zlib from "node:zlib";
import { createContractApp } from "../examples/contract/app.ts";
import { type CompressOptions, compress } from "../src/compress/index.ts";
import {
  App,
  BufferedResponse,
  EmptyResponse,
  NDJSONResponse,
  SSEResponse,
  StreamingResponse,
  sse,
  TextResponse,
} from "../src/index.ts";
import { FileResponse, staticMount } from "../src/node/index.ts";
import { type ClientMode, type TestClient, testClient } from "../src/testing/index.ts";
import { BOUND, MODES } from "./helpers/app.ts";
import { h2Connect, NGHTTP2_CANCEL, NGHTTP2_NO_ERROR } from "./helpers/h2.ts";
import { gate, settled, until, within } from "./helpers/wait.ts";

const ZSTD = typeof (zlib as { createZstdCompress?: unknown }).createZstdCompress === "function";
const STATIC_DIR = fileURLToPath(new URL("../examples/contract/public", import.meta.url));
const TEXT = "All work and no play makes Jack a dull boy.\n".repeat(100); // 4400 bytes

/** A response as it came over the wire: status, headers, and the body's bytes as they arrive. */
interface Raw {
  readonly status: number;
  header(name: string): string | null;
  readonly body: AsyncIterator<Uint8Array>;
  /** Goes away without reading the rest: a disconnect. */
  leave(): void;
  /** After the body ended: whether it ended cleanly rather than cut short. */
  complete(): boolean;
}

async function send(
  client: TestClient,
  path: string,
  headers: Record<string, string> = {},
  method = "GET",
): Promise<Raw> {
  if (client.mode === "memory") {
    const res = await client.fetch(path, { method, headers });
    const reader = res.body?.getReader();
    let clean = reader === undefined;
    return {
      status: res.status,
      header: (name) => res.headers.get(name),
      body: {
        next: async () => {
          if (!reader) return { done: true, value: undefined };
          try {
            const r = await reader.read();
            if (r.done) clean = true;
            return r.done ? { done: true, value: undefined } : r;
          } catch {
            return { done: true, value: undefined };
          }
        },
      },
      leave: () => void reader?.cancel().catch(() => {}),
      complete: () => clean,
    };
  }
  if (client.mode === "h2") {
    const session = await h2Connect(await client.url(), {
      ca: (await client.certificate())!.cert,
    });
    const stream = session.request(
      { ":method": method, ":path": path, ...headers },
      {
        endStream: true,
      },
    );
    stream.on("error", () => {});
    stream.once("close", () => session.close());
    const head = await within(
      new Promise<IncomingHttpHeaders>((resolve, reject) => {
        stream.once("response", resolve);
        stream.once("close", () =>
          reject(new Error(`reset before a response (${stream.rstCode})`)),
        );
      }),
      5000,
      `the response to ${path}`,
    );
    const iterator = stream[Symbol.asyncIterator]();
    return {
      status: Number(head[":status"]),
      header: (name) => {
        const v = head[name.toLowerCase()];
        return v === undefined ? null : Array.isArray(v) ? v.join(", ") : String(v);
      },
      body: { next: () => iterator.next().catch(() => ({ done: true, value: undefined })) },
      leave: () => stream.close(NGHTTP2_CANCEL),
      // END_STREAM, not a reset.
      complete: () => stream.readableEnded && stream.rstCode === NGHTTP2_NO_ERROR,
    };
  }
  const url = new URL(path, await client.url());
  const msg = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = httpRequest(url, { method, headers, agent: false }, resolve);
    req.on("error", reject);
    req.end();
  });
  const iterator = msg[Symbol.asyncIterator]();
  return {
    status: msg.statusCode!,
    header: (name) => {
      const v = msg.headers[name.toLowerCase()];
      return v === undefined ? null : Array.isArray(v) ? v.join(", ") : v;
    },
    body: { next: () => iterator.next().catch(() => ({ done: true, value: undefined })) },
    leave: () => msg.destroy(),
    complete: () => msg.complete,
  };
}

async function bytesOf(raw: Raw): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (;;) {
    const r = await raw.body.next();
    if (r.done) return Buffer.concat(parts);
    parts.push(Buffer.from(r.value));
  }
}

function decode(coding: string | null, bytes: Buffer): string {
  switch (coding) {
    case null:
      return bytes.toString();
    case "br":
      return zlib.brotliDecompressSync(bytes).toString();
    case "gzip":
      return zlib.gunzipSync(bytes).toString();
    case "zstd":
      return zlib.zstdDecompressSync(bytes).toString();
    default:
      throw new Error(`unexpected content coding ${coding}`);
  }
}

/** Decodes a stream incrementally, as a client that shows what arrived so far. */
function decoder(coding: string): { text(): string; feed(chunk: Uint8Array): void; close(): void } {
  const d =
    coding === "br"
      ? zlib.createBrotliDecompress()
      : coding === "gzip"
        ? zlib.createGunzip()
        : zlib.createZstdDecompress();
  let text = "";
  d.setEncoding("utf8");
  d.on("data", (s: string) => {
    text += s;
  });
  d.on("error", () => {});
  return { text: () => text, feed: (chunk) => d.write(chunk), close: () => d.destroy() };
}

function quietApp(): App {
  return new App().onError(() => {});
}

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function fixtureDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "sluice-compress-"));
  dirs.push(dir);
  writeFileSync(join(dir, "page.html"), `<!doctype html><pre>${TEXT}</pre>`);
  writeFileSync(join(dir, "tiny.txt"), "hello\n");
  writeFileSync(join(dir, "pixel.png"), randomBytes(4096));
  writeFileSync(join(dir, "both.txt"), TEXT);
  writeFileSync(join(dir, "both.txt.br"), zlib.brotliCompressSync(TEXT));
  return dir;
}

for (const mode of MODES) {
  describe(`compression (${mode})`, () => {
    const clients: TestClient[] = [];
    const client = (app: App): TestClient => {
      const c = testClient(app, mode as ClientMode);
      clients.push(c);
      return c;
    };
    after(async () => {
      for (const c of clients) await c.close();
    });

    describe("negotiation", () => {
      const app = quietApp();
      app.use(compress({ encodings: ["br", "gzip"] }));
      app.get("/text", () => new TextResponse(TEXT));
      const table: [string | undefined, string | null][] = [
        [undefined, null],
        ["", null],
        ["gzip", "gzip"],
        ["br", "br"],
        ["gzip, br", "br"],
        ["gzip;q=1, br;q=0.5", "gzip"],
        ["br;q=0, gzip", "gzip"],
        ["br;q=0.001, gzip;q=0.002", "gzip"],
        ["*", "br"],
        ["*;q=0", null],
        ["br;q=0, *", "gzip"],
        ["gzip;q=0, *;q=0.5", "br"],
        ["identity;q=0", null],
        ["identity;q=0, gzip;q=0.1", "gzip"],
        ["compress, deflate", null],
        ["x-gzip", "gzip"],
        ["GZIP", "gzip"],
        [" , gzip ,", "gzip"],
        ["gzip;q=2", null],
        ["gzip;level=1", null],
      ];
      for (const [accept, expected] of table) {
        // An HTTP/2 field value cannot start or end with whitespace (RFC 9113 §8.2.1): the row is
        // about HTTP/1.1's optional whitespace, and node:http2 drops such a field.
        if (mode === "h2" && accept !== undefined && accept.trim() !== accept) continue;
        it(
          `answers Accept-Encoding ${JSON.stringify(accept)} with ${expected ?? "identity"}`,
          BOUND,
          async () => {
            const raw = await send(
              client(app),
              "/text",
              accept === undefined ? {} : { "accept-encoding": accept },
            );
            assert.equal(raw.status, 200);
            assert.equal(raw.header("content-encoding"), expected);
            assert.equal(raw.header("vary"), "Accept-Encoding");
            assert.equal(decode(expected, await bytesOf(raw)), TEXT);
          },
        );
      }

      it("follows the server's order among codings the client rates equally", BOUND, async () => {
        const app = quietApp();
        app.use(compress({ encodings: ["gzip", "br"] }));
        app.get("/text", () => new TextResponse(TEXT));
        const raw = await send(client(app), "/text", { "accept-encoding": "br, gzip" });
        assert.equal(raw.header("content-encoding"), "gzip");
        assert.equal(decode("gzip", await bytesOf(raw)), TEXT);
      });

      it("offers zstd where node:zlib has it", { ...BOUND, skip: !ZSTD }, async () => {
        const app = quietApp();
        app.use(compress());
        app.get("/text", () => new TextResponse(TEXT));
        const raw = await send(client(app), "/text", { "accept-encoding": "zstd" });
        assert.equal(raw.header("content-encoding"), "zstd");
        assert.equal(decode("zstd", await bytesOf(raw)), TEXT);
      });
    });

    describe("Vary and size", () => {
      it("adds Vary: Accept-Encoding when the client asked for nothing", BOUND, async () => {
        const app = quietApp();
        app.use(compress());
        app.get("/text", () => new TextResponse(TEXT));
        const raw = await send(client(app), "/text");
        assert.equal(raw.header("content-encoding"), null);
        assert.equal(raw.header("vary"), "Accept-Encoding");
        assert.equal(raw.header("content-length"), String(TEXT.length));
        assert.equal(decode(null, await bytesOf(raw)), TEXT);
      });

      it("adds to a Vary already there, once", BOUND, async () => {
        const app = quietApp();
        app.use(compress());
        app.get("/origin", () => new TextResponse(TEXT, { headers: { vary: "Origin" } }));
        app.get("/already", () => new TextResponse(TEXT, { headers: { vary: "accept-encoding" } }));
        const c = client(app);
        const a = await send(c, "/origin", { "accept-encoding": "gzip" });
        assert.equal(a.header("vary"), "Origin, Accept-Encoding");
        await bytesOf(a);
        const b = await send(c, "/already", { "accept-encoding": "gzip" });
        assert.equal(b.header("vary"), "accept-encoding");
        await bytesOf(b);
      });

      it(
        "sends a body under the threshold as it is, and one at the threshold compressed",
        BOUND,
        async () => {
          const app = quietApp();
          app.use(compress());
          app.get("/small", () => new TextResponse("x".repeat(1023)));
          app.get("/enough", () => new TextResponse("x".repeat(1024)));
          const c = client(app);
          const small = await send(c, "/small", { "accept-encoding": "gzip" });
          assert.equal(small.header("content-encoding"), null);
          assert.equal(small.header("vary"), "Accept-Encoding");
          assert.equal((await bytesOf(small)).byteLength, 1023);
          const enough = await send(c, "/enough", { "accept-encoding": "gzip" });
          assert.equal(enough.header("content-encoding"), "gzip");
          assert.equal(decode("gzip", await bytesOf(enough)), "x".repeat(1024));
        },
      );

      it("takes another threshold as an option", BOUND, async () => {
        const app = quietApp();
        app.use(compress({ threshold: 0 }));
        app.get("/tiny", () => new TextResponse("hi"));
        const raw = await send(client(app), "/tiny", { "accept-encoding": "gzip" });
        assert.equal(raw.header("content-encoding"), "gzip");
        assert.equal(decode("gzip", await bytesOf(raw)), "hi");
      });

      it(
        "compresses only media types worth it, by its own list or the one given",
        BOUND,
        async () => {
          const app = quietApp();
          app.use("/default", compress());
          app.use(
            "/custom",
            compress({ compressible: (type) => type.startsWith("application/x-custom") }),
          );
          const png = () => new BufferedResponse(TEXT, { mediaType: "image/png" });
          const custom = () => new BufferedResponse(TEXT, { mediaType: "application/x-custom" });
          app.get("/default/png", png);
          app.get("/default/custom", custom);
          app.get("/custom/custom", custom);
          const c = client(app);
          for (const [path, coding] of [
            ["/default/png", null],
            ["/default/custom", null],
            ["/custom/custom", "gzip"],
          ] as const) {
            const raw = await send(c, path, { "accept-encoding": "gzip" });
            assert.equal(raw.header("content-encoding"), coding, path);
            // Vary only where the answer could have been another coding.
            assert.equal(raw.header("vary"), coding === null ? null : "Accept-Encoding", path);
            assert.equal(decode(coding, await bytesOf(raw)), TEXT, path);
          }
        },
      );
    });

    describe("buffered bodies", () => {
      it(
        "keep a Content-Length, the compressed one, and decompress to the original",
        BOUND,
        async () => {
          const app = quietApp();
          app.use(compress());
          app.get("/text", () => new TextResponse(TEXT));
          const raw = await send(client(app), "/text", { "accept-encoding": "br" });
          const body = await bytesOf(raw);
          assert.equal(raw.header("content-encoding"), "br");
          assert.equal(raw.header("content-length"), String(body.byteLength));
          assert.ok(body.byteLength < TEXT.length / 5, `${body.byteLength} bytes`);
          assert.equal(raw.header("transfer-encoding"), null);
          assert.equal(decode("br", body), TEXT);
        },
      );

      it("get an ETag of their own: weak by default, suffixed on request", BOUND, async () => {
        const app = quietApp();
        app.use("/weak", compress());
        app.use("/suffix", compress({ etag: "suffix" }));
        const tagged = () => new TextResponse(TEXT, { headers: { etag: '"v1"' } });
        app.get("/weak", tagged);
        app.get("/suffix", tagged);
        const c = client(app);
        const identity = await send(c, "/weak");
        assert.equal(identity.header("etag"), '"v1"');
        await bytesOf(identity);
        const weak = await send(c, "/weak", { "accept-encoding": "gzip" });
        assert.equal(weak.header("etag"), 'W/"v1"');
        await bytesOf(weak);
        const suffixed = await send(c, "/suffix", { "accept-encoding": "br" });
        assert.equal(suffixed.header("etag"), '"v1-br"');
        await bytesOf(suffixed);
      });
    });

    describe("never compressed", () => {
      const dir = fixtureDir();
      const app = quietApp();
      app.use(compress());
      app.get(
        "/coded",
        () =>
          new BufferedResponse(zlib.gzipSync(TEXT), {
            mediaType: "text/plain",
            headers: { "content-encoding": "gzip" },
          }),
      );
      app.get("/empty", () => new EmptyResponse());
      app.get(
        "/no-transform",
        () => new TextResponse(TEXT, { headers: { "cache-control": "public, no-transform" } }),
      );
      app.get("/file/:name", (req) => new FileResponse(join(dir, req.params.name)));
      app.mount("/static", staticMount(dir));

      it("a response that already has a Content-Encoding", BOUND, async () => {
        const raw = await send(client(app), "/coded", { "accept-encoding": "br" });
        assert.equal(raw.header("content-encoding"), "gzip");
        assert.equal(decode("gzip", await bytesOf(raw)), TEXT);
      });

      it("a precompressed variant, which keeps its length and its ranges", BOUND, async () => {
        const raw = await send(client(app), "/static/both.txt", { "accept-encoding": "br, gzip" });
        assert.equal(raw.header("content-encoding"), "br");
        assert.equal(raw.header("vary"), "Accept-Encoding");
        assert.equal(raw.header("accept-ranges"), "bytes");
        const body = await bytesOf(raw);
        assert.equal(raw.header("content-length"), String(body.byteLength));
        assert.equal(decode("br", body), TEXT);
      });

      it("a range (206)", BOUND, async () => {
        const raw = await send(client(app), "/file/page.html", {
          "accept-encoding": "gzip",
          range: "bytes=0-99",
        });
        assert.equal(raw.status, 206);
        assert.equal(raw.header("content-encoding"), null);
        assert.match(raw.header("content-range") ?? "", /^bytes 0-99\//);
        assert.equal((await bytesOf(raw)).byteLength, 100);
      });

      it("a 204", BOUND, async () => {
        const raw = await send(client(app), "/empty", { "accept-encoding": "gzip" });
        assert.equal(raw.status, 204);
        assert.equal(raw.header("content-encoding"), null);
        assert.equal((await bytesOf(raw)).byteLength, 0);
      });

      it("a 304, which still answers a compressed representation's weak ETag", BOUND, async () => {
        const c = client(app);
        const first = await send(c, "/file/page.html", { "accept-encoding": "gzip" });
        assert.equal(first.header("content-encoding"), "gzip");
        const tag = first.header("etag");
        assert.match(tag ?? "", /^W\/"/);
        await bytesOf(first);
        const again = await send(c, "/file/page.html", {
          "accept-encoding": "gzip",
          "if-none-match": tag!,
        });
        assert.equal(again.status, 304);
        assert.equal(again.header("content-encoding"), null);
        assert.equal(again.header("vary"), "Accept-Encoding");
        assert.equal((await bytesOf(again)).byteLength, 0);
      });

      it("an image (image/png)", BOUND, async () => {
        const raw = await send(client(app), "/file/pixel.png", { "accept-encoding": "gzip" });
        assert.equal(raw.header("content-type"), "image/png");
        assert.equal(raw.header("content-encoding"), null);
        assert.equal(raw.header("content-length"), "4096");
        assert.equal((await bytesOf(raw)).byteLength, 4096);
      });

      it("a response marked Cache-Control: no-transform", BOUND, async () => {
        const raw = await send(client(app), "/no-transform", { "accept-encoding": "gzip" });
        assert.equal(raw.header("content-encoding"), null);
        assert.equal(decode(null, await bytesOf(raw)), TEXT);
      });

      it("a file under the threshold", BOUND, async () => {
        const raw = await send(client(app), "/file/tiny.txt", { "accept-encoding": "gzip" });
        assert.equal(raw.header("content-encoding"), null);
        assert.equal(raw.header("content-length"), "6");
        assert.equal(decode(null, await bytesOf(raw)), "hello\n");
      });

      it(
        "HEAD: the headers GET would send, no body, no compressing, no length to guess",
        BOUND,
        async () => {
          const headApp = quietApp();
          headApp.use(compress());
          headApp.get("/text", () => new TextResponse(TEXT, { headers: { etag: '"t"' } }));
          const hc = client(headApp);
          const viaGet = await send(hc, "/text", { "accept-encoding": "br" });
          await bytesOf(viaGet);
          const head = await send(hc, "/text", { "accept-encoding": "br" }, "HEAD");
          assert.equal(head.status, 200);
          for (const name of ["content-encoding", "vary", "etag", "content-type"]) {
            assert.equal(head.header(name), viaGet.header(name), name);
          }
          assert.equal(head.header("content-length"), null);
          assert.equal((await bytesOf(head)).byteLength, 0);
        },
      );

      it("HEAD of a stream: the producer is never started", BOUND, async () => {
        const headApp = quietApp();
        headApp.use(compress());
        let started = false;
        headApp.get(
          "/rows",
          () =>
            new NDJSONResponse(
              (async function* () {
                started = true;
                yield { a: 1 };
              })(),
            ),
        );
        const head = await send(client(headApp), "/rows", { "accept-encoding": "gzip" }, "HEAD");
        assert.equal(head.header("content-encoding"), "gzip");
        assert.equal((await bytesOf(head)).byteLength, 0);
        assert.equal(started, false);
      });
    });

    describe("streams", () => {
      it(
        "are chunked, without a length, and a file compressed on the fly loses its ranges",
        BOUND,
        async () => {
          const dir = fixtureDir();
          const app = quietApp();
          app.use(compress());
          app.get("/page", () => new FileResponse(join(dir, "page.html")));
          const raw = await send(client(app), "/page", { "accept-encoding": "gzip" });
          assert.equal(raw.header("content-encoding"), "gzip");
          assert.equal(raw.header("content-length"), null);
          assert.equal(raw.header("accept-ranges"), null);
          assert.match(raw.header("etag") ?? "", /^W\/"/);
          if (mode === "socket") assert.equal(raw.header("transfer-encoding"), "chunked");
          // HTTP/2 has no Transfer-Encoding: the body ends with END_STREAM (RFC 9113 §8.2.2).
          if (mode === "h2") assert.equal(raw.header("transfer-encoding"), null);
          assert.equal(decode("gzip", await bytesOf(raw)), `<!doctype html><pre>${TEXT}</pre>`);
        },
      );

      it("are compressed on the fly by a static mount that asks for it", BOUND, async () => {
        const dir = fixtureDir();
        const app = quietApp();
        app.mount("/plain", staticMount(dir));
        app.mount("/squeezed", staticMount(dir, { compress: { encodings: ["gzip"] } }));
        const c = client(app);
        const plain = await send(c, "/plain/page.html", { "accept-encoding": "gzip" });
        assert.equal(plain.header("content-encoding"), null);
        await bytesOf(plain);
        const squeezed = await send(c, "/squeezed/page.html", { "accept-encoding": "gzip" });
        assert.equal(squeezed.header("content-encoding"), "gzip");
        assert.equal(squeezed.header("vary"), "Accept-Encoding");
        assert.equal(decode("gzip", await bytesOf(squeezed)), `<!doctype html><pre>${TEXT}</pre>`);
        // A precompressed variant still wins where the client takes it.
        const variant = await send(c, "/squeezed/both.txt", { "accept-encoding": "br, gzip" });
        assert.equal(variant.header("content-encoding"), "br");
        assert.equal(decode("br", await bytesOf(variant)), TEXT);
      });

      for (const coding of ZSTD ? ["br", "gzip", "zstd"] : ["br", "gzip"]) {
        it(`deliver each SSE event (${coding}) before the next is produced`, BOUND, async () => {
          const app = quietApp();
          app.use(compress());
          const gates = [gate(), gate(), gate()];
          app.get(
            "/events",
            () =>
              new SSEResponse(
                (async function* () {
                  for (let i = 0; i < 3; i++) {
                    yield sse({ id: i, event: "tick", data: { i } });
                    // The next event is produced only once the client has this one.
                    await gates[i]!.promise;
                  }
                })(),
                { keepalive: false },
              ),
          );
          const raw = await send(client(app), "/events", { "accept-encoding": coding });
          assert.equal(raw.header("content-encoding"), coding);
          const d = decoder(coding);
          let ended = false;
          const reading = (async () => {
            for (;;) {
              const r = await raw.body.next();
              if (r.done) break;
              d.feed(r.value);
            }
            ended = true;
          })();
          try {
            for (let i = 0; i < 3; i++) {
              await until(() => d.text().includes(`id: ${i}\n`), 5000, `event ${i}`);
              assert.ok(!d.text().includes(`id: ${i + 1}\n`), "an event arrived before its time");
              gates[i]!.resolve();
            }
            await within(reading, 5000, "the end of the stream");
            assert.equal(ended, true);
            assert.equal(d.text().split("event: tick").length - 1, 3);
          } finally {
            for (const g of gates) g.resolve();
            d.close();
          }
        });
      }

      it(
        "compress a fast NDJSON export well: items back to back share a flush",
        BOUND,
        async () => {
          const app = quietApp();
          app.use(compress());
          const n = 100_000;
          app.get(
            "/export",
            () =>
              new NDJSONResponse(
                (function* () {
                  for (let i = 0; i < n; i++) yield { id: i, name: "row", status: "active" };
                })(),
              ),
          );
          let identity = 0;
          for (let i = 0; i < n; i++) {
            identity += JSON.stringify({ id: i, name: "row", status: "active" }).length + 1;
          }
          for (const coding of ["gzip", "br"]) {
            const raw = await send(client(app), "/export", { "accept-encoding": coding });
            const body = await bytesOf(raw);
            assert.ok(
              body.byteLength < identity * 0.2,
              `${coding}: ${body.byteLength} compressed bytes for ${identity} identity bytes`,
            );
            const lines = decode(coding, body).split("\n");
            assert.equal(lines.length, n + 1);
            assert.deepEqual(JSON.parse(lines[n - 1]!), {
              id: n - 1,
              name: "row",
              status: "active",
            });
          }
        },
      );

      it("send what came before a producer's error, then cut the body short", BOUND, async () => {
        const app = quietApp();
        app.use(compress());
        app.get(
          "/failing",
          () =>
            new NDJSONResponse<Record<string, unknown>>(
              (async function* () {
                for (let i = 0; i < 3; i++) yield { i };
                throw new Error("the producer failed on purpose");
              })(),
              { onError: () => ({ error: "failed" }) },
            ),
        );
        const raw = await send(client(app), "/failing", { "accept-encoding": "gzip" });
        assert.equal(raw.header("content-encoding"), "gzip");
        const d = decoder("gzip");
        try {
          for (;;) {
            const r = await raw.body.next();
            if (r.done) break;
            d.feed(r.value);
          }
          await until(() => d.text().includes('{"error":"failed"}'), 5000, "the error line");
          assert.equal(d.text(), '{"i":0}\n{"i":1}\n{"i":2}\n{"error":"failed"}\n');
          assert.equal(raw.complete(), false, "a failed stream ended cleanly");
        } finally {
          d.close();
        }
      });

      it(
        "stop the producer while the reader is paused, and go on once it reads",
        BOUND,
        async () => {
          const app = quietApp();
          app.use(compress());
          const state = { pulls: 0, finallies: 0 };
          app.get(
            "/endless",
            () =>
              new StreamingResponse(
                (async function* () {
                  try {
                    for (;;) {
                      state.pulls++;
                      // Fresh random bytes do not compress: the compressed stream is as big as the
                      // identity one, so the buffers between fill up as fast.
                      yield randomBytes(16 * 1024);
                    }
                  } finally {
                    state.finallies++;
                  }
                })(),
                { mediaType: "text/plain" },
              ),
          );
          const raw = await send(client(app), "/endless", { "accept-encoding": "gzip" });
          assert.equal(raw.header("content-encoding"), "gzip");
          const stalled = await settled(() => state.pulls, 200, 8000);
          // Socket buffers on both sides take a few MiB; without backpressure it would run forever.
          assert.ok(stalled * 16 * 1024 < 32 * 1024 * 1024, `pulled ${stalled} chunks`);
          // Reading again drains the buffers, and the producer is pulled again.
          const start = Date.now();
          while (state.pulls <= stalled + 10 && Date.now() - start < 5000) await raw.body.next();
          assert.ok(state.pulls > stalled + 10, "the producer was not pulled again");
          raw.leave();
          await until(() => state.finallies === 1, 5000, "the producer's finally");
        },
      );

      it(
        "run the producer's finally and free every compressor across many disconnects",
        BOUND,
        async (t) => {
          const created: zlib.Gzip[] = [];
          const real = zlib.createGzip;
          t.mock.method(zlib, "createGzip", (options?: zlib.ZlibOptions) => {
            const z = real(options);
            created.push(z);
            return z;
          });
          const app = quietApp();
          app.use(compress({ encodings: ["gzip"] } satisfies CompressOptions));
          let finallies = 0;
          app.get(
            "/ticks",
            () =>
              new SSEResponse(
                (async function* () {
                  try {
                    for (let i = 0; ; i++) {
                      yield sse({ data: { i } });
                      await new Promise((r) => setTimeout(r, 1));
                    }
                  } finally {
                    finallies++;
                  }
                })(),
                { keepalive: false },
              ),
          );
          const c = client(app);
          const rounds = 20;
          for (let k = 0; k < rounds; k++) {
            const raw = await send(c, "/ticks", { "accept-encoding": "gzip" });
            const first = await raw.body.next();
            assert.equal(first.done, false);
            raw.leave();
          }
          await until(() => finallies === rounds, 5000, `${rounds} producers' finally`);
          assert.equal(created.length, rounds);
          await until(
            () => created.every((z) => z.destroyed),
            5000,
            "every compressor to be freed",
          );
          assert.equal(app.stats.streams.active, 0);
        },
      );
    });

    describe("the contract app", () => {
      const app = createContractApp({
        staticDir: STATIC_DIR,
        bigFile: join(STATIC_DIR, "index.html"),
      });
      app.onError(() => {});

      for (const path of ["/ndjson?n=200", "/sse?n=50", "/csv?n=100"]) {
        it(`compresses ${path} when asked, and answers identity when not`, BOUND, async () => {
          const c = client(app);
          const plain = await send(c, path);
          assert.equal(plain.status, 200);
          assert.equal(plain.header("content-encoding"), null);
          assert.equal(plain.header("vary"), "Accept-Encoding");
          const identity = decode(null, await bytesOf(plain));
          const squeezed = await send(c, path, { "accept-encoding": "gzip, br" });
          assert.equal(squeezed.status, 200);
          assert.equal(squeezed.header("content-encoding"), "br");
          assert.equal(decode("br", await bytesOf(squeezed)), identity);
        });
      }

      it(
        "serves /static from a precompressed variant, or compresses on the fly without one",
        BOUND,
        async () => {
          const c = client(app);
          const plain = await send(c, "/static/hello.txt");
          assert.equal(plain.header("content-encoding"), null);
          assert.equal(plain.header("vary"), "Accept-Encoding");
          const identity = decode(null, await bytesOf(plain));
          const variant = await send(c, "/static/hello.txt", { "accept-encoding": "gzip, br" });
          assert.equal(variant.header("content-encoding"), "br");
          assert.equal(variant.header("content-length"), "25", "the precompressed file, as it is");
          assert.equal(decode("br", await bytesOf(variant)), identity);
          if (!ZSTD) return;
          // No hello.txt.zst: compressed on the fly, chunked.
          const fly = await send(c, "/static/hello.txt", { "accept-encoding": "zstd" });
          assert.equal(fly.header("content-encoding"), "zstd");
          assert.equal(fly.header("content-length"), null);
          assert.equal(fly.header("vary"), "Accept-Encoding");
          assert.equal(decode("zstd", await bytesOf(fly)), identity);
        },
      );

      it(
        "answers /html escaped and with Vary, compressed once the page is big enough",
        BOUND,
        async () => {
          const raw = await send(client(app), "/html?name=%3Cb%3E", { "accept-encoding": "br" });
          assert.equal(raw.header("vary"), "Accept-Encoding");
          const body = decode(raw.header("content-encoding"), await bytesOf(raw));
          assert.match(body, /&lt;b&gt;/);
        },
      );

      it("never compresses the other routes", BOUND, async () => {
        for (const path of ["/json", "/text", "/stream?n=4", "/file"]) {
          const raw = await send(client(app), path, { "accept-encoding": "gzip, br, zstd" });
          assert.equal(raw.header("content-encoding"), null, path);
          assert.equal(raw.header("vary"), null, path);
          await bytesOf(raw);
        }
      });
    });
  });
}
