// Redirect targets and cookies as a browser reads them (issue 11, items 4 and 5): a Location whose
// host percent-encoding would change, and a cookie a browser would drop, are refused — by the
// response classes (HeaderError) and, through both engines, by the contract app's /redirect and
// /cookie routes (400).

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { createContractApp } from "../examples/contract/app.ts";
import { HeaderError } from "../src/http/headers.ts";
import { encodeLocation, RedirectResponse, TextResponse } from "../src/responses/buffered.ts";
import { MODES, sender } from "./helpers/app.ts";

const STATIC_DIR = fileURLToPath(new URL("../examples/contract/public", import.meta.url));

/** Targets a browser reads as one host as given and another once percent-encoded (or the reverse). */
const HOST_CHANGING = [
  "http://allowed.example\\@evil.example",
  "https://allowed.example\\@evil.example/path",
  "https://allowed.example:443\\@evil.example/",
  "http://allowed.example\\:pw@evil.example",
  "http:\\\\evil.example",
  "/\\evil.example",
  "\\\\evil.example",
  " //evil.example",
  "\t//evil.example",
  "/\t/evil.example",
  "\x01//evil.example",
  "\x1f/\\evil.example",
];

/** Targets whose encoding keeps the host: they are sent, encoded. */
const KEPT: [given: string, sent: string][] = [
  ["/search?q=naïve café", "/search?q=na%C3%AFve%20caf%C3%A9"],
  ["http://naïve.example/é", "http://na%C3%AFve.example/%C3%A9"],
  ["http://allowed.example/\\@evil.example", "http://allowed.example/%5C@evil.example"],
  ["https://allowed.example/a b", "https://allowed.example/a%20b"],
  ["//cdn.example/x", "//cdn.example/x"],
  ["/a%5C@b", "/a%5C@b"],
  ["?page=2", "?page=2"],
];

describe("redirect targets", () => {
  for (const target of HOST_CHANGING) {
    it(`refuses ${JSON.stringify(target)}: its host changes once encoded`, () => {
      assert.throws(() => encodeLocation(target), HeaderError);
      assert.throws(
        () => new RedirectResponse(target),
        (err: Error) => err instanceof HeaderError && /would change host/.test(err.message),
      );
    });
  }

  for (const [given, sent] of KEPT) {
    it(`sends ${JSON.stringify(given)} as ${sent}`, () => {
      assert.equal(new RedirectResponse(given).getHeader("location"), sent);
    });
  }

  it("refuses a target no browser could follow", () => {
    assert.throws(() => new RedirectResponse("http://[::1"), /not a valid URL reference/);
  });

  it("never sends a Location whose host differs from the target's", () => {
    // Every printable ASCII character and a few others in each position around a host.
    const chars = [" ", "\t", "\\", "/", "@", ":", "%", "#", "?", "é", "\x7f", "\x1b"];
    const shapes = (c: string) => [
      `http://a.example${c}@b.example/`,
      `${c}//b.example/`,
      `/${c}b.example/`,
      `http:${c}${c}b.example/`,
      `https://a.example:8443${c}@b.example/`,
    ];
    const host = (u: string) => {
      const url = URL.parse(u, "http://origin.invalid/");
      return url === null ? null : `${url.protocol}//${url.host}`;
    };
    for (const c of chars) {
      for (const target of shapes(c)) {
        let location: string;
        try {
          location = encodeLocation(target);
        } catch (err) {
          assert.ok(err instanceof HeaderError, JSON.stringify(target));
          continue;
        }
        assert.equal(host(location), host(target), JSON.stringify(target));
      }
    }
  });
});

/** Cookie names that are not RFC 6265 tokens. */
const BAD_NAMES = ["a,b", "a:b", 'a"b', "(a)", "a/b", "a b", "a@b", "a[0]", "a?", "{a}", "a\\b"];

describe("cookies a browser would drop", () => {
  for (const name of BAD_NAMES) {
    it(`refuses the name ${JSON.stringify(name)}: not an RFC 6265 token`, () => {
      const res = new TextResponse("x");
      assert.throws(() => res.setCookie(name, "v"), /not an RFC 6265 token/);
      assert.equal(res.getHeader("set-cookie"), undefined);
    });
  }

  it("refuses prefixed names without the attributes their prefix requires", () => {
    const res = new TextResponse("x");
    assert.throws(() => res.setCookie("__Secure-id", "1"), /__Secure-.*Secure/);
    assert.throws(() => res.setCookie("__Host-id", "1", { path: "/" }), /__Host-.*Secure/);
    assert.throws(() => res.setCookie("__Host-id", "1", { secure: true }), /Path=\//);
    assert.throws(
      () => res.setCookie("__Host-id", "1", { secure: true, path: "/", domain: "example.com" }),
      /without Domain/,
    );
    assert.throws(() => res.setCookie("id", "1", { sameSite: "none" }), /SameSite=None/);
    assert.equal(res.getHeader("set-cookie"), undefined);
  });

  it("deletes prefixed cookies with the attributes their prefix requires", () => {
    const res = new TextResponse("x")
      .deleteCookie("__Host-id")
      .deleteCookie("__Secure-id", { path: "/app" });
    const [host, secure] = res.headers["set-cookie"] as string[];
    assert.match(host ?? "", /^__Host-id=; Max-Age=0; Path=\/; Expires=[^;]+; Secure$/);
    assert.match(secure ?? "", /^__Secure-id=; Max-Age=0; Path=\/app; Expires=[^;]+; Secure$/);
  });
});

for (const mode of MODES) {
  describe(`the contract app's /redirect and /cookie (${mode})`, () => {
    let send: ReturnType<typeof sender>;
    before(() => {
      send = sender(createContractApp({ staticDir: STATIC_DIR, bigFile: STATIC_DIR }), mode);
    });
    after(() => send.close());

    const hostile = [
      ...HOST_CHANGING.filter((t) => !/[\0-\x1f]/.test(t)),
      "//evil.example",
      "/\\evil.example",
      "///evil.example",
      " /x",
      "javascript:alert(1)",
      "/next\r\nset-cookie: pwned=1",
      "/next\0",
    ];
    for (const target of hostile) {
      it(`answers 400 for /redirect?to=${JSON.stringify(target)}, with no Location`, async () => {
        const res = await send("GET", `/redirect?to=${encodeURIComponent(target)}`);
        assert.equal(res.status, 400, res.body.toString());
        assert.equal(res.headers["content-type"], "application/problem+json");
        assert.equal(res.headers.location, undefined);
        assert.equal(res.headers["set-cookie"], undefined);
      });
    }

    for (const [target, location] of [
      ["/static/a b.txt", "/static/a%20b.txt"],
      ["https://example.com/ok?x=é", "https://example.com/ok?x=%C3%A9"],
      ["http://example.com/\\@ok", "http://example.com/%5C@ok"],
    ]) {
      it(`redirects /redirect?to=${JSON.stringify(target)} to ${location}`, async () => {
        const res = await send("GET", `/redirect?to=${encodeURIComponent(target!)}`);
        assert.equal(res.status, 307);
        assert.equal(res.headers.location, location);
      });
    }

    for (const name of [...BAD_NAMES, "__Host-id", "__Secure-id", "__host-id"]) {
      it(`answers 400 for /cookie?name=${JSON.stringify(name)}, setting nothing`, async () => {
        const res = await send("GET", `/cookie?name=${encodeURIComponent(name)}&value=1&path=%2F`);
        assert.equal(res.status, 400, res.body.toString());
        const body = JSON.parse(res.body.toString()) as { detail: string };
        assert.match(body.detail, /RFC 6265|__Host-|__Secure-/);
        assert.equal(res.headers["set-cookie"], undefined);
      });
    }

    it("answers 400 for a cookie a browser would ignore for its size", async () => {
      const res = await send("GET", `/cookie?name=big&value=${"x".repeat(4100)}`);
      assert.equal(res.status, 400);
      assert.equal(res.headers["set-cookie"], undefined);
    });

    it("sets a valid cookie with its path", async () => {
      const res = await send("GET", "/cookie?name=theme&value=dark%20blue&path=%2Fapp");
      assert.equal(res.status, 200);
      assert.equal(res.headers["set-cookie"], "theme=dark%20blue; Path=/app");
    });
  });
}
