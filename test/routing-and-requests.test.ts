/**
 * End-to-end: routing, middleware and the request, through both engines (issue 2), and request
 * targets and bodies a client may send on purpose (a '#' in the target, deeply nested JSON).
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { HTTPError } from "../src/http/errors.ts";
import { DEFAULT_BODY_LIMIT } from "../src/http/request.ts";
import { App, JSONResponse, type Middleware, ProblemResponse } from "../src/index.ts";
import { staticMount } from "../src/node/index.ts";
import { type TestClient, testClient } from "../src/testing/client.ts";
import { MODES, problem, Reports } from "./helpers/app.ts";
import { rawExchange } from "./helpers/raw-http.ts";
import { gate, within } from "./helpers/wait.ts";

const ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;

function allowSet(res: Response): Set<string> {
  const allow = res.headers.get("allow");
  assert.ok(allow, "an Allow header");
  return new Set(allow.split(",").map((m) => m.trim()));
}

/** A body that arrives in pieces with no Content-Length (chunked on the wire). */
function piecewise(...pieces: string[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (i < pieces.length) controller.enqueue(enc.encode(pieces[i++]));
      else controller.close();
    },
  });
}

/** Reads a stream to its end, counting bytes and chunks. */
async function drain(
  stream: ReadableStream<Uint8Array>,
): Promise<{ size: number; chunks: number }> {
  const reader = stream.getReader();
  let size = 0;
  let chunks = 0;
  for (let r = await reader.read(); !r.done; r = await reader.read()) {
    size += r.value.byteLength;
    chunks++;
  }
  return { size, chunks };
}

function streamed(body: ReadableStream<Uint8Array>, init: RequestInit = {}): RequestInit {
  return { method: "POST", ...init, body, duplex: "half" } as RequestInit;
}

for (const mode of MODES) {
  describe(`routing (${mode})`, () => {
    const app = new App();
    let client: TestClient;
    before(() => {
      app.get("/things", () => ({ did: "get" }));
      app.post("/things", () => ({ did: "post" }));
      app.put("/things", () => ({ did: "put" }));
      app.patch("/things", () => ({ did: "patch" }));
      app.delete("/things", () => ({ did: "delete" }));
      app.options("/things", () => ({ did: "options" }));
      app.route("PURGE", "/cache", (req) => ({ did: req.method }));
      app.get("/users/:id", (req) => ({ id: req.params.id }));
      app.get("/users/:id/posts/:post", (req) => req.params);
      app.get("/files/*", (req) => ({ rest: req.params["*"] }));
      app.get("/search", (req) => ({
        query: req.query,
        tags: req.searchParams.getAll("tag"),
      }));
      app.get("/page", () => new ProblemResponse(409, "taken"));
      app.post("/only-post", () => "posted");
      app.all("/any", (req) => ({ method: req.method }));

      const api = new App();
      api.get("/", (req) => ({ root: true, path: req.path }));
      api.get("/status", (req) => ({ path: req.path, url: req.url }));
      api.get("/items/:id", (req) => ({ id: req.params.id, path: req.path }));
      app.mount("/api", api);

      client = testClient(app, mode);
    });
    after(() => client.close());

    for (const method of ALL_METHODS) {
      it(`routes ${method} to the handler declared for it`, async () => {
        const res = await client.fetch("/things", { method });
        assert.equal(res.status, 200);
        assert.deepEqual(await res.json(), { did: method.toLowerCase() });
      });
    }

    it("routes a method that is any token, such as PURGE", async () => {
      const res = await client.fetch("/cache", { method: "PURGE" });
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { did: "PURGE" });
    });

    it("answers every common method on an all() route", async () => {
      for (const method of ALL_METHODS) {
        const res = await client.fetch("/any", { method });
        assert.deepEqual(await res.json(), { method });
      }
    });

    it("gives path params percent-decoded", async () => {
      const res = await client.fetch("/users/a%20b%E2%98%83");
      assert.deepEqual(await res.json(), { id: "a b☃" });
    });

    it("gives every param of a route with several", async () => {
      const res = await client.fetch("/users/7/posts/hello-world");
      assert.deepEqual(await res.json(), { id: "7", post: "hello-world" });
    });

    it("gives a wildcard the rest of the path", async () => {
      const res = await client.fetch("/files/docs/read%20me.txt");
      assert.deepEqual(await res.json(), { rest: "docs/read me.txt" });
    });

    it("gives the first value of each query name, and every value through searchParams", async () => {
      const res = await client.fetch("/search?q=caf%C3%A9+au+lait&tag=a&tag=b&tag=c&empty=");
      assert.deepEqual(await res.json(), {
        query: { q: "café au lait", tag: "a", empty: "" },
        tags: ["a", "b", "c"],
      });
    });

    it("serves a mounted app under its prefix, with paths inside relative to it", async () => {
      const res = await client.fetch("/api/status?x=1");
      assert.equal(res.status, 200);
      const body = (await res.json()) as { path: string; url: string };
      assert.equal(body.path, "/status");
      assert.equal(body.url, "/api/status?x=1");
    });

    it("answers the prefix itself with the mounted app's root", async () => {
      for (const path of ["/api", "/api/"]) {
        const res = await client.fetch(path);
        assert.deepEqual(await res.json(), { root: true, path: "/" });
      }
    });

    it("decodes params inside a mounted app", async () => {
      const res = await client.fetch("/api/items/x%2Fy");
      assert.deepEqual(await res.json(), { id: "x/y", path: "/items/x%2Fy" });
    });

    it("cuts the mount prefix by segments when it arrives percent-encoded", async () => {
      const res = await client.fetch("/%61pi/status");
      assert.equal(res.status, 200);
      assert.equal(((await res.json()) as { path: string }).path, "/status");
    });

    it("answers 404 with a problem naming the path for an unknown path", async () => {
      const body = await problem(await client.fetch("/nowhere/at-all"), 404);
      assert.equal(body.title, "Not Found");
      assert.match(body.detail ?? "", /\/nowhere\/at-all/);
    });

    it("answers 404 inside a mounted app for a path it does not know", async () => {
      await problem(await client.fetch("/api/nope"), 404);
    });

    it("answers 405 with Allow for a known path and the wrong method", async () => {
      const res = await client.fetch("/only-post");
      const body = await problem(res, 405);
      assert.deepEqual(allowSet(res), new Set(["POST", "OPTIONS"]));
      assert.match(body.detail ?? "", /GET/);
    });

    it("lists GET, HEAD and OPTIONS in Allow where only GET is declared", async () => {
      const res = await client.fetch("/users/1", { method: "DELETE" });
      await problem(res, 405);
      assert.deepEqual(allowSet(res), new Set(["GET", "HEAD", "OPTIONS"]));
    });

    it("answers OPTIONS by itself with 204 and Allow", async () => {
      const res = await client.fetch("/only-post", { method: "OPTIONS" });
      assert.equal(res.status, 204);
      assert.deepEqual(allowSet(res), new Set(["POST", "OPTIONS"]));
      assert.equal(await res.text(), "");
    });

    it("lets a declared OPTIONS route answer instead of the automatic one", async () => {
      const res = await client.fetch("/things", { method: "OPTIONS" });
      assert.deepEqual(await res.json(), { did: "options" });
    });

    it("keeps a ProblemResponse's status and detail", async () => {
      const body = await problem(await client.fetch("/page"), 409);
      assert.equal(body.detail, "taken");
    });
  });

  describe(`HEAD (${mode})`, () => {
    const app = new App();
    let client: TestClient;
    let calls = 0;
    before(() => {
      app.get("/json", () => ({ hello: "wörld" }));
      app.get("/text", () => "some text");
      app.get("/custom", () => {
        calls++;
        return new Response("web body", { headers: { "x-web": "yes" } });
      });
      app.get("/bytes", () => new Uint8Array([1, 2, 3, 4, 5]));
      client = testClient(app, mode);
    });
    after(() => client.close());

    for (const path of ["/json", "/text", "/bytes"]) {
      it(`answers HEAD ${path} with the GET headers, Content-Length included, and no body`, async () => {
        const get = await client.fetch(path);
        const getBody = new Uint8Array(await get.arrayBuffer());
        const head = await client.fetch(path, { method: "HEAD" });
        assert.equal(head.status, get.status);
        assert.equal(head.headers.get("content-type"), get.headers.get("content-type"));
        assert.equal(head.headers.get("content-length"), String(getBody.byteLength));
        assert.equal(head.headers.get("content-length"), get.headers.get("content-length"));
        assert.equal((await head.arrayBuffer()).byteLength, 0);
      });
    }

    it("answers HEAD for a web Response without its body", async () => {
      const before = calls;
      const head = await client.fetch("/custom", { method: "HEAD" });
      assert.equal(calls, before + 1);
      assert.equal(head.status, 200);
      assert.equal(head.headers.get("x-web"), "yes");
      assert.equal(await head.text(), "");
    });

    it("answers HEAD on an unknown path with 404 and no body", async () => {
      const head = await client.fetch("/nowhere", { method: "HEAD" });
      assert.equal(head.status, 404);
      assert.equal(await head.text(), "");
    });
  });

  describe(`middleware (${mode})`, () => {
    const app = new App();
    const log: string[] = [];
    let client: TestClient;
    before(() => {
      app.use(async (req, next) => {
        log.push(`outer before ${req.path}`);
        try {
          const res = await next();
          log.push(`outer after ${res.status}`);
          return res.setHeader("x-outer", "1");
        } catch (err) {
          log.push(`outer caught ${HTTPError.is(err) ? err.status : "?"}`);
          throw err;
        }
      });
      app.use(async (req, next) => {
        if (req.header("x-stop") === "yes") return new ProblemResponse(403, "stopped early");
        return next();
      });
      app.use((req, next) => {
        if (req.query.raw === "1") return { short: "circuit" };
        return next();
      });
      const guard: Middleware = (req, next) =>
        req.header("authorization") === "Bearer ok" ? next() : new ProblemResponse(401, "sign in");
      app.use("/admin", guard);
      app.get("/admin", () => "the admin page");
      app.get("/admin/users/:id", (req) => `user ${req.params.id}`);
      app.get("/administrator", () => "not guarded");
      app.get("/hello", () => {
        log.push("handler");
        return "hello";
      });
      const tagA: Middleware = async (_req, next) => {
        log.push("route a");
        return (await next()).appendHeader("x-route", "a");
      };
      const tagB: Middleware = async (_req, next) => {
        log.push("route b");
        return (await next()).appendHeader("x-route", "b");
      };
      app.get("/per-route", { use: [tagA, tagB] }, () => {
        log.push("per-route handler");
        return "ok";
      });
      app.get("/single", { use: tagA }, () => "ok");
      const twice: Middleware = async (_req, next) => {
        await next();
        return next();
      };
      app.get("/twice", { use: twice }, () => "x");
      app.get("/throws-in-mw", { use: () => Promise.reject(new HTTPError(402, "pay")) }, () => "x");
      app.get("/plain", () => "plain");
      client = testClient(app, mode);
    });
    after(() => client.close());

    it("runs app middleware before and after the handler, in order", async () => {
      log.length = 0;
      const res = await client.fetch("/hello");
      assert.equal(await res.text(), "hello");
      assert.equal(res.headers.get("x-outer"), "1");
      assert.deepEqual(log, ["outer before /hello", "handler", "outer after 200"]);
    });

    it("lets middleware short-circuit without running the handler", async () => {
      log.length = 0;
      const res = await client.fetch("/hello", { headers: { "x-stop": "yes" } });
      const body = await problem(res, 403);
      assert.equal(body.detail, "stopped early");
      assert.ok(!log.includes("handler"));
      assert.equal(res.headers.get("x-outer"), "1");
    });

    it("coerces a plain value returned by middleware", async () => {
      const res = await client.fetch("/hello?raw=1");
      assert.deepEqual(await res.json(), { short: "circuit" });
    });

    it("runs app middleware around 404s too, whose next() resolves to the problem response", async () => {
      log.length = 0;
      await problem(await client.fetch("/missing"), 404);
      assert.deepEqual(log, ["outer before /missing", "outer after 404"]);
    });

    it("runs per-route middleware in order, inside the app's", async () => {
      log.length = 0;
      const res = await client.fetch("/per-route");
      // The inner one (b) finishes first.
      assert.equal(res.headers.get("x-route"), "b, a");
      assert.deepEqual(log, [
        "outer before /per-route",
        "route a",
        "route b",
        "per-route handler",
        "outer after 200",
      ]);
    });

    it("takes a single middleware as the use option", async () => {
      const res = await client.fetch("/single");
      assert.equal(res.headers.get("x-route"), "a");
    });

    it("does not run per-route middleware on other routes", async () => {
      const res = await client.fetch("/plain");
      assert.equal(res.headers.get("x-route"), null);
    });

    it("answers 500 when middleware calls next() twice", async () => {
      const reports = new Reports(app);
      const heard = reports.next();
      await problem(await client.fetch("/twice"), 500);
      assert.match(String((await heard).error), /next\(\) twice/);
    });

    it("renders an HTTPError thrown by middleware", async () => {
      const body = await problem(await client.fetch("/throws-in-mw"), 402);
      assert.equal(body.detail, "pay");
    });

    it("guards the paths under a prefix", async () => {
      await problem(await client.fetch("/admin"), 401);
      await problem(await client.fetch("/admin/users/1"), 401);
      const ok = await client.fetch("/admin/users/1", {
        headers: { authorization: "Bearer ok" },
      });
      assert.equal(await ok.text(), "user 1");
    });

    it("does not guard a path that only starts with the same letters", async () => {
      const res = await client.fetch("/administrator");
      assert.equal(await res.text(), "not guarded");
    });

    for (const path of ["/%61dmin", "/%61dmin/users/1", "/admin%2Fusers/1", "/admin/", "/%zz"]) {
      it(`does not let ${path} slip past the prefix guard`, async () => {
        const res = await client.fetch(path);
        assert.notEqual(res.status, 200);
        const text = await res.text();
        assert.doesNotMatch(text, /admin page|user 1/);
      });
    }
  });

  describe(`the request (${mode})`, () => {
    const app = new App();
    let client: TestClient;
    const aborted = gate<unknown>();
    const entered = gate();
    let signalAfterBody: boolean | undefined;
    before(() => {
      app.all("/echo/:name", (req) => ({
        method: req.method,
        path: req.path,
        url: req.url,
        params: req.params,
        query: req.query,
        custom: req.header("X-Custom"),
        customLower: req.headers["x-custom"],
        cookies: req.cookies,
        httpVersion: req.httpVersion,
      }));
      app.get("/ip", (req) => ({ ip: req.ip ?? null }));
      app.get("/wait", async (req) => {
        entered.resolve();
        const reason = await within(
          new Promise<unknown>((resolve) => {
            req.signal.addEventListener("abort", () => resolve(req.signal.reason), { once: true });
          }),
          3000,
          "the request signal to abort",
        );
        aborted.resolve(reason);
        return "too late";
      });
      app.post("/read-then-wait", async (req) => {
        const text = await req.text();
        await new Promise((r) => setTimeout(r, 50));
        signalAfterBody = req.signal.aborted;
        return { text, aborted: req.signal.aborted };
      });
      client = testClient(app, mode);
    });
    after(() => client.close());

    it("gives method, path, params, query, headers and cookies", async () => {
      const res = await client.fetch("/echo/n%C3%A9?a=1&a=2&b=two+words", {
        method: "PATCH",
        headers: { "x-custom": "Value", cookie: "session=abc; theme=dark%20mode" },
      });
      const body = (await res.json()) as Record<string, unknown>;
      assert.equal(body.method, "PATCH");
      assert.equal(body.path, "/echo/n%C3%A9");
      assert.equal(body.url, "/echo/n%C3%A9?a=1&a=2&b=two+words");
      assert.deepEqual(body.params, { name: "né" });
      assert.deepEqual(body.query, { a: "1", b: "two words" });
      assert.equal(body.custom, "Value");
      assert.equal(body.customLower, "Value");
      assert.deepEqual(body.cookies, { session: "abc", theme: "dark mode" });
      assert.equal(body.httpVersion, mode === "h2" ? "2.0" : "1.1");
    });

    it("gives an empty cookie object when no Cookie is sent", async () => {
      const body = (await (await client.fetch("/echo/x")).json()) as { cookies: object };
      assert.deepEqual(body.cookies, {});
    });

    it("gives the client address when the engine knows it", async () => {
      const body = (await (await client.fetch("/ip")).json()) as { ip: string | null };
      if (mode === "memory") assert.equal(body.ip, null);
      else assert.equal(body.ip, "127.0.0.1");
    });

    it("aborts the request signal when the client goes away", async () => {
      const controller = new AbortController();
      const pending = client.fetch("/wait", { signal: controller.signal }).catch((e) => e);
      await within(entered.promise, 2000, "the handler to start");
      controller.abort();
      const reason = await within(aborted.promise, 3000, "the abort to reach the handler");
      assert.ok(reason !== undefined);
      await within(pending, 3000, "the client to give up");
    });

    it("does not abort the signal once the body is read and the answer is pending", async () => {
      const res = await client.fetch("/read-then-wait", { method: "POST", body: "payload" });
      assert.deepEqual(await res.json(), { text: "payload", aborted: false });
      assert.equal(signalAfterBody, false);
    });
  });

  describe(`request bodies (${mode})`, () => {
    const app = new App();
    let client: TestClient;
    before(() => {
      app.post("/json", async (req) => ({ got: await req.json() }));
      app.post("/text", async (req) => ({ got: await req.text() }));
      app.post("/bytes", async (req) => await req.bytes());
      app.post("/form", async (req) => {
        const form = await req.form();
        const out: Record<string, unknown> = {};
        for (const [k, v] of form) {
          out[k] = typeof v === "string" ? v : { file: v.name, type: v.type, text: await v.text() };
        }
        return out;
      });
      app.post("/stream", async (req) => {
        const { size, chunks } = await drain(req.stream());
        return { size, chunks: chunks > 0 };
      });
      app.post("/small", { bodyLimit: 10 }, async (req) => ({ got: await req.text() }));
      app.post("/small-stream", { bodyLimit: 10 }, async (req) => {
        return { size: (await drain(req.stream())).size };
      });
      app.post("/twice", async (req) => {
        const a = await req.text();
        const b = await req.bytes();
        return { a, b: b.byteLength };
      });
      client = testClient(app, mode);
    });
    after(() => client.close());

    it("reads a JSON body", async () => {
      const res = await client.fetch("/json", {
        method: "POST",
        headers: { "content-type": "application/json; charset=utf-8" },
        body: JSON.stringify({ name: "☃", n: [1, 2] }),
      });
      assert.deepEqual(await res.json(), { got: { name: "☃", n: [1, 2] } });
    });

    it("reads a +json body as JSON", async () => {
      const res = await client.fetch("/json", {
        method: "POST",
        headers: { "content-type": "application/merge-patch+json" },
        body: "[true]",
      });
      assert.deepEqual(await res.json(), { got: [true] });
    });

    it("answers 400 naming the problem for malformed JSON", async () => {
      const res = await client.fetch("/json", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{nope",
      });
      const body = await problem(res, 400);
      assert.match(body.detail ?? "", /malformed JSON/);
    });

    it("answers 415 naming the expected type for JSON sent as something else", async () => {
      const res = await client.fetch("/json", {
        method: "POST",
        headers: { "content-type": "text/plain" },
        body: "{}",
      });
      const body = await problem(res, 415);
      assert.match(body.detail ?? "", /application\/json/);
      assert.match(body.detail ?? "", /text\/plain/);
    });

    it("answers 415 for a JSON body without a content type", async () => {
      const res = await client.fetch("/json", { method: "POST", body: new Uint8Array([123, 125]) });
      const body = await problem(res, 415);
      assert.match(body.detail ?? "", /no content type/);
    });

    it("reads a text body as UTF-8", async () => {
      const res = await client.fetch("/text", { method: "POST", body: "héllo ☃" });
      assert.deepEqual(await res.json(), { got: "héllo ☃" });
    });

    it("answers 400 for a text body that is not valid UTF-8", async () => {
      const res = await client.fetch("/text", {
        method: "POST",
        body: new Uint8Array([0x68, 0xff, 0xfe]),
      });
      const body = await problem(res, 400);
      assert.match(body.detail ?? "", /UTF-8/);
    });

    it("reads a body as bytes", async () => {
      const sent = new Uint8Array([0, 1, 2, 254, 255]);
      const res = await client.fetch("/bytes", { method: "POST", body: sent });
      assert.equal(res.headers.get("content-type"), "application/octet-stream");
      assert.deepEqual(new Uint8Array(await res.arrayBuffer()), sent);
    });

    it("reads an empty body as no bytes", async () => {
      const res = await client.fetch("/bytes", { method: "POST" });
      assert.equal((await res.arrayBuffer()).byteLength, 0);
    });

    it("reads the same body from two readers", async () => {
      const res = await client.fetch("/twice", { method: "POST", body: "abc" });
      assert.deepEqual(await res.json(), { a: "abc", b: 3 });
    });

    it("reads a urlencoded form", async () => {
      const res = await client.fetch("/form", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: "name=Ada+Lovelace&city=Z%C3%BCrich",
      });
      assert.deepEqual(await res.json(), { name: "Ada Lovelace", city: "Zürich" });
    });

    it("reads a multipart form with a file", async () => {
      const form = new FormData();
      form.append("title", "notes ☃");
      form.append("upload", new Blob(["file contents"], { type: "text/plain" }), "my notes.txt");
      const res = await client.fetch("/form", { method: "POST", body: form });
      assert.deepEqual(await res.json(), {
        title: "notes ☃",
        upload: { file: "my notes.txt", type: "text/plain", text: "file contents" },
      });
    });

    it("answers 415 for a form sent as JSON", async () => {
      const res = await client.fetch("/form", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
      });
      const body = await problem(res, 415);
      assert.match(body.detail ?? "", /form/);
    });

    it("answers 400 for a malformed multipart body", async () => {
      const res = await client.fetch("/form", {
        method: "POST",
        headers: { "content-type": "multipart/form-data; boundary=xyz" },
        body: "this is not multipart",
      });
      await problem(res, 400);
    });

    it("reads a body as a stream, piece by piece", async () => {
      const res = await client.fetch("/stream", streamed(piecewise("abc", "defg", "hi")));
      assert.deepEqual(await res.json(), { size: 9, chunks: true });
    });

    it("accepts a body of exactly the default limit", async () => {
      const res = await client.fetch("/bytes", {
        method: "POST",
        body: new Uint8Array(DEFAULT_BODY_LIMIT),
      });
      assert.equal(res.status, 200);
      assert.equal((await res.arrayBuffer()).byteLength, DEFAULT_BODY_LIMIT);
    });

    it("answers 413 for a declared body one byte over the default 1 MiB", async () => {
      assert.equal(DEFAULT_BODY_LIMIT, 1024 * 1024);
      const res = await client.fetch("/bytes", {
        method: "POST",
        body: new Uint8Array(DEFAULT_BODY_LIMIT + 1),
      });
      const body = await problem(res, 413);
      assert.match(body.detail ?? "", /1048576 bytes/);
    });

    it("honours a route's bodyLimit", async () => {
      const ok = await client.fetch("/small", { method: "POST", body: "0123456789" });
      assert.deepEqual(await ok.json(), { got: "0123456789" });
      const body = await problem(
        await client.fetch("/small", { method: "POST", body: "0123456789!" }),
        413,
      );
      assert.match(body.detail ?? "", /10 bytes/);
    });

    it("answers 413 for a chunked body that grows past the limit", async () => {
      const res = await client.fetch("/small", streamed(piecewise("012345", "6789", "ab")));
      await problem(res, 413);
    });

    it("errors the body stream with a 413 once it passes the limit", async () => {
      const res = await client.fetch("/small-stream", streamed(piecewise("0123456", "789ab")));
      await problem(res, 413);
    });
  });
}

describe("the request through app.fetch", () => {
  it("gives the address the runtime passes", async () => {
    const app = new App();
    app.get("/ip", (req) => ({ ip: req.ip }));
    const res = await app.fetch(new Request("http://x/ip"), { remoteAddress: "203.0.113.9" });
    assert.deepEqual(await res.json(), { ip: "203.0.113.9" });
  });
});

// A regression test from an adversarial review: it reproduces a break that was fixed.
describe("a '#' in the request target", () => {
  let dir: string;
  let app: App;
  const client = () => testClient(app, "socket");
  let c: ReturnType<typeof client>;
  let port: number;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "sluice-hash-"));
    mkdirSync(join(dir, "private"));
    writeFileSync(join(dir, "private", "secret.txt"), "top secret");
    app = new App();
    const guard = (req: { header(n: string): string | undefined }, next: () => Promise<unknown>) =>
      req.header("authorization") === "Bearer letmein"
        ? next()
        : new ProblemResponse(401, "send authorization: Bearer letmein");
    app.use("/static/private", guard as never);
    app.mount("/static", staticMount(dir));
    app.use("/admin/users", guard as never);
    app.get("/admin/users", () => new JSONResponse({ users: ["root"] }));
    c = client();
    port = Number(new URL(await c.url()).port);
  });
  after(async () => {
    await c.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("the guarded static prefix still guards /static#/private/secret.txt", async () => {
    const { raw, error } = await rawExchange(
      port,
      "GET /static#/private/secret.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
      3000,
    );
    assert.ifError(error);
    const res = raw.toString("latin1");
    assert.doesNotMatch(res, /top secret/, "guarded file served without authorization");
    assert.doesNotMatch(res.split("\r\n", 1)[0]!, / 200 /);
  });

  it("a scoped guard still guards its exact route when the target ends in '#'", async () => {
    const { raw, error } = await rawExchange(
      port,
      "GET /admin/users# HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
      3000,
    );
    assert.ifError(error);
    const res = raw.toString("latin1");
    assert.doesNotMatch(res, /"root"/, "guarded route answered without authorization");
  });
});

// A regression test from an adversarial review: it reproduces a break that was fixed.
describe("deeply nested JSON is a client error, not a 500", () => {
  it("POST of valid but very deeply nested JSON to an echo route", async () => {
    const app = new App();
    app.onError(() => {});
    app.post("/echo", async (req) => new JSONResponse(await req.json()));
    const c = testClient(app, "socket");
    try {
      const depth = 200_000;
      const res = await c.fetch("/echo", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "[".repeat(depth) + "]".repeat(depth),
      });
      await res.arrayBuffer();
      assert.ok(res.status < 500, `got ${res.status}`);
    } finally {
      await c.close();
    }
  });
});
