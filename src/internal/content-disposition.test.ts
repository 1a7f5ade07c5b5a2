import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { contentDisposition } from "./content-disposition.ts";

/** Reads filename* back the way a browser would, to check that nothing is lost. */
function decodeExtValue(header: string): string | undefined {
  const match = /filename\*=UTF-8''([^;]*)$/.exec(header);
  return match ? decodeURIComponent(match[1]!) : undefined;
}

describe("contentDisposition", () => {
  const table: [string, string | undefined, string][] = [
    ["sends a plain name alone", "report.pdf", 'attachment; filename="report.pdf"'],
    ["keeps spaces in the quoted name", "my report.pdf", 'attachment; filename="my report.pdf"'],
    ["keeps .. inside a name", "do..ts.txt", 'attachment; filename="do..ts.txt"'],
    ["keeps a dotfile name", ".env", 'attachment; filename=".env"'],
    ["omits the filename when there is none", undefined, "attachment"],
    ["omits an empty filename", "", "attachment"],
    ["omits a name that is only a directory", "dir/", "attachment"],
    ["omits a name of ..", "..", "attachment"],
    ["omits a name of .", "a/.", "attachment"],
    ["omits a name of only control characters", "\r\n\0", "attachment"],
    ["strips a parent path", "../x", 'attachment; filename="x"'],
    ["strips an absolute path", "/etc/passwd", 'attachment; filename="passwd"'],
    ["strips a Windows path", "C:\\Users\\me\\a.txt", 'attachment; filename="a.txt"'],
    ["strips a mixed path", "a\\b/c\\d.txt", 'attachment; filename="d.txt"'],
    [
      "removes CR and LF",
      "a\r\nSet-Cookie: x=1.txt",
      'attachment; filename="aSet-Cookie: x=1.txt"',
    ],
    ["removes NUL and tabs", "a\0b\tc.txt", 'attachment; filename="abc.txt"'],
    ["removes C1 controls", "a\u0085b.txt", 'attachment; filename="ab.txt"'],
    ["encodes a snowman", "☃.txt", `attachment; filename="_.txt"; filename*=UTF-8''%E2%98%83.txt`],
    [
      "replaces one character per code point",
      "😀.png",
      `attachment; filename="_.png"; filename*=UTF-8''%F0%9F%98%80.png`,
    ],
    [
      "replaces quotes in the fallback",
      'say "hi".txt',
      `attachment; filename="say _hi_.txt"; filename*=UTF-8''say%20%22hi%22.txt`,
    ],
    [
      "replaces a percent sign in the fallback",
      "100%25.txt",
      `attachment; filename="100_25.txt"; filename*=UTF-8''100%2525.txt`,
    ],
    [
      "encodes characters outside attr-char",
      "ä ö'(1)*.txt",
      `attachment; filename="_ _'(1)*.txt"; filename*=UTF-8''%C3%A4%20%C3%B6%27%281%29%2A.txt`,
    ],
    [
      "keeps every attr-char unencoded",
      "é!#$&+-.^_`|~",
      `attachment; filename="_!#$&+-.^_\`|~"; filename*=UTF-8''%C3%A9!#$&+-.^_\`|~`,
    ],
    [
      "encodes a lone surrogate as U+FFFD",
      "a\uD800.txt",
      `attachment; filename="a_.txt"; filename*=UTF-8''a%EF%BF%BD.txt`,
    ],
  ];
  for (const [name, input, expected] of table) {
    it(name, () => assert.equal(contentDisposition(input), expected));
  }

  it("writes inline when asked", () => {
    assert.equal(contentDisposition("a.txt", "inline"), 'inline; filename="a.txt"');
    assert.equal(contentDisposition(undefined, "inline"), "inline");
  });

  it("round-trips non-ASCII names through filename*", () => {
    for (const name of ["☃.txt", "naïve café.pdf", "日本語 ファイル.zip", "a'b\"c%d;e,f.txt"]) {
      assert.equal(decodeExtValue(contentDisposition(name)), name);
    }
  });

  it("never emits CR, LF, NUL or a raw non-ASCII byte, whatever the input", () => {
    let seed = 7;
    for (let round = 0; round < 2000; round++) {
      let name = "";
      for (let k = 0; k < 12; k++) {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        const pick = seed % 5;
        name += String.fromCharCode(
          pick === 0
            ? seed % 0x20
            : pick === 1
              ? 0xd800 + (seed % 0x800)
              : pick === 2
                ? seed % 0x10000
                : 0x20 + (seed % 0x5f),
        );
      }
      const header = contentDisposition(name);
      assert.match(
        header,
        /^attachment(; filename="[\x20-\x7e]*"(; filename\*=UTF-8''[\x21-\x7e]*)?)?$/,
      );
      assert.doesNotMatch(header, /[\r\n\0]/);
      const quoted = /filename="([^"]*)"/.exec(header)?.[1] ?? "";
      assert.doesNotMatch(quoted, /[\\%"]/);
    }
  });
});
