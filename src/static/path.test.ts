import assert from "node:assert/strict";
import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  MAX_STATIC_PATH_SEGMENTS,
  normalizeStaticPath,
  resolveInsideRoot,
  type StaticPathResult,
} from "./path.ts";

const ok = (segments: string[], trailingSlash = false): StaticPathResult => ({
  ok: true,
  segments,
  trailingSlash,
});

describe("normalizeStaticPath", () => {
  const accepted: [string, string, StaticPathResult][] = [
    ["reads a plain path", "/a/b.txt", ok(["a", "b.txt"])],
    ["decodes a space", "/a%20b/c.txt", ok(["a b", "c.txt"])],
    ["decodes a snowman", "/%E2%98%83.txt", ok(["☃.txt"])],
    ["keeps a raw snowman", "/☃.txt", ok(["☃.txt"])],
    ["keeps a plus sign literal", "/a+b.txt", ok(["a+b.txt"])],
    ["keeps .. inside a name", "/do..ts.txt", ok(["do..ts.txt"])],
    ["keeps a name ending in ..", "/a..", ok(["a.."])],
    ["decodes exactly once", "/%252e%252e/x", ok(["%2e%2e", "x"])],
    ["keeps a literal percent", "/100%25.txt", ok(["100%.txt"])],
    ["reads the root", "/", ok([], true)],
    ["reads an empty path", "", ok([])],
    ["notes a trailing slash", "/docs/", ok(["docs"], true)],
    ["collapses empty segments", "//a///b//", ok(["a", "b"], true)],
    ["accepts a path without a leading slash", "a/b", ok(["a", "b"])],
    ["keeps a colon after the first character", "/12:30.txt", ok(["12:30.txt"])],
    ["keeps a single letter name", "/c", ok(["c"])],
  ];
  for (const [name, raw, expected] of accepted) {
    it(name, () => assert.deepEqual(normalizeStaticPath(raw), expected));
  }

  const refused: [string, string, 400 | 403 | 404 | 414][] = [
    ["refuses ..", "/../etc/passwd", 403],
    ["refuses .. in the middle", "/a/../../b", 403],
    ["refuses .", "/a/./b", 403],
    ["refuses encoded ..", "/%2e%2e/etc/passwd", 403],
    ["refuses upper-case encoded ..", "/%2E%2E/etc/passwd", 403],
    ["refuses half-encoded ..", "/.%2e/x", 403],
    ["refuses encoded .", "/%2e/x", 403],
    ["refuses an encoded slash", "/a%2Fb", 403],
    ["refuses an encoded slash with ..", "/..%2Fetc", 403],
    ["refuses a raw backslash", "/a\\b", 403],
    ["refuses an encoded backslash", "/..%5C..%5Cwindows", 403],
    ["refuses a UNC path", "/%5C%5Cserver%5Cshare", 403],
    ["refuses a drive letter", "/C:/Windows/win.ini", 403],
    ["refuses an encoded drive letter", "/c%3A%5Cboot.ini", 403],
    ["refuses a drive-relative name", "/d:secret", 403],
    ["refuses a raw NUL", "/a\0.txt", 400],
    ["refuses an encoded NUL", "/a.txt%00.html", 400],
    ["refuses an encoded newline", "/a%0Ab", 400],
    ["refuses an encoded DEL", "/a%7Fb", 400],
    ["refuses a truncated escape", "/a%2", 400],
    ["refuses a bad escape", "/a%zz", 400],
    ["refuses a lone percent", "/%", 400],
    ["refuses invalid UTF-8", "/%FF.txt", 400],
    ["refuses an overlong UTF-8 dot", "/%C0%AE%C0%AE/x", 400],
    ["refuses an encoded surrogate", "/%ED%A0%80", 400],
    ["hides a dotfile", "/.env", 404],
    ["hides a dot directory", "/.git/config", 404],
    ["hides an encoded dotfile", "/%2eenv", 404],
    ["hides a nested dotfile", "/a/b/.htpasswd", 404],
    ["hides a name of three dots as a dotfile", "/x/.../y", 404],
  ];
  for (const [name, raw, status] of refused) {
    it(name, () => {
      const result = normalizeStaticPath(raw);
      assert.equal(result.ok, false);
      if (!result.ok) assert.equal(result.status, status);
    });
  }

  it("hides dotfiles when told to ignore them", () => {
    assert.deepEqual(normalizeStaticPath("/.env", { dotfiles: "ignore" }), {
      ok: false,
      status: 404,
      reason: "dotfile",
    });
  });

  it("serves dotfiles when allowed, but never dot segments", () => {
    const allow = { dotfiles: "allow" } as const;
    assert.deepEqual(normalizeStaticPath("/.well-known/x", allow), ok([".well-known", "x"]));
    assert.equal(normalizeStaticPath("/../x", allow).ok, false);
    assert.equal(normalizeStaticPath("/%2e%2e/x", allow).ok, false);
  });

  it("refuses a path longer than maxLength", () => {
    assert.equal(normalizeStaticPath(`/${"a".repeat(4095)}`).ok, true);
    assert.deepEqual(normalizeStaticPath(`/${"a".repeat(4096)}`), {
      ok: false,
      status: 414,
      reason: "path too long",
    });
    assert.equal(normalizeStaticPath("/abcdef", { maxLength: 5 }).ok, false);
  });

  it(`accepts ${MAX_STATIC_PATH_SEGMENTS} segments and refuses one more`, () => {
    assert.equal(normalizeStaticPath("/a".repeat(MAX_STATIC_PATH_SEGMENTS)).ok, true);
    const result = normalizeStaticPath("/a".repeat(MAX_STATIC_PATH_SEGMENTS + 1));
    assert.equal(result.ok === false && result.status, 414);
  });

  it("never returns a segment the filesystem would read as a path", () => {
    const alphabet = ["a", ".", "/", "\\", "%", "2", "e", "E", "f", "F", "5", "c", "C", ":", "0"];
    let seed = 3;
    for (let round = 0; round < 5000; round++) {
      let raw = "";
      for (let k = 0; k < 10; k++) {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        raw += alphabet[seed % alphabet.length];
      }
      const result = normalizeStaticPath(raw, { dotfiles: "allow" });
      if (!result.ok) continue;
      for (const segment of result.segments) {
        assert.ok(segment !== "" && segment !== "." && segment !== "..", raw);
        assert.ok(!/[/\\\0]/.test(segment), raw);
        assert.ok(!/^[a-z]:/i.test(segment), raw);
      }
    }
  });
});

describe("resolveInsideRoot", () => {
  let base = "";
  let root = "";

  before(async () => {
    base = await realpath(await mkdtemp(join(tmpdir(), "sluice-static-")));
    root = join(base, "root");
    await mkdir(join(root, "sub"), { recursive: true });
    await mkdir(join(base, "outside"));
    await mkdir(join(base, "root-evil"));
    await writeFile(join(root, "a.txt"), "a");
    await writeFile(join(root, "sub", "b.txt"), "b");
    await writeFile(join(base, "outside", "secret.txt"), "secret");
    await writeFile(join(base, "root-evil", "x.txt"), "x");
    await symlink(join(base, "outside"), join(root, "out"));
    await symlink("../outside/secret.txt", join(root, "outfile"));
    await symlink("../root-evil", join(root, "evil"));
    await symlink("sub", join(root, "alias"));
    await symlink("sub/b.txt", join(root, "b-link.txt"));
    await symlink("loop", join(root, "loop"));
    await symlink(root, join(base, "root-link"));
  });

  after(async () => {
    await rm(base, { recursive: true, force: true });
  });

  it("resolves a file inside the root", async () => {
    assert.deepEqual(await resolveInsideRoot(root, ["a.txt"]), {
      ok: true,
      path: join(root, "a.txt"),
      realPath: join(root, "a.txt"),
    });
  });

  it("resolves a nested file", async () => {
    const result = await resolveInsideRoot(root, ["sub", "b.txt"]);
    assert.equal(result.ok && result.realPath, join(root, "sub", "b.txt"));
  });

  it("resolves the root itself", async () => {
    const result = await resolveInsideRoot(root, []);
    assert.equal(result.ok && result.realPath, root);
  });

  it("follows a symlinked directory that stays inside", async () => {
    const result = await resolveInsideRoot(root, ["alias", "b.txt"]);
    assert.equal(result.ok && result.realPath, join(root, "sub", "b.txt"));
  });

  it("follows a symlinked file that stays inside", async () => {
    const result = await resolveInsideRoot(root, ["b-link.txt"]);
    assert.equal(result.ok && result.realPath, join(root, "sub", "b.txt"));
  });

  it("accepts a root that is itself a symlink", async () => {
    const result = await resolveInsideRoot(join(base, "root-link"), ["sub", "b.txt"]);
    assert.equal(result.ok && result.realPath, join(root, "sub", "b.txt"));
  });

  it("hides a file reached through a symlinked directory outside", async () => {
    assert.deepEqual(await resolveInsideRoot(root, ["out", "secret.txt"]), {
      ok: false,
      status: 404,
    });
  });

  it("hides a symlinked directory outside", async () => {
    assert.deepEqual(await resolveInsideRoot(root, ["out"]), { ok: false, status: 404 });
  });

  it("hides a symlinked file outside", async () => {
    assert.deepEqual(await resolveInsideRoot(root, ["outfile"]), { ok: false, status: 404 });
  });

  it("hides a sibling whose name starts with the root's name", async () => {
    assert.deepEqual(await resolveInsideRoot(root, ["evil", "x.txt"]), { ok: false, status: 404 });
  });

  it("hides what .. segments reach, should any get this far", async () => {
    const result = await resolveInsideRoot(root, ["..", "outside", "secret.txt"]);
    assert.deepEqual(result, { ok: false, status: 404 });
  });

  it("answers 404 for a missing file", async () => {
    assert.deepEqual(await resolveInsideRoot(root, ["missing.txt"]), { ok: false, status: 404 });
  });

  it("answers 404 for a path through a file", async () => {
    assert.deepEqual(await resolveInsideRoot(root, ["a.txt", "x"]), { ok: false, status: 404 });
  });

  it("answers 404 for a symlink loop", async () => {
    assert.deepEqual(await resolveInsideRoot(root, ["loop"]), { ok: false, status: 404 });
  });

  it("answers 404 for a NUL byte", async () => {
    assert.deepEqual(await resolveInsideRoot(root, ["a\0.txt"]), { ok: false, status: 404 });
  });

  it("answers 404 for a missing root", async () => {
    assert.deepEqual(await resolveInsideRoot(join(base, "nope"), ["a.txt"]), {
      ok: false,
      status: 404,
    });
  });

  it("answers 404 for a name too long for the filesystem: it names no file", async () => {
    assert.deepEqual(await resolveInsideRoot(root, ["x".repeat(300)]), { ok: false, status: 404 });
  });
});
