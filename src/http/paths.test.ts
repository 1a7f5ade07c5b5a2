import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodePath, readSegments, underPrefix } from "./paths.ts";

describe("decodePath", () => {
  it("keeps dotfiles: hiding them is the static server's policy, not the path's", () => {
    assert.deepEqual(decodePath("/.well-known/x"), {
      ok: true,
      segments: [".well-known", "x"],
      trailingSlash: false,
    });
  });

  it("refuses what could leave a directory, naming why", () => {
    assert.deepEqual(decodePath("/a/%2e%2e/b"), {
      ok: false,
      status: 403,
      reason: "dot segment in path",
    });
    assert.equal(decodePath("/a%2Fb").ok, false);
    assert.equal(decodePath(`/${"a".repeat(5000)}`).ok, false);
  });
});

describe("underPrefix over readSegments", () => {
  const under = (path: string, prefix: string[]) => underPrefix(readSegments(path), prefix);
  const table: [string, string[], boolean][] = [
    ["/static/private/a.txt", ["static", "private"], true],
    ["/static/%70rivate/a.txt", ["static", "private"], true],
    ["//static//private/", ["static", "private"], true],
    ["/static/public/a.txt", ["static", "private"], false],
    ["/static", ["static", "private"], false],
    // A refused segment within the prefix's length fails closed: the guard runs.
    ["/static/..%2Fprivate/a.txt", ["static", "private"], true],
    ["/static/%2e%2e/static/private", ["static", "private"], true],
    ["/%zz/private", ["static", "private"], true],
    [`/${"a".repeat(5000)}`, ["admin"], true],
    // A path that differs before any refusal is not under the prefix: an unrelated route with an
    // encoded slash never meets the guard.
    ["/channel/a%2Fb", ["static", "private"], false],
    ["/api/files/..", ["admin"], false],
    // A refusal after the prefix changes nothing.
    ["/static/private/%2e%2e", ["static", "private"], true],
    ["/static/public/%2e%2e", ["static", "private"], false],
  ];
  for (const [path, prefix, expected] of table) {
    it(`${path} under /${prefix.join("/")}: ${expected}`, () => {
      assert.equal(under(path, prefix), expected);
    });
  }
});
