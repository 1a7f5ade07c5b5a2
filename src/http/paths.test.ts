import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { decodePath, isPlainPath, plainPathUnder, readSegments, underPrefix } from "./paths.ts";

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

// Paths built from the pieces that matter to the reading: separators, dots, escapes, backslashes,
// drive letters, control characters, and ordinary names.
const piece = fc.constantFrom(
  "/",
  "//",
  ".",
  "..",
  "%2e",
  "%2F",
  "%41",
  "%",
  "\\",
  "C:",
  "c:x",
  "a",
  "static",
  "private",
  "st",
  "\u0001",
  "\u007f",
  "é",
  " ",
);
const path = fc.array(piece, { maxLength: 12 }).map((parts) => `/${parts.join("")}`);
const prefixes = [["static"], ["static", "private"], ["a"], ["st"], ["é", "a"]];

describe("isPlainPath and plainPathUnder", () => {
  it("agree with readSegments and underPrefix on every path they accept", () => {
    fc.assert(
      fc.property(path, (p) => {
        if (!isPlainPath(p)) return;
        assert.equal(decodePath(p).ok, true, `decodePath refuses ${JSON.stringify(p)}`);
        const read = readSegments(p);
        for (const prefix of prefixes) {
          assert.equal(
            plainPathUnder(p, prefix),
            underPrefix(read, prefix),
            `${JSON.stringify(p)} under ${prefix.join("/")}`,
          );
        }
      }),
      { numRuns: 5000 },
    );
  });

  it("leave every escape, refusal and control character to decodePath", () => {
    for (const p of [
      "/a%20b",
      "/a/../b",
      "/a/./b",
      "/..",
      "/a\\b",
      "/C:/x",
      "/c:",
      "/a\u0000b",
      "/a\u007fb",
      `/${"a/".repeat(65)}`,
      `/${"a".repeat(5000)}`,
    ]) {
      assert.equal(isPlainPath(p), false, JSON.stringify(p));
    }
    for (const p of [
      "/",
      "//",
      "/a//b/",
      "/static/private/x.txt",
      "/.well-known/a",
      "/...",
      "/ab:c",
    ]) {
      assert.equal(isPlainPath(p), true, JSON.stringify(p));
    }
  });

  it("match whole segments only, skipping empty ones", () => {
    assert.equal(plainPathUnder("/static/private/a", ["static", "private"]), true);
    assert.equal(plainPathUnder("//static//private", ["static", "private"]), true);
    assert.equal(plainPathUnder("/static/privatex", ["static", "private"]), false);
    assert.equal(plainPathUnder("/staticx/private", ["static"]), false);
    assert.equal(plainPathUnder("/static", ["static", "private"]), false);
    assert.equal(plainPathUnder("/", ["static"]), false);
    assert.equal(plainPathUnder("/anything", []), true);
  });
});
