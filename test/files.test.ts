// The files routes of the contract app (shared/contract/APP.md) end to end, through app.fetch and
// over real sockets: /file, /download/NAME, /static/* and its guarded /static/private/*.

import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { brotliDecompressSync } from "node:zlib";
import { createContractApp } from "../examples/contract/app.ts";
import { bigFileByte, makeBigFile } from "../scripts/make-big-file.ts";
import { serve } from "../src/node/index.ts";
import { MODES, parseByteranges, sender } from "./helpers/app.ts";
import { openFds } from "./helpers/fds.ts";
import { rawRequest } from "./helpers/raw-http.ts";
import { until } from "./helpers/wait.ts";

const STATIC_DIR = fileURLToPath(new URL("../examples/contract/public", import.meta.url));
const BIG = 4 * 1024 * 1024;
const SECRET = "the secret";

let tmp: string;
let bigFile: string;
let expected: Buffer;

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), "sluice-files-"));
  bigFile = join(tmp, "big.bin");
  await makeBigFile(bigFile, BIG);
  expected = Buffer.alloc(BIG);
  for (let i = 0; i < BIG; i++) expected[i] = bigFileByte(i);
});

after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe("contract app files", () => {
  for (const mode of MODES) {
    describe(mode, () => {
      let send: ReturnType<typeof sender>;
      before(() => {
        send = sender(createContractApp({ staticDir: STATIC_DIR, bigFile }), mode);
      });
      after(() => send.close());

      it("serves /file whole, byte for byte", async () => {
        const res = await send("GET", "/file");
        assert.equal(res.status, 200);
        assert.equal(res.headers["content-type"], "application/octet-stream");
        assert.equal(res.headers["content-length"], String(BIG));
        assert.equal(res.headers["accept-ranges"], "bytes");
        assert.ok(res.body.equals(expected), "the body is the file");
      });

      it("answers HEAD /file with its length and no body", async () => {
        const res = await send("HEAD", "/file", { range: "bytes=0-9" });
        assert.equal(res.status, 200);
        assert.equal(res.headers["content-length"], String(BIG));
        assert.equal(res.body.length, 0);
      });

      it("serves ranges of /file across chunk boundaries, as multipart parsed back", async () => {
        const wanted: [number, number][] = [
          [262_100, 262_200],
          [3_000_000, 3_600_000],
          [BIG - 10, BIG - 1],
        ];
        const res = await send("GET", "/file", {
          range: `bytes=${wanted.map(([a, b]) => `${a}-${b}`).join(",")}`,
        });
        assert.equal(res.status, 206);
        const boundary = /boundary=(\S+)$/.exec(res.headers["content-type"]!)![1]!;
        assert.equal(res.headers["content-length"], String(res.body.length));
        const parts = parseByteranges(res.body, boundary);
        assert.equal(parts.length, 3);
        parts.forEach((part, i) => {
          const [a, b] = wanted[i]!;
          assert.equal(part.headers["content-range"], `bytes ${a}-${b}/${BIG}`);
          assert.ok(part.body.equals(expected.subarray(a, b + 1)), `part ${i}`);
        });
      });

      it("serves /download/NAME as an attachment under the given UTF-8 name", async () => {
        const res = await send("GET", "/download/hello.txt?filename=%E2%98%83%20notes.txt");
        assert.equal(res.status, 200);
        assert.equal(
          res.headers["content-disposition"],
          "attachment; filename=\"_ notes.txt\"; filename*=UTF-8''%E2%98%83%20notes.txt",
        );
        assert.match(res.body.toString(), /^hello from the static mount/);
        const plain = await send("GET", "/download/hello.txt");
        assert.equal(plain.headers["content-disposition"], 'attachment; filename="hello.txt"');
      });

      it("keeps /download/NAME inside the static directory, without dotfiles", async () => {
        const targets = [
          "/download/.hidden",
          "/download/%2ehidden",
          "/download/..%2Fapp.ts",
          "/download/%2e%2e%2fapp.ts",
          "/download/%252e%252e%252fapp.ts",
          "/download/private%2Fsecret.txt",
          "/download/private%5Csecret.txt",
          "/download/private",
          "/download/..",
          "/download/%2e%2e",
          "/download/nope.txt",
        ];
        for (const target of targets) {
          const res = await send("GET", target);
          assert.ok([400, 403, 404].includes(res.status), `${target}: ${res.status}`);
          const body = res.body.toString();
          assert.ok(!body.includes(SECRET) && !body.includes("createContractApp"), target);
          assert.ok(!body.includes("dotfile"), target);
        }
      });

      it("answers 404 for a name longer than the file system allows (ENAMETOOLONG)", async () => {
        // 300 bytes is past NAME_MAX (255) yet far inside the 4096-character path limit: the
        // name reaches the file system, which refuses it; no such file, so 404, not 414 or 500.
        const long = "n".repeat(300);
        for (const target of [
          `/static/${long}`,
          `/static/docs/${long}.txt`,
          `/download/${long}`,
          `/download/${"%C3%A9".repeat(150)}`,
        ]) {
          const res = await send("GET", target);
          assert.equal(res.status, 404, `${target.slice(0, 30)}…: ${res.status}`);
          assert.equal(res.headers["content-type"], "application/problem+json");
        }
      });

      it("mounts the static directory with index, redirect and precompressed variants", async () => {
        const index = await send("GET", "/static/");
        assert.equal(index.status, 200);
        assert.match(index.body.toString(), /hello from \/static/);
        const redirect = await send("GET", "/static/docs");
        assert.equal(redirect.status, 301);
        assert.equal(redirect.headers.location, "/static/docs/");
        const br = await send("GET", "/static/hello.txt", { "accept-encoding": "br" });
        assert.equal(br.headers["content-encoding"], "br");
        assert.equal(br.headers.vary, "Accept-Encoding");
        assert.match(brotliDecompressSync(br.body).toString(), /^hello from the static mount/);
        assert.equal((await send("GET", "/static/.hidden")).status, 404);
      });

      it("lets the bearer of the token read /static/private", async () => {
        for (const target of ["/static/private/secret.txt", "/static/%70rivate/secret.txt"]) {
          const res = await send("GET", target, { authorization: "Bearer letmein" });
          assert.equal(res.status, 200, target);
          assert.match(res.body.toString(), /^the secret/);
        }
      });

      // Each spelling reaches the private directory or nothing: the guard must stop all of them.
      const bypasses = [
        "/static/private/secret.txt",
        "/static/private/",
        "/static/private",
        "/static/%70rivate/secret.txt",
        "/static/%70%72%69%76%61%74%65/secret.txt",
        "/static/priv%61te/secret.txt",
        "//static/private/secret.txt",
        "/static//private/secret.txt",
        "/static/private//secret.txt",
        "/static/./private/secret.txt",
        "/static/%2e/private/secret.txt",
        "/static/x/../private/secret.txt",
        "/static/x/%2e%2e/private/secret.txt",
        "/static/docs/../private/secret.txt",
        "/static%2Fprivate/secret.txt",
        "/static%2fprivate%2fsecret.txt",
        "/static/private%2Fsecret.txt",
        "/static/private%2fsecret.txt",
        "/static/private%5Csecret.txt",
        "/static/private\\secret.txt",
        "/static\\private\\secret.txt",
        "/%73tatic/private/secret.txt",
        "/static/%252570rivate/secret.txt",
        "/static/PRIVATE/secret.txt",
        "/static/private/secret.txt%00",
        "/static/private/secret.txt?x=/static/public",
        "/static/private/%73ecret.txt",
        "/download/private%2fsecret.txt",
      ];
      for (const target of bypasses) {
        it(`never serves the secret for ${JSON.stringify(target)} without the token`, async () => {
          const res = await send("GET", target);
          assert.ok(!res.body.toString().includes(SECRET), `served the secret: ${res.status}`);
          assert.ok(
            [301, 400, 401, 403, 404].includes(res.status),
            `${target}: unexpected ${res.status}`,
          );
          if (res.status === 301) assert.match(res.headers.location!, /^\/static\/[^/\\]/);
        });
      }

      it("answers 401 with a problem and WWW-Authenticate at the guard", async () => {
        const res = await send("GET", "/static/%70rivate/secret.txt");
        assert.equal(res.status, 401);
        assert.equal(res.headers["content-type"], "application/problem+json");
        assert.match(res.headers["www-authenticate"]!, /^Bearer/);
      });
    });
  }
});

/** A GET of /file that reads `atLeast` bytes off the socket, then hangs up. */
function disconnectMidway(port: number, atLeast: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let got = 0;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`only ${got} bytes arrived`));
    }, 3000);
    socket.on("connect", () => socket.write("GET /file HTTP/1.1\r\nHost: x\r\n\r\n"));
    socket.on("data", (chunk) => {
      got += chunk.length;
      if (got >= atLeast) {
        clearTimeout(timer);
        socket.destroy();
        resolve();
      }
    });
    socket.on("error", reject);
  });
}

describe("file descriptors", () => {
  it("returns to the baseline after completions, disconnects, HEAD, 304, 412 and 416 over sockets", async () => {
    const app = createContractApp({ staticDir: STATIC_DIR, bigFile });
    const server = await serve(app, { port: 0, host: "127.0.0.1" });
    try {
      const port = server.port;
      const { headers } = await rawRequest(port, "HEAD", "/file");
      const etag = headers.etag!;
      const baseline = openFds();
      const rounds: Promise<unknown>[] = [];
      for (let i = 0; i < 10; i++) {
        rounds.push(
          disconnectMidway(port, 300_000),
          disconnectMidway(port, 1),
          rawRequest(port, "HEAD", "/file"),
          rawRequest(port, "GET", "/file", { "if-none-match": etag }),
          rawRequest(port, "GET", "/file", { "if-match": '"other"' }),
          rawRequest(port, "GET", "/file", { range: `bytes=${BIG}-` }),
          rawRequest(port, "GET", "/file", { range: "bytes=0-9,100000-100009" }),
          rawRequest(port, "GET", "/static/hello.txt", { "accept-encoding": "gzip" }),
          rawRequest(port, "GET", "/download/hello.txt"),
          rawRequest(port, "GET", "/static/nope.txt"),
        );
      }
      await Promise.all(rounds);
      await until(
        () => openFds() <= baseline,
        3000,
        () => `open fds: ${openFds()}, baseline ${baseline}`,
      );
      await until(() => app.stats.streams.active === 0, 1000, "every stream to end");
    } finally {
      await server.close();
    }
  });

  it("returns to the baseline after cancelled bodies through app.fetch", async () => {
    const app = createContractApp({ staticDir: STATIC_DIR, bigFile });
    const baseline = openFds();
    for (let i = 0; i < 20; i++) {
      const res = await app.fetch(new Request("http://localhost/file"));
      const reader = res.body!.getReader();
      await reader.read();
      await reader.cancel();
      const head = await app.fetch(new Request("http://localhost/file", { method: "HEAD" }));
      assert.equal(head.body, null);
      const unsatisfiable = await app.fetch(
        new Request("http://localhost/file", { headers: { range: `bytes=${BIG}-` } }),
      );
      await unsatisfiable.arrayBuffer();
    }
    await until(
      () => openFds() <= baseline,
      3000,
      () => `open fds: ${openFds()}`,
    );
    assert.equal(app.stats.streams.active, 0);
  });
});
