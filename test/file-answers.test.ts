// What a FileResponse answers besides the file, through both engines (issue 11, items 6 and 8):
// a 304 carries the validator of the representation it stands for (the compressed one when the
// 200 would be compressed, RFC 9110 §15.4.5) and no Last-Modified beside an ETag; 404, 412 and 416
// keep the headers given to the response, less those describing the file; background tasks and
// teardown run on every answer.

import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { gunzipSync } from "node:zlib";
import { compress } from "../src/compress/index.ts";
import { App, EmptyResponse } from "../src/index.ts";
import { FileResponse, serveStatic } from "../src/node/index.ts";
import { MODES, sender } from "./helpers/app.ts";
import { until } from "./helpers/wait.ts";

const TEXT = "a line of text that compresses well\n".repeat(100); // 3600 bytes
const SMALL = "tiny\n";

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "sluice-file-answers-"));
  await writeFile(join(dir, "big.txt"), TEXT);
  await writeFile(join(dir, "small.txt"), SMALL);
  await writeFile(join(dir, "pic.png"), Buffer.alloc(4096, 7));
});
after(() => rm(dir, { recursive: true, force: true }));

for (const mode of MODES) {
  describe(`a 304 behind compression (${mode})`, () => {
    let send: ReturnType<typeof sender>;
    before(() => {
      const app = new App();
      app.use(compress());
      app.get("/file/:name", (req) => new FileResponse(join(dir, req.params.name)));
      app.get("/built", () => new EmptyResponse({ status: 304, headers: { etag: '"v1"' } }));
      const suffix = new App();
      suffix.use(compress({ etag: "suffix" }));
      suffix.get("/file", () => new FileResponse(join(dir, "big.txt")));
      app.mount("/suffix", suffix);
      app.mount("/static", serveStatic(dir, { compress: true }));
      send = sender(app, mode);
    });
    after(() => send.close());

    for (const path of ["/file/big.txt", "/static/big.txt"]) {
      it(`revalidates a compressed ${path} with the compressed validator`, async () => {
        const gz = { "accept-encoding": "gzip" };
        const first = await send("GET", path, gz);
        assert.equal(first.status, 200);
        assert.equal(first.headers["content-encoding"], "gzip");
        assert.equal(gunzipSync(first.body).toString(), TEXT);
        const tag = first.headers.etag!;
        assert.match(tag, /^W\/"/);

        const again = await send("GET", path, { ...gz, "if-none-match": tag });
        assert.equal(again.status, 304);
        assert.equal(again.headers.etag, tag, "the 304 names the gzip representation");
        assert.equal(again.headers["last-modified"], undefined, "no Last-Modified beside an ETag");
        assert.equal(again.headers.vary, "Accept-Encoding");
        assert.equal(again.headers["content-encoding"], undefined);
        assert.equal(again.body.length, 0);
      });

      it(`answers a client that asks for no coding with the identity validator (${path})`, async () => {
        const identity = await send("GET", path);
        const tag = identity.headers.etag!;
        assert.match(tag, /^"/);
        const res = await send("GET", path, { "if-none-match": `W/${tag}` });
        assert.equal(res.status, 304);
        assert.equal(res.headers.etag, tag);
        assert.equal(res.headers.vary, "Accept-Encoding");
      });
    }

    it("keeps the identity validator where the 200 would not be compressed", async () => {
      for (const name of ["small.txt", "pic.png"]) {
        const plain = await send("GET", `/file/${name}`, { "accept-encoding": "gzip" });
        assert.equal(plain.headers["content-encoding"], undefined, name);
        const tag = plain.headers.etag!;
        const res = await send("GET", `/file/${name}`, {
          "accept-encoding": "gzip",
          "if-none-match": tag,
        });
        assert.equal(res.status, 304, name);
        assert.equal(res.headers.etag, tag, name);
      }
      const png = await send("GET", "/file/pic.png", { "accept-encoding": "gzip" });
      assert.equal(png.headers.vary, undefined, "an image is never compressed: nothing varies");
    });

    it("names the suffixed representation in suffix mode", async () => {
      const identity = await send("GET", "/suffix/file");
      const tag = identity.headers.etag!;
      const res = await send("GET", "/suffix/file", {
        "accept-encoding": "gzip",
        "if-none-match": tag,
      });
      assert.equal(res.status, 304);
      assert.equal(res.headers.etag, `${tag.slice(0, -1)}-gzip"`);
    });

    it("gives a 304 built by hand the validator the client holds for the compressed body", async () => {
      const res = await send("GET", "/built", {
        "accept-encoding": "gzip",
        "if-none-match": 'W/"v1"',
      });
      assert.equal(res.status, 304);
      assert.equal(res.headers.etag, 'W/"v1"');
      const identity = await send("GET", "/built", { "if-none-match": '"v1"' });
      assert.equal(identity.headers.etag, '"v1"');
    });
  });

  describe(`FileResponse answers other than the file (${mode})`, () => {
    let send: ReturnType<typeof sender>;
    const ran: string[] = [];
    const tornDown: string[] = [];
    const given = {
      "access-control-allow-origin": "https://app.example",
      vary: "Origin",
      "x-request-id": "r-1",
      "cache-control": "public, max-age=31536000, immutable",
    };
    before(() => {
      const app = new App();
      app.get("/f/:name", (req) =>
        new FileResponse(join(dir, req.params.name), { headers: given })
          .setCookie("seen", "1")
          .background(() => {
            ran.push(`${req.params.name} ${req.header("x-case")}`);
          })
          .teardown(() => {
            tornDown.push(`${req.params.name} ${req.header("x-case")}`);
          }),
      );
      send = sender(app, mode);
    });
    after(() => send.close());

    const cases: { name: string; file: string; headers: Record<string, string>; status: number }[] =
      [
        { name: "404", file: "missing.txt", headers: {}, status: 404 },
        { name: "412", file: "big.txt", headers: { "if-match": '"nope"' }, status: 412 },
        { name: "416", file: "big.txt", headers: { range: "bytes=9000-" }, status: 416 },
        { name: "304", file: "big.txt", headers: { "if-none-match": "*" }, status: 304 },
        { name: "200", file: "big.txt", headers: {}, status: 200 },
        { name: "206", file: "big.txt", headers: { range: "bytes=0-9" }, status: 206 },
      ];
    for (const c of cases) {
      it(`keeps the response's own headers on a ${c.name} and runs its task and teardown`, async () => {
        const tag = `${c.file} ${c.name}`;
        const res = await send("GET", `/f/${c.file}`, { ...c.headers, "x-case": c.name });
        assert.equal(res.status, c.status);
        assert.equal(
          res.headers["access-control-allow-origin"],
          given["access-control-allow-origin"],
        );
        assert.equal(res.headers.vary, "Origin");
        assert.equal(res.headers["x-request-id"], "r-1");
        assert.equal(res.headers["set-cookie"], "seen=1");
        if (c.status >= 400) {
          assert.equal(res.headers["content-type"], "application/problem+json");
          const problem = JSON.parse(res.body.toString()) as { status: number };
          assert.equal(problem.status, c.status);
          // What describes the file is not true of the problem body, and a year of freshness
          // meant for the file must not keep an error.
          assert.equal(res.headers.etag, undefined);
          assert.equal(res.headers["last-modified"], undefined);
          assert.equal(res.headers["cache-control"], undefined);
        } else {
          assert.equal(res.headers["cache-control"], given["cache-control"]);
        }
        if (c.status === 416) assert.equal(res.headers["content-range"], `bytes */${TEXT.length}`);
        await until(() => ran.includes(tag), 2000, `the background task of the ${c.name}`);
        await until(() => tornDown.includes(tag), 2000, `the teardown of the ${c.name}`);
        assert.equal(ran.filter((t) => t === tag).length, 1);
        assert.equal(tornDown.filter((t) => t === tag).length, 1);
      });
    }
  });
}
