// Static mounts as users of send and serve-static expect them, through both engines (issue 11,
// item 9): a mount at the site root beside the app's routes, a fall-through mode, an SPA fallback,
// a setHeaders hook, acceptRanges, cacheControl, etag and lastModified switches, index lists.

import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { App } from "../src/index.ts";
import { serveStatic, staticMount } from "../src/node/index.ts";
import { MODES, sender } from "./helpers/app.ts";

let dir: string;
let other: string;
const INDEX = "<!doctype html><title>app shell</title>";

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "sluice-mounts-"));
  await writeFile(join(dir, "index.html"), INDEX);
  await writeFile(join(dir, "a.txt"), "file a");
  await writeFile(join(dir, "app.js"), "console.log(1)");
  await writeFile(join(dir, "app.js.br"), "not really brotli");
  await mkdir(join(dir, "docs"));
  await writeFile(join(dir, "docs", "index.htm"), "docs index.htm");
  await writeFile(join(dir, "docs", "page.txt"), "docs page");
  other = await mkdtemp(join(tmpdir(), "sluice-mounts-other-"));
  await writeFile(join(other, "b.txt"), "file b");
  await writeFile(join(other, "a.txt"), "shadowed a");
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
  await rm(other, { recursive: true, force: true });
});

/** Routes declared around a mount, before and after it. */
function withRoutes(app: App, mount: (app: App) => void): App {
  app.get("/api/items", () => ({ items: [1] }));
  app.post("/submit", () => ({ posted: true }));
  mount(app);
  app.get("/users/:id", (req) => ({ user: req.params.id }));
  return app;
}

const body = (res: { body: Buffer }) => res.body.toString();

for (const mode of MODES) {
  describe(`a static mount at the site root (${mode})`, () => {
    let send: ReturnType<typeof sender>;
    before(() => {
      const app = withRoutes(new App(), (a) => a.mount("/", serveStatic(dir)));
      send = sender(app, mode);
    });
    after(() => send.close());

    it("serves files, the index and directory redirects from /", async () => {
      assert.equal(body(await send("GET", "/a.txt")), "file a");
      assert.equal(body(await send("GET", "/")), INDEX);
      const redirect = await send("GET", "/docs?x=1");
      assert.equal(redirect.status, 301);
      assert.equal(redirect.headers.location, "/docs/?x=1");
    });

    it("lets the routes declared on the app win, before or after the mount", async () => {
      assert.equal(body(await send("GET", "/api/items")), '{"items":[1]}');
      assert.equal(body(await send("GET", "/users/7")), '{"user":"7"}');
      assert.equal(body(await send("POST", "/submit")), '{"posted":true}');
    });

    it("answers HEAD for a GET route as the route, not as the mount", async () => {
      const res = await send("HEAD", "/api/items");
      assert.equal(res.status, 200);
      assert.equal(res.headers["content-type"], "application/json");
      assert.equal(res.body.length, 0);
    });

    it("answers what no route claims from the mount: 404 and 405 of the files", async () => {
      const missing = await send("GET", "/nope.txt");
      assert.equal(missing.status, 404);
      const put = await send("PUT", "/a.txt");
      assert.equal(put.status, 405);
      assert.equal(put.headers.allow, "GET, HEAD, OPTIONS");
    });
  });

  describe(`a fall-through mount (${mode})`, () => {
    let send: ReturnType<typeof sender>;
    before(() => {
      const app = withRoutes(new App(), (a) => {
        a.mount("/", serveStatic(dir, { fallthrough: true }));
        a.mount("/", serveStatic(other, { fallthrough: true }));
      });
      app.get("/*", (req) => ({ page: req.params["*"] }));
      app.mount("/assets", serveStatic(dir, { fallthrough: true }));
      app.get("/assets/generated.css", () => "body{}");
      send = sender(app, mode);
    });
    after(() => send.close());

    it("serves the files it has, the first mount first", async () => {
      assert.equal(body(await send("GET", "/a.txt")), "file a");
      assert.equal(body(await send("GET", "/b.txt")), "file b", "from the second mount");
      assert.equal(body(await send("GET", "/")), INDEX);
    });

    it("passes a missing file on to the route of the same path", async () => {
      const res = await send("GET", "/some/page");
      assert.equal(res.status, 200);
      assert.equal(body(res), '{"page":"some/page"}');
    });

    it("passes a missing file on to a less specific route", async () => {
      assert.equal(body(await send("GET", "/assets/a.txt")), "file a");
      assert.equal(body(await send("GET", "/assets/generated.css")), "body{}");
      assert.equal(body(await send("GET", "/assets/nothing")), '{"page":"assets/nothing"}');
    });

    it("passes other methods on, to the app's own 405 with the routes' Allow", async () => {
      const res = await send("GET", "/submit");
      // GET /submit: no file, and the catch-all route answers.
      assert.equal(body(res), '{"page":"submit"}');
      const del = await send("DELETE", "/a.txt");
      assert.equal(del.status, 405);
      assert.equal(del.headers.allow, "GET, HEAD, OPTIONS");
      assert.match(JSON.parse(body(del)).detail, /DELETE is not allowed/);
    });

    it("passes a path it refuses on rather than answering 403", async () => {
      const res = await send("GET", "/docs%2Fpage.txt");
      assert.equal(res.status, 200);
      assert.equal(body(res), '{"page":"docs/page.txt"}');
    });
  });

  describe(`a fall-through mount with no route behind it (${mode})`, () => {
    let send: ReturnType<typeof sender>;
    before(() => {
      const app = new App();
      app.mount("/", serveStatic(dir, { fallthrough: true }));
      app.post("/submit", () => ({ posted: true }));
      send = sender(app, mode);
    });
    after(() => send.close());

    it("answers the app's 404 and 405 as if the mount were not there", async () => {
      const missing = await send("GET", "/nope.txt");
      assert.equal(missing.status, 404);
      assert.match(JSON.parse(body(missing)).detail, /no route for GET \/nope\.txt/);
      const get = await send("GET", "/submit");
      assert.equal(get.status, 405);
      assert.equal(get.headers.allow, "POST, OPTIONS");
      const options = await send("OPTIONS", "/submit");
      assert.equal(options.status, 204);
      assert.equal(options.headers.allow, "POST, OPTIONS");
      assert.equal(body(await send("GET", "/a.txt")), "file a");
    });
  });

  describe(`an SPA fallback (${mode})`, () => {
    let send: ReturnType<typeof sender>;
    before(() => {
      const app = new App();
      app.get("/api/items", () => ({ items: [] }));
      app.mount("/", serveStatic(dir, { fallback: "index.html" }));
      const quiet = new App();
      quiet.mount("/", serveStatic(dir, { fallback: "index.html", fallthrough: true }));
      quiet.get("/*", () => "route");
      app.mount("/ft", quiet);
      send = sender(app, mode);
    });
    after(() => send.close());

    const html = { accept: "text/html,application/xhtml+xml,*/*;q=0.8" };

    it("answers a client-side route with the app shell", async () => {
      for (const path of ["/settings/profile", "/settings", "/a%20b"]) {
        const res = await send("GET", path, html);
        assert.equal(res.status, 200, path);
        assert.equal(res.headers["content-type"], "text/html; charset=utf-8");
        assert.equal(body(res), INDEX, path);
      }
      const head = await send("HEAD", "/settings", html);
      assert.equal(head.status, 200);
      assert.equal(head.body.length, 0);
      const any = await send("GET", "/settings");
      assert.equal(any.status, 200, "no Accept accepts anything");
    });

    it("keeps 404 for a missing asset and for a client that does not take HTML", async () => {
      assert.equal((await send("GET", "/missing.js", html)).status, 404);
      assert.equal((await send("GET", "/settings", { accept: "application/json" })).status, 404);
      assert.equal((await send("GET", "/settings", { accept: "text/html;q=0" })).status, 404);
      assert.equal(body(await send("GET", "/a.txt", html)), "file a");
      assert.equal(body(await send("GET", "/api/items", html)), '{"items":[]}');
    });

    it("passes what the fallback does not cover on, in fall-through mode", async () => {
      assert.equal(body(await send("GET", "/ft/deep/link", html)), INDEX);
      assert.equal(body(await send("GET", "/ft/missing.js", html)), "route");
    });
  });

  describe(`mount options (${mode})`, () => {
    let send: ReturnType<typeof sender>;
    const seen: { path: string; size: number }[] = [];
    before(() => {
      const app = new App();
      app.mount(
        "/hooked",
        serveStatic(dir, {
          setHeaders(res, path, stat) {
            seen.push({ path, size: stat.size });
            res.setHeader("x-file", basename(path));
            res.setHeader("x-size", String(stat.size));
          },
        }),
      );
      app.mount(
        "/async-hook",
        serveStatic(dir, {
          setHeaders: async (res) => {
            await new Promise((r) => setTimeout(r, 1));
            res.setHeader("content-type", "text/x-custom");
          },
        }),
      );
      app.mount("/no-ranges", serveStatic(dir, { acceptRanges: false }));
      app.mount("/no-cache-control", serveStatic(dir, { cacheControl: false }));
      app.mount("/bare", serveStatic(dir, { etag: false, lastModified: false }));
      app.mount("/indexes", serveStatic(dir, { index: ["index.htm", "index.html"] }));
      app.mount("/no-index", serveStatic(dir, { index: false }));
      app.mount("/one", staticMount(join(dir, "a.txt"), { cacheControl: { maxAge: 60 } }));
      send = sender(app, mode);
    });
    after(() => send.close());

    it("calls setHeaders with the response, the file's path and its stat", async () => {
      const res = await send("GET", "/hooked/a.txt");
      assert.equal(res.headers["x-file"], "a.txt");
      assert.equal(res.headers["x-size"], "6");
      assert.equal(seen.at(-1)?.path, join(dir, "a.txt"));
      const br = await send("GET", "/hooked/app.js", { "accept-encoding": "br" });
      assert.equal(br.headers["content-encoding"], "br");
      assert.equal(br.headers["x-file"], "app.js.br", "the variant that is sent");
      const tag = res.headers.etag!;
      const again = await send("GET", "/hooked/a.txt", { "if-none-match": tag });
      assert.equal(again.status, 304);
      assert.equal(again.headers["x-file"], "a.txt", "kept on a 304");
    });

    it("awaits an async setHeaders, whose headers win over the defaults", async () => {
      const res = await send("GET", "/async-hook/a.txt");
      assert.equal(res.headers["content-type"], "text/x-custom");
    });

    it("answers Range with the whole file and no Accept-Ranges when acceptRanges is false", async () => {
      const res = await send("GET", "/no-ranges/a.txt", { range: "bytes=0-1" });
      assert.equal(res.status, 200);
      assert.equal(body(res), "file a");
      assert.equal(res.headers["accept-ranges"], undefined);
      assert.equal(res.headers["content-range"], undefined);
      const ranged = await send("GET", "/hooked/a.txt", { range: "bytes=0-1" });
      assert.equal(ranged.status, 206);
    });

    it("sends no Cache-Control with cacheControl: false", async () => {
      const res = await send("GET", "/no-cache-control/a.txt");
      assert.equal(res.status, 200);
      assert.equal(res.headers["cache-control"], undefined);
      assert.equal(
        (await send("GET", "/hooked/a.txt")).headers["cache-control"],
        "public, max-age=0",
      );
    });

    it("leaves out the ETag and Last-Modified when asked", async () => {
      const res = await send("GET", "/bare/a.txt");
      assert.equal(res.headers.etag, undefined);
      assert.equal(res.headers["last-modified"], undefined);
    });

    it("tries each index name in turn, and none with index: false", async () => {
      assert.equal(body(await send("GET", "/indexes/docs/")), "docs index.htm");
      assert.equal(body(await send("GET", "/indexes/")), INDEX);
      assert.equal((await send("GET", "/no-index/")).status, 404);
    });

    it("mounts one file with its options", async () => {
      const res = await send("GET", "/one");
      assert.equal(body(res), "file a");
      assert.equal(res.headers["cache-control"], "public, max-age=60");
    });
  });
}
