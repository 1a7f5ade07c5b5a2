import assert from "node:assert/strict";
import { mkdtemp, rename, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  type EntityTag,
  fileETag,
  formatEntityTag,
  parseEntityTag,
  suffixETag,
  weakETag,
} from "./etag.ts";

describe("fileETag", () => {
  it("joins inode, size and mtime in nanoseconds as hex", () => {
    const tag = fileETag({ ino: 255, size: 4096, mtimeMs: 0, mtimeNs: 1_000_000_000n });
    assert.equal(tag, `"ff-1000-${(1_000_000_000).toString(16)}"`);
  });

  it("derives nanoseconds from a fractional mtimeMs", () => {
    assert.equal(fileETag({ ino: 1, size: 2, mtimeMs: 1.5 }), `"1-2-${(1_500_000).toString(16)}"`);
  });

  it("prefers mtimeNs over mtimeMs", () => {
    const a = fileETag({ ino: 1, size: 2, mtimeMs: 1, mtimeNs: 1_000_001n });
    const b = fileETag({ ino: 1, size: 2, mtimeMs: 1, mtimeNs: 1_000_002n });
    assert.notEqual(a, b);
  });

  it("keeps inode numbers above 2^53 exact", () => {
    const a = fileETag({ ino: 2n ** 60n, size: 1, mtimeMs: 0 });
    const b = fileETag({ ino: 2n ** 60n + 1n, size: 1, mtimeMs: 0 });
    assert.notEqual(a, b);
  });

  it("writes a pre-1970 mtime without a minus sign", () => {
    const tag = fileETag({ ino: 1, size: 1, mtimeMs: -1000 });
    assert.equal(tag.split("-").length, 3);
    assert.notEqual(tag, fileETag({ ino: 1, size: 1, mtimeMs: 1000 }));
  });

  it("is a valid strong entity tag", () => {
    const tag = fileETag({ ino: 123456789, size: 0, mtimeMs: 1700000000123.456 });
    assert.deepEqual(parseEntityTag(tag)?.weak, false);
  });

  it("changes when a file is atomically replaced with the same size and mtime", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sluice-etag-"));
    try {
      const file = join(dir, "a.txt");
      await writeFile(file, "one");
      const before = await stat(file, { bigint: true });
      await writeFile(join(dir, "b.txt"), "two");
      await rename(join(dir, "b.txt"), file);
      const after = await stat(file, { bigint: true });
      const forged = { ...after, mtimeNs: before.mtimeNs, size: before.size };
      assert.notEqual(fileETag(forged), fileETag(before));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("accepts bigint stats with and without mtimeNs", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sluice-etag-"));
    try {
      const file = join(dir, "a.txt");
      await writeFile(file, "hello");
      const big = await stat(file, { bigint: true });
      const fromNs = fileETag(big);
      const fromBigMs = fileETag({ ino: big.ino, size: big.size, mtimeMs: big.mtimeMs });
      assert.match(fromNs, /^"[0-9a-f]+-5-[0-9a-f]+"$/);
      assert.match(fromBigMs, /^"[0-9a-f]+-5-[0-9a-f]+"$/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("weakETag", () => {
  it("marks a strong tag weak", () => assert.equal(weakETag('"abc"'), 'W/"abc"'));
  it("leaves a weak tag alone", () => assert.equal(weakETag('W/"abc"'), 'W/"abc"'));
  it("refuses a bare value", () => assert.throws(() => weakETag("abc"), TypeError));
  it("refuses a tag with CR/LF", () => assert.throws(() => weakETag('"a\r\nb"'), TypeError));
});

describe("suffixETag", () => {
  it("appends to a strong tag", () => assert.equal(suffixETag('"abc"', "br"), '"abc-br"'));
  it("keeps a weak tag weak", () => assert.equal(suffixETag('W/"abc"', "gzip"), 'W/"abc-gzip"'));
  it("refuses a suffix with a quote", () =>
    assert.throws(() => suffixETag('"a"', 'b"'), TypeError));
  it("refuses an empty suffix", () => assert.throws(() => suffixETag('"a"', ""), TypeError));
  it("refuses a suffix with a space", () =>
    assert.throws(() => suffixETag('"a"', "b r"), TypeError));
  it("refuses an invalid tag", () => assert.throws(() => suffixETag("abc", "br"), TypeError));
});

describe("parseEntityTag", () => {
  const table: [string, EntityTag | undefined][] = [
    ['"abc"', { weak: false, opaque: "abc" }],
    ['W/"abc"', { weak: true, opaque: "abc" }],
    ['""', { weak: false, opaque: "" }],
    ['W/""', { weak: true, opaque: "" }],
    ['"é"', { weak: false, opaque: "é" }],
    ['w/"abc"', undefined],
    ["abc", undefined],
    ['"abc', undefined],
    ['abc"', undefined],
    ['"', undefined],
    ['W/"', undefined],
    ['"a"b"', undefined],
    ['"a b"', undefined],
    ['"a\tb"', undefined],
    ['"☃"', undefined],
    [' "abc"', undefined],
    ["*", undefined],
  ];
  for (const [input, expected] of table) {
    it(`reads ${JSON.stringify(input)} as ${expected ? formatEntityTag(expected) : "nothing"}`, () =>
      assert.deepEqual(parseEntityTag(input), expected));
  }
});
