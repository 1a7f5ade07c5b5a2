import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type CookieAttributes,
  formatSetCookie,
  MAX_COOKIE_ATTRIBUTE,
  MAX_COOKIE_PAIR,
  parseCookieHeader,
} from "./cookie.ts";

function refused(name: string, attributes: CookieAttributes = {}, value = "v"): string {
  const result = formatSetCookie(name, value, attributes);
  assert.equal(result.ok, false, `${name} ${JSON.stringify(attributes)} was accepted`);
  return (result as { reason: string }).reason;
}

function accepted(name: string, attributes: CookieAttributes = {}, value = "v"): string {
  const result = formatSetCookie(name, value, attributes);
  assert.ok(result.ok, `${name}: ${(result as { reason?: string }).reason}`);
  return result.value;
}

describe("formatSetCookie", () => {
  it("refuses every name that is not an RFC 6265 token, naming the rule", () => {
    const names = [
      "a,b",
      "a:b",
      'a"b',
      "(a)",
      "a/b",
      "a b",
      "a;b",
      "a=b",
      "[a]",
      "a?",
      "{a}",
      "a\\b",
      "a@b",
      "<a>",
      "",
      "a\tb",
      "é",
    ];
    for (const name of names) {
      assert.match(refused(name), /not an RFC 6265 token/, name);
    }
  });

  it("accepts the token characters", () => {
    assert.equal(accepted("!#$%&'*+-.^_`|~09azAZ"), "!#$%&'*+-.^_`|~09azAZ=v");
  });

  it("holds __Secure- cookies to Secure, whatever the case of the prefix", () => {
    for (const name of ["__Secure-id", "__secure-id", "__SECURE-id"]) {
      assert.match(refused(name), /__Secure-.*must be set with Secure/);
    }
    assert.equal(accepted("__Secure-id", { secure: true }), "__Secure-id=v; Secure");
  });

  it("holds __Host- cookies to Secure, Path=/ and no Domain", () => {
    assert.match(refused("__Host-id", { path: "/" }), /__Host-.*Secure/);
    assert.match(refused("__host-id", { secure: true }), /__Host-.*Path=\//);
    assert.match(refused("__Host-id", { secure: true, path: "/app" }), /Path=\//);
    assert.match(
      refused("__Host-id", { secure: true, path: "/", domain: "example.com" }),
      /without Domain/,
    );
    assert.equal(
      accepted("__Host-id", { secure: true, path: "/", httpOnly: true }),
      "__Host-id=v; Path=/; HttpOnly; Secure",
    );
  });

  it("holds SameSite=None and Partitioned to Secure", () => {
    assert.match(refused("id", { sameSite: "none" }), /SameSite=None must be set with Secure/);
    assert.match(refused("id", { sameSite: "None" as "none" }), /SameSite=None/);
    assert.match(
      refused("id", { partitioned: true }),
      /Partitioned cookie must be set with Secure/,
    );
    assert.equal(
      accepted("id", { sameSite: "none", secure: true, partitioned: true }),
      "id=v; Secure; Partitioned; SameSite=None",
    );
  });

  it("refuses a cookie a browser would ignore for its size", () => {
    const name = "n";
    assert.ok(accepted(name, {}, "x".repeat(MAX_COOKIE_PAIR - 1)));
    assert.match(refused(name, {}, "x".repeat(MAX_COOKIE_PAIR)), /4096/);
    // The encoded value counts: each space is three bytes on the wire.
    assert.match(refused(name, {}, " ".repeat(1400)), /4096/);
    const long = `/${"p".repeat(MAX_COOKIE_ATTRIBUTE)}`;
    assert.match(refused(name, { path: long }), /path of 1025 characters/);
  });

  it("passes on the cookie package's refusals of values and attributes", () => {
    assert.match(refused("id", { path: "/; Domain=evil.example" }), /path is invalid/);
    assert.match(refused("id", { maxAge: 1.5 }), /maxAge is invalid/);
    assert.match(refused("id", { expires: new Date(Number.NaN) }), /expires is invalid/);
  });

  it("encodes a value rather than letting it end the pair", () => {
    assert.equal(accepted("id", {}, "a; Domain=x"), "id=a%3B%20Domain%3Dx");
  });
});

describe("parseCookieHeader", () => {
  it("reads names and decoded values, the first of a repeated name winning", () => {
    assert.deepEqual({ ...parseCookieHeader("a=1; b=x%20y; a=2") }, { a: "1", b: "x y" });
  });

  it("keeps a value that does not decode as it is", () => {
    assert.equal(parseCookieHeader("a=%E0%A4%A").a, "%E0%A4%A");
  });

  it("answers an object that inherits nothing, so __proto__ and constructor are plain names", () => {
    const jar = parseCookieHeader("__proto__=1; constructor=2");
    assert.equal(Object.getOwnPropertyDescriptor(jar, "__proto__")?.value, "1");
    assert.equal(jar.constructor, "2");
    const empty = parseCookieHeader("");
    assert.equal(empty.constructor, undefined);
    assert.equal(empty.toString, undefined);
  });
});
