import assert from "node:assert/strict";
import { mkdir, mkdtemp, open, rm, stat, truncate, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { MODES, parseByteranges } from "../../test/helpers/app.ts";
import { rawRequest } from "../../test/helpers/raw-http.ts";
import { until } from "../../test/helpers/wait.ts";
import { FetchRequest } from "../engine/fetch/request.ts";
import { App } from "../index.ts";
import { formatHttpDate } from "../internal/conditional.ts";
import { MAX_RANGE_SPECS } from "../internal/range.ts";
import { serve } from "../node/index.ts";
import { testClient } from "../testing/client.ts";
import type { Body } from "./body.ts";
import { FileResponse } from "./file.ts";

const DAY = 86_400_000;

// 1000 bytes that never repeat a 4-byte window: "0000000100020003...0249".
const TEXT = Array.from({ length: 250 }, (_, i) => String(i).padStart(4, "0")).join("");
const BYTES = Buffer.from(TEXT);

let dir: string;
let textFile: string;
let etag: string;
let lastModified: string;
let mtime: number;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "sluice-file-"));
  textFile = join(dir, "numbers.txt");
  await writeFile(textFile, BYTES);
  await writeFile(join(dir, "data.bin"), Buffer.from([0, 1, 2, 255]));
  await writeFile(join(dir, "page.html"), "<p>hi</p>");
  await writeFile(join(dir, "empty.txt"), "");
  await mkdir(join(dir, "a directory"));
  mtime = (await stat(textFile)).mtimeMs;
  lastModified = formatHttpDate(mtime);
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function appFor(make: () => FileResponse): App {
  const app = new App();
  app.get("/f", make);
  app.post("/f", make);
  return app;
}

describe("FileResponse headers", () => {
  for (const mode of MODES) {
    describe(mode, () => {
      it("sends the file whole with its length, type, validators and Accept-Ranges", async () => {
        const client = testClient(
          appFor(() => new FileResponse(textFile)),
          mode,
        );
        try {
          const res = await client.fetch("/f");
          assert.equal(res.status, 200);
          assert.equal(res.headers.get("content-type"), "text/plain; charset=utf-8");
          assert.equal(res.headers.get("content-length"), "1000");
          assert.equal(res.headers.get("accept-ranges"), "bytes");
          assert.equal(res.headers.get("last-modified"), lastModified);
          assert.match(res.headers.get("etag")!, /^"[0-9a-f]+-3e8-[0-9a-f]+"$/);
          assert.deepEqual(Buffer.from(await res.arrayBuffer()), BYTES);
        } finally {
          await client.close();
        }
      });

      it("names binary, HTML and overridden media types", async () => {
        const app = new App();
        app.get("/bin", () => new FileResponse(join(dir, "data.bin")));
        app.get("/html", () => new FileResponse(join(dir, "page.html")));
        app.get("/csv", () => new FileResponse(textFile, { mediaType: "text/csv" }));
        const client = testClient(app, mode);
        try {
          const bin = await client.fetch("/bin");
          assert.equal(bin.headers.get("content-type"), "application/octet-stream");
          assert.deepEqual(Buffer.from(await bin.arrayBuffer()), Buffer.from([0, 1, 2, 255]));
          const html = await client.fetch("/html");
          assert.equal(html.headers.get("content-type"), "text/html; charset=utf-8");
          await html.body?.cancel();
          const csv = await client.fetch("/csv");
          assert.equal(csv.headers.get("content-type"), "text/csv");
          await csv.body?.cancel();
        } finally {
          await client.close();
        }
      });

      it("offers a download name that cannot inject a header or a parameter", async () => {
        const name = 'a "quoted" ☃\r\nx-injected: 1.txt';
        const client = testClient(
          appFor(() => new FileResponse(textFile, { filename: name })),
          mode,
        );
        try {
          const res = await client.fetch("/f");
          await res.body?.cancel();
          assert.equal(res.headers.get("x-injected"), null);
          assert.equal(
            res.headers.get("content-disposition"),
            "attachment; filename=\"a _quoted_ _x-injected: 1.txt\"; filename*=UTF-8''a%20%22quoted%22%20%E2%98%83x-injected%3A%201.txt",
          );
        } finally {
          await client.close();
        }
      });

      it("shows a file inline when asked", async () => {
        const app = appFor(
          () => new FileResponse(textFile, { filename: "n.txt", disposition: "inline" }),
        );
        const client = testClient(app, mode);
        try {
          const res = await client.fetch("/f");
          await res.body?.cancel();
          assert.equal(res.headers.get("content-disposition"), 'inline; filename="n.txt"');
        } finally {
          await client.close();
        }
      });

      it("leaves the validators out when told to", async () => {
        const make = () => new FileResponse(textFile, { etag: false, lastModified: false });
        const client = testClient(appFor(make), mode);
        try {
          const res = await client.fetch("/f", { headers: { "if-none-match": '"x"' } });
          assert.equal(res.status, 200);
          assert.equal(res.headers.get("etag"), null);
          assert.equal(res.headers.get("last-modified"), null);
          await res.body?.cancel();
        } finally {
          await client.close();
        }
      });

      it("sends an empty file as an empty 200", async () => {
        const client = testClient(
          appFor(() => new FileResponse(join(dir, "empty.txt"))),
          mode,
        );
        try {
          const res = await client.fetch("/f");
          assert.equal(res.status, 200);
          assert.equal(res.headers.get("content-length"), "0");
          assert.equal((await res.arrayBuffer()).byteLength, 0);
        } finally {
          await client.close();
        }
      });

      it("answers 404 problem for a missing file and for a directory", async () => {
        const app = new App();
        app.get("/missing", () => new FileResponse(join(dir, "nope.txt")));
        app.get("/dir", () => new FileResponse(join(dir, "a directory")));
        const client = testClient(app, mode);
        try {
          for (const path of ["/missing", "/dir"]) {
            const res = await client.fetch(path);
            assert.equal(res.status, 404, path);
            assert.equal(res.headers.get("content-type"), "application/problem+json");
            assert.equal((await res.json()).status, 404);
          }
        } finally {
          await client.close();
        }
      });

      it("answers 404, not a crash, for a file that vanishes before it is opened", async () => {
        const path = join(dir, `vanishing-${mode}.txt`);
        await writeFile(path, "here a moment ago");
        const app = new App();
        app.get("/f", async () => {
          const res = new FileResponse(path);
          await unlink(path);
          return res;
        });
        const client = testClient(app, mode);
        try {
          const res = await client.fetch("/f");
          assert.equal(res.status, 404);
          await res.body?.cancel();
        } finally {
          await client.close();
        }
      });

      it("sends a file from an open handle and closes the handle", async () => {
        const handle = await open(textFile);
        const client = testClient(
          appFor(() => new FileResponse(handle)),
          mode,
        );
        try {
          const res = await client.fetch("/f");
          assert.equal(res.headers.get("content-type"), "application/octet-stream");
          assert.deepEqual(Buffer.from(await res.arrayBuffer()), BYTES);
          await until(() => handle.fd === -1, 1000, "the handle to be closed");
        } finally {
          await client.close();
        }
      });

      it("sends a custom status whole, without ranges or 304", async () => {
        const make = () => new FileResponse(textFile, { status: 404 });
        const client = testClient(appFor(make), mode);
        try {
          const res = await client.fetch("/f", {
            headers: { range: "bytes=0-1", "if-none-match": "*" },
          });
          assert.equal(res.status, 404);
          assert.equal(res.headers.get("accept-ranges"), null);
          assert.equal((await res.arrayBuffer()).byteLength, 1000);
        } finally {
          await client.close();
        }
      });
    });
  }
});

type Case = {
  name: string;
  method?: "GET" | "HEAD" | "POST";
  headers: () => Record<string, string>;
  status: number;
  /** The expected body as [start, end] of the file, inclusive; null for none. */
  body?: [number, number] | null;
  contentRange?: string;
};

// Written from RFC 9110 §13.1, §13.2.2 and §14: each row is one rule.
const cases: Case[] = [
  { name: "sends it all without conditions", headers: () => ({}), status: 200, body: [0, 999] },
  {
    name: "sends a closed range as 206 (§14.1.2)",
    headers: () => ({ range: "bytes=0-99" }),
    status: 206,
    body: [0, 99],
    contentRange: "bytes 0-99/1000",
  },
  {
    name: "sends the first byte alone",
    headers: () => ({ range: "bytes=0-0" }),
    status: 206,
    body: [0, 0],
    contentRange: "bytes 0-0/1000",
  },
  {
    name: "sends an open-ended range to the end",
    headers: () => ({ range: "bytes=900-" }),
    status: 206,
    body: [900, 999],
    contentRange: "bytes 900-999/1000",
  },
  {
    name: "sends a suffix range as the last bytes",
    headers: () => ({ range: "bytes=-100" }),
    status: 206,
    body: [900, 999],
    contentRange: "bytes 900-999/1000",
  },
  {
    name: "clips a last-pos past the end",
    headers: () => ({ range: "bytes=990-5000" }),
    status: 206,
    body: [990, 999],
    contentRange: "bytes 990-999/1000",
  },
  {
    name: "sends overlapping ranges as one part, never multipart",
    headers: () => ({ range: "bytes=0-49,40-99" }),
    status: 206,
    body: [0, 99],
    contentRange: "bytes 0-99/1000",
  },
  {
    name: "answers 416 when no range is satisfiable (§15.5.17)",
    headers: () => ({ range: "bytes=1000-" }),
    status: 416,
    body: null,
    contentRange: "bytes */1000",
  },
  {
    name: "answers 416 for a zero-length suffix",
    headers: () => ({ range: "bytes=-0" }),
    status: 416,
    body: null,
    contentRange: "bytes */1000",
  },
  {
    name: "ignores an invalid range (last below first)",
    headers: () => ({ range: "bytes=5-1" }),
    status: 200,
    body: [0, 999],
  },
  {
    name: "ignores an unknown range unit",
    headers: () => ({ range: "lines=0-1" }),
    status: 200,
    body: [0, 999],
  },
  {
    name: "ignores a header of too many ranges (§14.2)",
    headers: () => ({
      range: `bytes=${Array.from({ length: MAX_RANGE_SPECS + 1 }, (_, i) => `${i * 3}-${i * 3}`).join(",")}`,
    }),
    status: 200,
    body: [0, 999],
  },
  {
    name: "coalesces many small nearby ranges into one part",
    headers: () => ({
      range: `bytes=${Array.from({ length: 50 }, (_, i) => `${i * 2}-${i * 2}`).join(",")}`,
    }),
    status: 206,
    body: [0, 98],
    contentRange: "bytes 0-98/1000",
  },
  {
    name: "answers 304 for a matching If-None-Match (§13.1.2)",
    headers: () => ({ "if-none-match": etag }),
    status: 304,
    body: null,
  },
  {
    name: "compares If-None-Match weakly",
    headers: () => ({ "if-none-match": `"nope", W/${etag}` }),
    status: 304,
    body: null,
  },
  {
    name: "answers 304 for If-None-Match: *",
    headers: () => ({ "if-none-match": "*" }),
    status: 304,
    body: null,
  },
  {
    name: "sends it all for a different If-None-Match",
    headers: () => ({ "if-none-match": '"other"' }),
    status: 200,
    body: [0, 999],
  },
  {
    name: "ignores If-Modified-Since when If-None-Match is present (§13.1.3)",
    headers: () => ({
      "if-none-match": '"other"',
      "if-modified-since": formatHttpDate(mtime + DAY),
    }),
    status: 200,
    body: [0, 999],
  },
  {
    name: "answers 304 for If-Modified-Since at Last-Modified",
    headers: () => ({ "if-modified-since": lastModified }),
    status: 304,
    body: null,
  },
  {
    name: "sends it all for If-Modified-Since before Last-Modified",
    headers: () => ({ "if-modified-since": formatHttpDate(mtime - DAY) }),
    status: 200,
    body: [0, 999],
  },
  {
    name: "ignores an If-Modified-Since that is not a date",
    headers: () => ({ "if-modified-since": "yesterday" }),
    status: 200,
    body: [0, 999],
  },
  {
    name: "passes a matching If-Match (§13.1.1)",
    headers: () => ({ "if-match": etag }),
    status: 200,
    body: [0, 999],
  },
  {
    name: "answers 412 for a different If-Match",
    headers: () => ({ "if-match": '"other"' }),
    status: 412,
    body: null,
  },
  {
    name: "compares If-Match strongly: a weak tag fails",
    headers: () => ({ "if-match": `W/${etag}` }),
    status: 412,
    body: null,
  },
  {
    name: "answers 412 for If-Unmodified-Since before Last-Modified (§13.1.4)",
    headers: () => ({ "if-unmodified-since": formatHttpDate(mtime - DAY) }),
    status: 412,
    body: null,
  },
  {
    name: "passes If-Unmodified-Since at Last-Modified",
    headers: () => ({ "if-unmodified-since": lastModified }),
    status: 200,
    body: [0, 999],
  },
  {
    name: "ignores If-Unmodified-Since when If-Match is present (§13.2.2)",
    headers: () => ({ "if-match": etag, "if-unmodified-since": formatHttpDate(mtime - DAY) }),
    status: 200,
    body: [0, 999],
  },
  {
    name: "evaluates If-Match before Range",
    headers: () => ({ "if-match": '"other"', range: "bytes=0-9" }),
    status: 412,
    body: null,
  },
  {
    name: "evaluates If-None-Match before Range",
    headers: () => ({ "if-none-match": etag, range: "bytes=0-9" }),
    status: 304,
    body: null,
  },
  {
    name: "answers 304 rather than 416 for an unsatisfiable range of an unchanged file",
    headers: () => ({ "if-none-match": etag, range: "bytes=5000-" }),
    status: 304,
    body: null,
  },
  {
    name: "applies Range when If-Range is the current strong ETag (§13.1.5)",
    headers: () => ({ range: "bytes=10-19", "if-range": etag }),
    status: 206,
    body: [10, 19],
    contentRange: "bytes 10-19/1000",
  },
  {
    name: "sends it all when If-Range is another ETag",
    headers: () => ({ range: "bytes=10-19", "if-range": '"other"' }),
    status: 200,
    body: [0, 999],
  },
  {
    name: "sends it all when If-Range is a weak ETag",
    headers: () => ({ range: "bytes=10-19", "if-range": `W/${etag}` }),
    status: 200,
    body: [0, 999],
  },
  {
    name: "applies Range when If-Range is exactly Last-Modified",
    headers: () => ({ range: "bytes=10-19", "if-range": lastModified }),
    status: 206,
    body: [10, 19],
    contentRange: "bytes 10-19/1000",
  },
  {
    name: "sends it all when If-Range is an older date",
    headers: () => ({ range: "bytes=10-19", "if-range": formatHttpDate(mtime - DAY) }),
    status: 200,
    body: [0, 999],
  },
  {
    name: "sends it all, not 416, when If-Range fails on an unsatisfiable range",
    headers: () => ({ range: "bytes=5000-", "if-range": '"other"' }),
    status: 200,
    body: [0, 999],
  },
  {
    name: "answers HEAD with Range as the HEAD of the whole",
    method: "HEAD",
    headers: () => ({ range: "bytes=0-9" }),
    status: 200,
    body: null,
  },
  {
    name: "answers HEAD with If-None-Match with 304",
    method: "HEAD",
    headers: () => ({ "if-none-match": etag }),
    status: 304,
    body: null,
  },
  {
    name: "ignores Range on POST (§14.2)",
    method: "POST",
    headers: () => ({ range: "bytes=0-9" }),
    status: 200,
    body: [0, 999],
  },
  {
    name: "answers 412 to POST with If-None-Match that matches (§13.1.2)",
    method: "POST",
    headers: () => ({ "if-none-match": etag }),
    status: 412,
    body: null,
  },
];

describe("FileResponse conditional and range requests", () => {
  for (const mode of MODES) {
    describe(mode, () => {
      const cacheControl = "public, max-age=60";
      const app = appFor(
        () =>
          new FileResponse(textFile, {
            headers: { "cache-control": cacheControl, vary: "Accept-Encoding" },
          }),
      );
      const client = testClient(app, mode);
      before(async () => {
        const res = await client.fetch("/f", { method: "HEAD" });
        etag = res.headers.get("etag")!;
      });
      after(() => client.close());

      for (const c of cases) {
        it(c.name, async () => {
          const method = c.method ?? "GET";
          const res = await client.fetch("/f", { method, headers: c.headers() });
          const body = Buffer.from(await res.arrayBuffer());
          assert.equal(res.status, c.status);
          if (c.contentRange !== undefined) {
            assert.equal(res.headers.get("content-range"), c.contentRange);
          } else {
            assert.equal(res.headers.get("content-range"), null);
          }
          if (c.body) {
            const expected = BYTES.subarray(c.body[0], c.body[1] + 1);
            assert.equal(res.headers.get("content-length"), String(expected.length));
            assert.deepEqual(body, expected);
          } else if (method === "HEAD" || c.status === 304) {
            assert.equal(body.length, 0);
          }
          if (c.status === 304) {
            // 304: the ETag and caching fields of the 200, no content fields, and no
            // Last-Modified beside an ETag (§15.4.5).
            assert.equal(res.headers.get("etag"), etag);
            assert.equal(res.headers.get("last-modified"), null);
            assert.equal(res.headers.get("cache-control"), cacheControl);
            assert.equal(res.headers.get("vary"), "Accept-Encoding");
            assert.equal(res.headers.get("content-type"), null);
            assert.equal(res.headers.get("content-length"), null);
          }
          if (c.status === 416 || c.status === 412) {
            assert.equal(res.headers.get("content-type"), "application/problem+json");
          }
          if (method === "HEAD" && c.status === 200) {
            assert.equal(res.headers.get("content-length"), "1000");
          }
        });
      }

      it("sends several ranges as multipart/byteranges that parse back byte for byte", async () => {
        const res = await client.fetch("/f", { headers: { range: "bytes=500-509,0-9,-5" } });
        assert.equal(res.status, 206);
        const type = res.headers.get("content-type")!;
        const m = /^multipart\/byteranges; boundary=([0-9a-f]{32})$/.exec(type);
        assert.ok(m, type);
        const body = Buffer.from(await res.arrayBuffer());
        assert.equal(res.headers.get("content-length"), String(body.length));
        assert.equal(res.headers.get("content-range"), null);
        const parts = parseByteranges(body, m[1]!);
        const wanted: [number, number][] = [
          [500, 509],
          [0, 9],
          [995, 999],
        ];
        assert.equal(parts.length, wanted.length);
        parts.forEach((part, i) => {
          const [start, end] = wanted[i]!;
          assert.equal(part.headers["content-type"], "text/plain; charset=utf-8");
          assert.equal(part.headers["content-range"], `bytes ${start}-${end}/1000`);
          assert.deepEqual(part.body, BYTES.subarray(start, end + 1));
        });
      });

      it("answers HEAD with the headers of GET and no body", async () => {
        const get = await client.fetch("/f");
        await get.arrayBuffer();
        const head = await client.fetch("/f", { method: "HEAD" });
        assert.equal(head.status, 200);
        assert.equal((await head.arrayBuffer()).byteLength, 0);
        for (const name of [
          "content-type",
          "content-length",
          "etag",
          "last-modified",
          "accept-ranges",
          "cache-control",
        ]) {
          assert.equal(head.headers.get(name), get.headers.get(name), name);
        }
      });
    });
  }
});

describe("FileResponse on the wire", () => {
  it("sends a 304 without Content-Length or Transfer-Encoding", async () => {
    const server = await serve(
      appFor(() => new FileResponse(textFile)),
      { port: 0 },
    );
    try {
      const first = await rawRequest(server.port, "HEAD", "/f");
      const res = await rawRequest(server.port, "GET", "/f", {
        "if-none-match": first.headers.etag!,
      });
      assert.equal(res.status, 304);
      assert.equal(res.headers["content-length"], undefined);
      assert.equal(res.headers["transfer-encoding"], undefined);
      assert.equal(res.body.length, 0);
    } finally {
      await server.close();
    }
  });

  it("frames multipart/byteranges with CRLF and a closing delimiter", async () => {
    const server = await serve(
      appFor(() => new FileResponse(textFile)),
      { port: 0 },
    );
    try {
      const res = await rawRequest(server.port, "GET", "/f", { range: "bytes=0-1,998-999" });
      const boundary = res.headers["content-type"]!.split("boundary=")[1]!;
      assert.equal(res.headers["transfer-encoding"], undefined);
      assert.equal(
        res.body.toString("latin1"),
        `--${boundary}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Range: bytes 0-1/1000\r\n\r\n00` +
          `\r\n--${boundary}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Range: bytes 998-999/1000\r\n\r\n49` +
          `\r\n--${boundary}--\r\n`,
      );
      assert.equal(res.headers["content-length"], String(res.body.length));
    } finally {
      await server.close();
    }
  });
});

describe("FileResponse lifecycle", () => {
  for (const mode of MODES) {
    it(`runs its teardown exactly once on every path (${mode})`, async () => {
      let runs = 0;
      const make = () => new FileResponse(textFile).teardown(() => void runs++);
      const app = new App();
      app.get("/f", make);
      app.get("/missing", () => new FileResponse(join(dir, "nope")).teardown(() => void runs++));
      const client = testClient(app, mode);
      try {
        const paths: [string, RequestInit][] = [
          ["/f", {}],
          ["/f", { method: "HEAD" }],
          ["/f", { headers: { "if-none-match": "*" } }],
          ["/f", { headers: { "if-match": '"x"' } }],
          ["/f", { headers: { range: "bytes=5000-" } }],
          ["/f", { headers: { range: "bytes=0-1,10-11" } }],
          ["/missing", {}],
        ];
        for (const [path, init] of paths) {
          const before = runs;
          const res = await client.fetch(path, init);
          await res.arrayBuffer();
          await until(
            () => runs === before + 1,
            1000,
            () => `${path} ${JSON.stringify(init)}: ${runs - before} runs`,
          );
        }
      } finally {
        await client.close();
      }
    });
  }

  it("holds back reading while the client does not read, and closes the file when it leaves", async () => {
    const big = join(dir, "big.bin");
    await writeFile(big, Buffer.alloc(32 * 1024 * 1024, 7));
    const handle = await open(big);
    let read = 0;
    // Counts what the engine reads from the file, wherever it reads it from.
    class Counted extends FileResponse {
      override body(): Body {
        const body = super.body();
        if (body.kind !== "file") throw new Error(`a file body, not ${body.kind}`);
        return {
          ...body,
          read(buffer, offset, length, position, done) {
            body.read(buffer, offset, length, position, (error, bytesRead) => {
              read += bytesRead;
              done(error, bytesRead);
            });
          },
        };
      }
    }
    const server = await serve(
      appFor(() => new Counted(handle, { chunkSize: 64 * 1024 })),
      {
        port: 0,
      },
    );
    const { connect } = await import("node:net");
    const socket = connect(server.port, "127.0.0.1");
    try {
      socket.write("GET /f HTTP/1.1\r\nHost: x\r\n\r\n");
      // Read nothing: the writer must stop pulling once the socket buffers are full.
      socket.pause();
      await until(() => read > 0, 1000, "the first read of the file");
      await new Promise((r) => setTimeout(r, 300));
      const stalled = read;
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(read, stalled, "no reads while the client reads nothing");
      assert.ok(read < 16 * 1024 * 1024, `read ${read} bytes of 32 MiB`);
      socket.destroy();
      await until(() => handle.fd === -1, 2000, "the handle to be closed");
    } finally {
      socket.destroy();
      await server.close();
    }
  });

  it("fails the stream, not the process, when the file shrinks while it is sent", async () => {
    const path = join(dir, "shrinking.bin");
    await writeFile(path, Buffer.alloc(1000, 1));
    const res = new FileResponse(path, { chunkSize: 100 });
    await res.prepare(new FetchRequest(new Request("http://x/")));
    const body = res.body();
    assert.equal(body.kind, "file");
    if (body.kind !== "file") return;
    const iterator = (body.stream().source as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
    assert.equal((await iterator.next()).value?.byteLength, 100);
    await truncate(path, 150);
    assert.equal((await iterator.next()).value?.byteLength, 50);
    await assert.rejects(iterator.next(), /file shrank/);
    for (const fn of res.teardowns) await fn();
  });

  it("refuses to be sent unprepared", () => {
    assert.throws(() => new FileResponse(textFile).body(), /must be prepared/);
  });
});
