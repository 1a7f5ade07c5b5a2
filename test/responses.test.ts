/**
 * End-to-end: buffered responses, return-value coercion, header safety, cookies, background tasks
 * and errors, through both engines (issue 2).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { HTTPError } from "../src/http/errors.ts";
import { HeaderError } from "../src/http/headers.ts";
import { App } from "../src/index.ts";
import { BufferedResponse } from "../src/responses/base.ts";
import {
  EmptyResponse,
  encodeLocation,
  HTMLResponse,
  JSONResponse,
  RedirectResponse,
  TextResponse,
} from "../src/responses/buffered.ts";
import { type TestClient, testClient } from "../src/testing/client.ts";
import { MODES, problem, Reports } from "./helpers/app.ts";
import { gate, within } from "./helpers/wait.ts";

const INJECTIONS = ["a\r\nx-injected: 1", "a\nx-injected: 1", "a\rb", "a\0b"];

function byteLength(text: string): string {
  return String(new TextEncoder().encode(text).byteLength);
}

describe("header and cookie validation", () => {
  for (const bad of INJECTIONS) {
    const shown = JSON.stringify(bad);
    it(`refuses ${shown} as a header value in setHeader, appendHeader and constructors`, () => {
      assert.throws(() => new TextResponse("x").setHeader("x-a", bad), HeaderError);
      assert.throws(() => new TextResponse("x").appendHeader("x-a", bad), HeaderError);
      assert.throws(() => new JSONResponse({}, { headers: { "x-a": bad } }), HeaderError);
      assert.throws(() => new EmptyResponse({ headers: [["x-a", bad]] }), HeaderError);
    });

    it(`refuses ${shown} in a redirect target`, () => {
      assert.throws(() => new RedirectResponse(`/next${bad}`), HeaderError);
    });

    it(`refuses ${shown} in a cookie attribute`, () => {
      const res = new TextResponse("x");
      assert.throws(() => res.setCookie("id", "1", { path: `/${bad}` }), HeaderError);
      assert.throws(() => res.setCookie("id", "1", { domain: `example.com${bad}` }), HeaderError);
      assert.equal(res.getHeader("set-cookie"), undefined);
    });
  }

  it("refuses a header name that is not a token", () => {
    for (const name of ["bad name", "x:y", "", "é"]) {
      assert.throws(() => new TextResponse("x").setHeader(name, "v"), HeaderError);
    }
  });

  it("refuses a header value outside Latin-1", () => {
    assert.throws(() => new TextResponse("x").setHeader("x-a", "☃"), HeaderError);
  });

  it("refuses a cookie attribute that would inject another with ;", () => {
    const res = new TextResponse("x");
    assert.throws(() => res.setCookie("id", "1", { path: "/; Domain=evil.example" }), HeaderError);
    assert.throws(() => res.setCookie("id", "1", { domain: "a.example; Secure" }), HeaderError);
  });

  it("refuses an invalid cookie name", () => {
    for (const name of ["bad name", "a;b", "a=b", "", "a\r\nb"]) {
      assert.throws(() => new TextResponse("x").setCookie(name, "v"), HeaderError, name);
    }
  });

  it("encodes a cookie value rather than letting it end the pair", () => {
    const res = new TextResponse("x").setCookie("id", "a; Domain=evil.example");
    const line = res.getHeader("set-cookie") ?? "";
    assert.doesNotMatch(line, /;\s*Domain/i);
    assert.match(line, /^id=a%3B%20Domain%3Devil\.example$/);
  });

  it("percent-encodes a redirect target, keeping reserved characters and escapes", () => {
    assert.equal(
      encodeLocation("/search?q=naïve café&x=%2F#top"),
      "/search?q=na%C3%AFve%20caf%C3%A9&x=%2F#top",
    );
    assert.equal(encodeLocation('/a"b<c>'), "/a%22b%3Cc%3E");
    assert.equal(encodeLocation("/100%"), "/100%25");
  });
});

for (const mode of MODES) {
  describe(`buffered responses (${mode})`, () => {
    const app = new App();
    let client: TestClient;
    before(() => {
      app.get("/json", () => new JSONResponse({ snow: "☃", list: [1, 2] }, { status: 201 }));
      app.get(
        "/json-headers",
        () => new JSONResponse([1], { headers: { "cache-control": "no-store", "x-n": "1" } }),
      );
      app.get(
        "/json-problem-type",
        () => new JSONResponse({ a: 1 }, { mediaType: "application/vnd.test+json" }),
      );
      app.get("/text", () => new TextResponse("héllo", { status: 202 }));
      app.get("/html", () => new HTMLResponse("<h1>☃</h1>"));
      app.get("/csv", () => new BufferedResponse("a,b\n1,2\n", { mediaType: "text/csv" }));
      app.get(
        "/bin",
        () => new BufferedResponse(new Uint8Array([9, 8, 7]), { mediaType: "image/x-test" }),
      );
      app.get("/redirect", () => new RedirectResponse("/search?q=naïve café"));
      app.get("/redirect-308", () => new RedirectResponse(new URL("https://example.com/a b"), 308));
      app.get(
        "/redirect-303",
        () => new RedirectResponse("/done", 303, { headers: { "x-r": "1" } }),
      );
      app.get("/redirect-unsafe", (req) => new RedirectResponse(`/next${req.query.to ?? ""}`));
      app.get("/empty", () => new EmptyResponse());
      app.get("/not-modified", () => new EmptyResponse({ status: 304, headers: { etag: '"v1"' } }));
      app.get("/reset", () => new EmptyResponse({ status: 205 }));
      app.get("/header", (req) =>
        new TextResponse("ok").setHeader("x-echo", req.query.value ?? ""),
      );
      app.get("/append", () =>
        new TextResponse("ok").appendHeader("vary", "accept").appendHeader("vary", "origin"),
      );
      app.get("/cookies", () =>
        new TextResponse("ok")
          .setCookie("session", "a b;c", {
            httpOnly: true,
            secure: true,
            sameSite: "lax",
            path: "/",
          })
          .setCookie("theme", "dark", { maxAge: 3600 })
          .deleteCookie("old", { path: "/app" }),
      );
      app.get("/cookie-unsafe", (req) =>
        new TextResponse("ok").setCookie("c", "v", { path: req.query.path ?? "/" }),
      );
      app.get(
        "/header-in-middleware",
        { use: async (_r, next) => (await next()).setHeader("x-a", "1\r\n2") },
        () => "x",
      );
      client = testClient(app, mode);
    });
    after(() => client.close());

    it("sends a JSONResponse with its status, media type and a byte-exact Content-Length", async () => {
      const res = await client.fetch("/json");
      assert.equal(res.status, 201);
      assert.equal(res.headers.get("content-type"), "application/json");
      const text = await res.text();
      assert.equal(text, '{"snow":"☃","list":[1,2]}');
      assert.equal(res.headers.get("content-length"), byteLength(text));
    });

    it("sends the headers given to a response's constructor", async () => {
      const res = await client.fetch("/json-headers");
      assert.equal(res.headers.get("cache-control"), "no-store");
      assert.equal(res.headers.get("x-n"), "1");
      assert.deepEqual(await res.json(), [1]);
    });

    it("lets a JSONResponse carry another JSON media type", async () => {
      const res = await client.fetch("/json-problem-type");
      assert.equal(res.headers.get("content-type"), "application/vnd.test+json");
    });

    it("sends a TextResponse as UTF-8 text/plain", async () => {
      const res = await client.fetch("/text");
      assert.equal(res.status, 202);
      assert.equal(res.headers.get("content-type"), "text/plain; charset=utf-8");
      assert.equal(await res.text(), "héllo");
      assert.equal(res.headers.get("content-length"), byteLength("héllo"));
    });

    it("sends an HTMLResponse as UTF-8 text/html", async () => {
      const res = await client.fetch("/html");
      assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8");
      assert.equal(await res.text(), "<h1>☃</h1>");
    });

    it("sends a BufferedResponse with the media type it is given", async () => {
      const csv = await client.fetch("/csv");
      assert.equal(csv.headers.get("content-type"), "text/csv");
      assert.equal(await csv.text(), "a,b\n1,2\n");
      const bin = await client.fetch("/bin");
      assert.equal(bin.headers.get("content-type"), "image/x-test");
      assert.equal(bin.headers.get("content-length"), "3");
      assert.deepEqual(new Uint8Array(await bin.arrayBuffer()), new Uint8Array([9, 8, 7]));
    });

    it("redirects with 307 by default and a percent-encoded Location", async () => {
      const res = await client.fetch("/redirect", { redirect: "manual" });
      assert.equal(res.status, 307);
      assert.equal(res.headers.get("location"), "/search?q=na%C3%AFve%20caf%C3%A9");
      assert.equal(res.headers.get("content-length"), "0");
      assert.equal(await res.text(), "");
    });

    it("redirects with the status it is given, to a URL object", async () => {
      const r308 = await client.fetch("/redirect-308", { redirect: "manual" });
      assert.equal(r308.status, 308);
      assert.equal(r308.headers.get("location"), "https://example.com/a%20b");
      const r303 = await client.fetch("/redirect-303", { redirect: "manual" });
      assert.equal(r303.status, 303);
      assert.equal(r303.headers.get("location"), "/done");
      assert.equal(r303.headers.get("x-r"), "1");
    });

    it("answers 500, never a split header, when a redirect target holds CR/LF", async () => {
      const reports = new Reports(app);
      const heard = reports.next();
      const res = await client.fetch("/redirect-unsafe?to=%0D%0Aset-cookie:%20pwned=1", {
        redirect: "manual",
      });
      await problem(res, 500);
      assert.equal(res.headers.get("set-cookie"), null);
      assert.equal(res.headers.get("location"), null);
      assert.ok((await heard).error instanceof HeaderError);
    });

    it("sends an EmptyResponse as 204 without Content-Length or body", async () => {
      const res = await client.fetch("/empty");
      assert.equal(res.status, 204);
      assert.equal(res.headers.get("content-length"), null);
      assert.equal(res.headers.get("transfer-encoding"), null);
      assert.equal(await res.text(), "");
    });

    it("sends a 304 EmptyResponse with its headers and without Content-Length", async () => {
      const res = await client.fetch("/not-modified");
      assert.equal(res.status, 304);
      assert.equal(res.headers.get("etag"), '"v1"');
      assert.equal(res.headers.get("content-length"), null);
      assert.equal(await res.text(), "");
    });

    it("sends a 205 EmptyResponse without a body", async () => {
      const res = await client.fetch("/reset");
      assert.equal(res.status, 205);
      assert.equal(await res.text(), "");
    });

    it("sends a header value that is safe", async () => {
      const res = await client.fetch("/header?value=plain%20value");
      assert.equal(res.headers.get("x-echo"), "plain value");
    });

    for (const bad of ["%0D%0Ax-injected:%201", "a%0Ab", "a%00b"]) {
      it(`answers 500, never a split header, for the value ${bad}`, async () => {
        const reports = new Reports(app);
        const heard = reports.next();
        const res = await client.fetch(`/header?value=${bad}`);
        await problem(res, 500);
        assert.equal(res.headers.get("x-echo"), null);
        assert.equal(res.headers.get("x-injected"), null);
        const { error, context } = await heard;
        assert.ok(error instanceof HeaderError);
        assert.equal(context.phase, "handler");
      });
    }

    it("answers 500 when middleware sets an unsafe header", async () => {
      const reports = new Reports(app);
      const heard = reports.next();
      const res = await client.fetch("/header-in-middleware");
      await problem(res, 500);
      assert.equal(res.headers.get("x-a"), null);
      assert.ok((await heard).error instanceof HeaderError);
    });

    it("sends appended header values as one list", async () => {
      const res = await client.fetch("/append");
      assert.equal(res.headers.get("vary"), "accept, origin");
    });

    it("sends each cookie as its own Set-Cookie field with its attributes", async () => {
      const res = await client.fetch("/cookies");
      const cookies = res.headers.getSetCookie();
      assert.equal(cookies.length, 3);
      assert.equal(cookies[0], "session=a%20b%3Bc; Path=/; HttpOnly; Secure; SameSite=Lax");
      assert.equal(cookies[1], "theme=dark; Max-Age=3600");
      assert.match(
        cookies[2] ?? "",
        /^old=; Max-Age=0; Path=\/app; Expires=Thu, 01 Jan 1970 00:00:00 GMT/,
      );
    });

    it("answers 500, never an injected attribute, for an unsafe cookie path", async () => {
      const reports = new Reports(app);
      const heard = reports.next();
      const res = await client.fetch("/cookie-unsafe?path=%2F%3B%20Domain%3Devil.example");
      await problem(res, 500);
      assert.equal(res.headers.get("set-cookie"), null);
      assert.ok((await heard).error instanceof HeaderError);
    });
  });

  describe(`return values (${mode})`, () => {
    const app = new App();
    const reports = new Reports(app);
    let client: TestClient;
    class Money {
      readonly cents: number;
      constructor(cents: number) {
        this.cents = cents;
      }
    }
    before(() => {
      app.get("/object", () => ({ a: 1, nested: { b: [true, null] } }));
      app.get("/array", () => [1, "two", { three: 3 }]);
      app.get("/null-proto", () => Object.assign(Object.create(null) as object, { x: 1 }));
      app.get("/string", () => "just text ☃");
      app.get("/bytes", () => new Uint8Array([0, 255, 128]));
      app.get("/undefined", () => undefined);
      app.get("/async", async () => ({ later: true }));
      app.get("/web", () => {
        const headers = new Headers({ "content-type": "text/x-web", "x-web": "1" });
        headers.append("set-cookie", "a=1");
        headers.append("set-cookie", "b=2");
        return new Response("from a web Response", { status: 203, headers });
      });
      app.get("/web-empty", () => new Response(null, { status: 204, headers: { "x-w": "e" } }));
      const bad: Record<string, () => unknown> = {
        function: () =>
          function secretFunction() {
            return "source code must not leak";
          },
        symbol: () => Symbol("secret symbol"),
        number: () => 42,
        bigint: () => 10n,
        boolean: () => true,
        null: () => null,
        class: () => new Money(100),
        map: () => new Map([["k", "v"]]),
        date: () => new Date(0),
      };
      for (const [name, fn] of Object.entries(bad)) {
        app.get(`/bad/${name}`, fn as () => undefined);
      }
      app.get("/unserialisable", () => new JSONResponse({ n: 1n }));
      client = testClient(app, mode);
    });
    after(() => client.close());

    it("sends a plain object as JSON", async () => {
      const res = await client.fetch("/object");
      assert.equal(res.headers.get("content-type"), "application/json");
      assert.deepEqual(await res.json(), { a: 1, nested: { b: [true, null] } });
    });

    it("sends an array as JSON", async () => {
      const res = await client.fetch("/array");
      assert.equal(res.headers.get("content-type"), "application/json");
      assert.deepEqual(await res.json(), [1, "two", { three: 3 }]);
    });

    it("sends an object without a prototype as JSON", async () => {
      assert.deepEqual(await (await client.fetch("/null-proto")).json(), { x: 1 });
    });

    it("sends a string as text/plain", async () => {
      const res = await client.fetch("/string");
      assert.equal(res.headers.get("content-type"), "text/plain; charset=utf-8");
      assert.equal(await res.text(), "just text ☃");
    });

    it("sends a Uint8Array as application/octet-stream", async () => {
      const res = await client.fetch("/bytes");
      assert.equal(res.headers.get("content-type"), "application/octet-stream");
      assert.equal(res.headers.get("content-length"), "3");
      assert.deepEqual(new Uint8Array(await res.arrayBuffer()), new Uint8Array([0, 255, 128]));
    });

    it("answers undefined with 204", async () => {
      const res = await client.fetch("/undefined");
      assert.equal(res.status, 204);
      assert.equal(await res.text(), "");
    });

    it("awaits an async handler", async () => {
      assert.deepEqual(await (await client.fetch("/async")).json(), { later: true });
    });

    it("passes a web Response through with its status, headers, cookies and body", async () => {
      const res = await client.fetch("/web");
      assert.equal(res.status, 203);
      assert.equal(res.headers.get("content-type"), "text/x-web");
      assert.equal(res.headers.get("x-web"), "1");
      assert.deepEqual(res.headers.getSetCookie(), ["a=1", "b=2"]);
      assert.equal(await res.text(), "from a web Response");
    });

    it("passes a web Response without a body through", async () => {
      const res = await client.fetch("/web-empty");
      assert.equal(res.status, 204);
      assert.equal(res.headers.get("x-w"), "e");
    });

    const expected: Record<string, RegExp> = {
      function: /a function \(secretFunction\)/,
      symbol: /a symbol/,
      number: /a number/,
      bigint: /a bigint/,
      boolean: /a boolean/,
      null: /null/,
      class: /an instance of Money/,
      map: /an instance of Map/,
      date: /an instance of Date/,
    };
    for (const [name, message] of Object.entries(expected)) {
      it(`answers 500 and names the mistake to the error hook when a handler returns ${name}`, async () => {
        const heard = reports.next();
        const res = await client.fetch(`/bad/${name}`);
        const body = await problem(res, 500);
        assert.equal(body.detail, undefined);
        const { error, context } = await heard;
        assert.ok(error instanceof TypeError);
        assert.match(error.message, message);
        assert.match(error.message, /cannot send/);
        assert.equal(context.phase, "handler");
        assert.equal(context.request?.path, `/bad/${name}`);
      });
    }

    it("answers 500 when JSON content cannot be serialised", async () => {
      const heard = reports.next();
      await problem(await client.fetch("/unserialisable"), 500);
      assert.ok((await heard).error instanceof TypeError);
    });
  });

  describe(`errors (${mode})`, () => {
    const app = new App();
    const reports = new Reports(app);
    let client: TestClient;
    before(() => {
      app.get("/teapot", () => {
        throw new HTTPError(418, "short and stout", { "x-teapot": "yes", "retry-after": "5" });
      });
      app.get("/extensions", () => {
        throw new HTTPError(422, "bad fields", undefined, {
          errors: [{ path: "name" }],
          status: 1,
        });
      });
      app.get("/no-detail", () => {
        throw new HTTPError(403);
      });
      app.get("/unavailable", async () => {
        throw new HTTPError(503, "down for maintenance");
      });
      app.get("/boom", () => {
        throw new Error("secret database password is hunter2");
      });
      app.get("/async-boom", async () => {
        await new Promise((r) => setTimeout(r, 1));
        throw new Error("async secret");
      });
      app.get("/throw-string", () => {
        throw "a bare string secret";
      });
      app.get("/foreign", () => {
        // An HTTPError made by another copy of Sluice: branded, but not this class.
        const e = Object.assign(new Error("teapot"), {
          status: 409,
          detail: "from another copy",
          headers: { "x-foreign": "1" },
          extensions: {},
        });
        Object.defineProperty(e, Symbol.for("sluice.HTTPError"), { value: true });
        throw e;
      });
      client = testClient(app, mode);
    });
    after(() => client.close());

    it("renders an HTTPError as problem+json with its status, detail and headers", async () => {
      reports.clear();
      const res = await client.fetch("/teapot");
      const body = await problem(res, 418);
      assert.deepEqual(body, {
        type: "about:blank",
        title: "I'm a Teapot",
        status: 418,
        detail: "short and stout",
      });
      assert.equal(res.headers.get("x-teapot"), "yes");
      assert.equal(res.headers.get("retry-after"), "5");
      assert.equal(res.headers.get("content-length"), byteLength(JSON.stringify(body)));
      assert.equal(reports.all.length, 0, "a 4xx is not reported");
    });

    it("adds an HTTPError's extensions to the problem, never overriding its status", async () => {
      const body = (await problem(await client.fetch("/extensions"), 422)) as unknown as {
        errors: unknown;
      };
      assert.deepEqual(body.errors, [{ path: "name" }]);
    });

    it("titles a problem without detail by its status", async () => {
      const body = await problem(await client.fetch("/no-detail"), 403);
      assert.equal(body.title, "Forbidden");
      assert.equal(body.detail, undefined);
    });

    it("reports a 5xx HTTPError to the error hook and still sends its detail", async () => {
      const heard = reports.next();
      const body = await problem(await client.fetch("/unavailable"), 503);
      assert.equal(body.detail, "down for maintenance");
      const { error } = await heard;
      assert.ok(HTTPError.is(error));
    });

    for (const path of ["/boom", "/async-boom", "/throw-string"]) {
      it(`answers an unexpected throw (${path}) with a bare 500 and reports it`, async () => {
        const heard = reports.next();
        const res = await client.fetch(path);
        const text = await res.text();
        assert.equal(res.status, 500);
        assert.equal(res.headers.get("content-type"), "application/problem+json");
        assert.deepEqual(JSON.parse(text), {
          type: "about:blank",
          title: "Internal Server Error",
          status: 500,
        });
        assert.doesNotMatch(text, /secret|hunter2|at |\.ts/);
        const { error, context } = await heard;
        assert.equal(context.phase, "handler");
        assert.equal(context.request?.path, path);
        assert.match(String(error), /secret/);
      });
    }

    it("recognises an HTTPError made by another copy of Sluice", async () => {
      const res = await client.fetch("/foreign");
      const body = await problem(res, 409);
      assert.equal(body.detail, "from another copy");
      assert.equal(res.headers.get("x-foreign"), "1");
    });

    it("keeps serving when the error hook itself throws", async () => {
      const other = new App();
      other.onError(() => {
        throw new Error("the hook is broken");
      });
      other.get("/boom", () => {
        throw new Error("x");
      });
      other.get("/ok", () => "fine");
      const c = testClient(other, mode);
      const original = console.error;
      console.error = () => {};
      try {
        await problem(await c.fetch("/boom"), 500);
        assert.equal(await (await c.fetch("/ok")).text(), "fine");
      } finally {
        console.error = original;
        await c.close();
      }
    });
  });

  describe(`background tasks (${mode})`, () => {
    const app = new App();
    const reports = new Reports(app);
    let client: TestClient;
    const ran: string[] = [];
    const release = gate();
    const slowDone = gate();
    const okDone = gate();
    before(() => {
      app.get("/ok", () =>
        new JSONResponse({ sent: true })
          .background(() => {
            ran.push("first");
          })
          .background(async () => {
            await new Promise((r) => setTimeout(r, 5));
            ran.push("second");
            okDone.resolve();
          }),
      );
      app.get("/slow", () =>
        new TextResponse("not held back").background(async () => {
          await release.promise;
          slowDone.resolve();
        }),
      );
      app.get("/fails", () =>
        new TextResponse("the client is fine").background(() => {
          throw new Error("the task failed");
        }),
      );
      app.get("/never-sent", () =>
        new JSONResponse({ n: 1n }).background(() => {
          ran.push("never-sent");
        }),
      );
      client = testClient(app, mode);
    });
    after(async () => {
      release.resolve();
      await client.close();
    });

    it("runs background tasks in order after the response", async () => {
      const res = await client.fetch("/ok");
      assert.deepEqual(await res.json(), { sent: true });
      await within(okDone.promise, 2000, "the background tasks");
      assert.deepEqual(ran.slice(0, 2), ["first", "second"]);
    });

    it("does not hold the response back for a slow task", async () => {
      const res = await within(client.fetch("/slow"), 2000, "the response");
      assert.equal(await within(res.text(), 2000, "the body"), "not held back");
      release.resolve();
      await within(slowDone.promise, 2000, "the slow task to finish");
    });

    it("reports a failing task to the error hook, not to the client", async () => {
      const heard = reports.next();
      const res = await client.fetch("/fails");
      assert.equal(res.status, 200);
      assert.equal(await res.text(), "the client is fine");
      const { error, context } = await heard;
      assert.match(String(error), /the task failed/);
      assert.equal(context.phase, "background");
      assert.equal(context.request?.path, "/fails");
    });

    it("does not run the tasks of a response that could not be sent", async () => {
      const heard = reports.next();
      await problem(await client.fetch("/never-sent"), 500);
      await heard;
      // Give a wrongly scheduled task the same chance to run as a right one.
      await new Promise((r) => setTimeout(r, 20));
      assert.ok(!ran.includes("never-sent"));
    });
  });
}
