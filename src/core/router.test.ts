import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { cutPrefix, RouteTable } from "./router.ts";

function table(): RouteTable<string> {
  const t = new RouteTable<string>();
  t.add("GET", "/api/status", "status");
  t.add("GET", "/users/:id", "user");
  t.add("GET", "/users/:id/posts/:post", "post");
  t.add("GET", "/café", "cafe");
  t.add("GET", "/files/*", "files");
  t.add("GET", "/trail/", "trail");
  t.add("GET", "/n/:id(\\d+)", "number");
  t.addAny("/mnt", "mount");
  t.addAny("/mnt/*", "mount");
  return t;
}

describe("RouteTable", () => {
  const t = table();
  const hit = (method: string, path: string) => {
    const m = t.find(method, path);
    return m === null ? null : [m.store, m.params];
  };

  const cases: [string, string, string, [string, Record<string, string>] | null][] = [
    ["finds a static route", "GET", "/api/status", ["status", {}]],
    ["matches on the decoded path", "GET", "/%61pi/status", ["status", {}]],
    ["keeps an encoded slash a character, not a separator", "GET", "/api%2Fstatus", null],
    ["matches a non-ASCII literal, raw or encoded", "GET", "/caf%C3%A9", ["cafe", {}]],
    ["matches a raw non-ASCII literal", "GET", "/café", ["cafe", {}]],
    ["decodes a param", "GET", "/users/a%20b%E2%98%83", ["user", { id: "a b☃" }]],
    ["decodes an encoded slash inside a param", "GET", "/users/x%2Fy", ["user", { id: "x/y" }]],
    ["decodes a percent sign inside a param", "GET", "/users/100%25", ["user", { id: "100%" }]],
    ["refuses a malformed escape", "GET", "/users/%zz", null],
    ["refuses an escape that is not UTF-8", "GET", "/users/%E2%98", null],
    ["finds two params", "GET", "/users/7/posts/9", ["post", { id: "7", post: "9" }]],
    ["is strict about a trailing slash", "GET", "/api/status/", null],
    ["does not drop a declared trailing slash", "GET", "/trail", null],
    ["matches a declared trailing slash", "GET", "/trail/", ["trail", {}]],
    ["never matches an empty param", "GET", "/users/", null],
    ["is case-sensitive", "GET", "/API/status", null],
    [
      "captures the rest for a wildcard, decoded",
      "GET",
      "/files/docs/read%20me.txt",
      ["files", { "*": "docs/read me.txt" }],
    ],
    ["keeps a trailing slash in a wildcard", "GET", "/files/docs/", ["files", { "*": "docs/" }]],
    ["does not match a wildcard's bare prefix", "GET", "/files", null],
    ["checks a param's pattern", "GET", "/n/abc", null],
    ["matches a param's pattern", "GET", "/n/42", ["number", { id: "42" }]],
    ["answers any method on a mount", "PURGE", "/mnt/x", ["mount", { "*": "x" }]],
    ["answers a mount's prefix itself", "FOO", "/mnt", ["mount", {}]],
    ["looks up by method", "POST", "/api/status", null],
  ];
  for (const [name, method, path, expected] of cases) {
    it(name, () => assert.deepEqual(hit(method, path), expected));
  }

  it("gives params as a plain object a handler can return as JSON", () => {
    const m = t.find("GET", "/users/7");
    assert.equal(Object.getPrototypeOf(m?.params), Object.prototype);
  });

  it("refuses a param longer than 1000 characters", () => {
    assert.notEqual(t.find("GET", `/users/${"a".repeat(1000)}`), null);
    assert.equal(t.find("GET", `/users/${"a".repeat(1001)}`), null);
  });

  it("refuses a route declared twice, also under another param name", () => {
    const d = new RouteTable<string>();
    d.add("GET", "/p/:a", "a");
    assert.throws(() => d.add("GET", "/p/:b", "b"), /already declared/);
    d.addAny("/m", "m");
    assert.throws(() => d.add("GET", "/m", "x"), /already declared/);
  });

  it("refuses patterns it cannot match as written", () => {
    const d = new RouteTable<string>();
    for (const p of ["/a/:x-:y", "/f/:name.:ext", "/a/**", "/a/*/b", "/a/../b", "/o/:x?"]) {
      assert.throws(() => d.add("GET", p, "x"), /unsupported route pattern/, p);
    }
  });
});

describe("cutPrefix", () => {
  it("cuts by segments, so an encoded prefix is cut where the router matched it", () => {
    assert.deepEqual(cutPrefix("/%61pi/status", "/api"), ["/%61pi", "/status"]);
    assert.deepEqual(cutPrefix("/api", "/api"), ["/api", ""]);
    assert.deepEqual(cutPrefix("/x/y", ""), ["", "/x/y"]);
  });
});
