// Property-based tests of the header parsers and formatters in src/internal/ (issue 11, item 12),
// with fast-check: for any input they throw nothing but their documented errors, what they produce
// reads back as what went in, and their time grows linearly with adversarial input lengths
// (test/helpers/linear.ts explains how that is measured without a wall-clock bound).

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseSetCookie } from "cookie";
import fc from "fast-check";
import { parseByteranges } from "../../test/helpers/app.ts";
import { assertLinear } from "../../test/helpers/linear.ts";
import { isValidHeaderValue } from "../http/headers.ts";
import { mediaTypeAccepted, parseAccept } from "./accept.ts";
import { chooseEncoding, parseAcceptEncoding } from "./accept-encoding.ts";
import {
  evaluatePreconditions,
  formatHttpDate,
  ifRangeAllowsRange,
  parseETagList,
  parseHttpDate,
} from "./conditional.ts";
import { contentDisposition } from "./content-disposition.ts";
import { formatSetCookie, parseCookieHeader } from "./cookie.ts";
import {
  type EntityTag,
  formatEntityTag,
  isETagChar,
  parseEntityTag,
  suffixETag,
  weakETag,
} from "./etag.ts";
import { multipartByteranges } from "./multipart.ts";
import { MAX_RANGE_PARTS, parseRange } from "./range.ts";

const RUNS = { numRuns: 300 };

/** Any text: every UTF-16 code unit, lone surrogates included. */
const anyText = fc.string({ unit: "binary", maxLength: 200 });
/** Text made of the characters that matter to header grammars, so the interesting cases come up. */
const headerish = (alphabet: string) =>
  fc.string({ unit: fc.constantFrom(...alphabet), maxLength: 120 });
const ows = fc.constantFrom("", " ", "\t", "  ");
const etagText = fc.string({
  unit: fc
    .integer({ min: 0x21, max: 0xff })
    .filter(isETagChar)
    .map((c) => String.fromCharCode(c)),
  maxLength: 20,
});
const entityTag = fc
  .record({ weak: fc.boolean(), opaque: etagText })
  .map((t): EntityTag => ({ weak: t.weak, opaque: t.opaque }));

describe("Range (parseRange)", () => {
  const size = fc.integer({ min: 0, max: 10_000 });

  it("never throws and always answers ranges that lie inside the representation", () => {
    fc.assert(
      fc.property(fc.oneof(anyText, headerish("bytes=0123456789-, \t;")), size, (header, n) => {
        const result = parseRange(header, n);
        if (result.kind !== "ranges") return;
        assert.ok(result.ranges.length >= 1 && result.ranges.length <= MAX_RANGE_PARTS);
        let total = 0;
        for (const r of result.ranges) {
          assert.ok(Number.isSafeInteger(r.start) && r.start >= 0 && r.end >= r.start && r.end < n);
          total += r.end - r.start + 1;
        }
        assert.ok(total <= n, "merged ranges never add up to more than the representation");
        const sorted = [...result.ranges].sort((a, b) => a.start - b.start);
        for (let i = 1; i < sorted.length; i++) assert.ok(sorted[i]!.start > sorted[i - 1]!.end);
      }),
      RUNS,
    );
  });

  it("covers every byte it was asked for, and reads its own ranges back unchanged", () => {
    const spec = fc.oneof(
      fc.tuple(fc.nat(12_000), fc.option(fc.nat(3_000))).map(([a, len]) => ({
        text: `${a}-${len === null ? "" : a + len}`,
        from: a,
        to: len === null ? Number.POSITIVE_INFINITY : a + len,
        suffix: undefined as number | undefined,
      })),
      fc.integer({ min: 1, max: 12_000 }).map((s) => ({
        text: `-${s}`,
        from: 0,
        to: 0,
        suffix: s as number | undefined,
      })),
    );
    fc.assert(
      fc.property(fc.array(spec, { minLength: 1, maxLength: 12 }), size, ows, (specs, n, sp) => {
        const header = `bytes=${specs.map((s) => s.text).join(`${sp},${sp}`)}`;
        const result = parseRange(header, n);
        const wanted = specs
          .map((s) =>
            s.suffix !== undefined
              ? { start: Math.max(0, n - s.suffix), end: n - 1 }
              : { start: s.from, end: Math.min(s.to, n - 1) },
          )
          .filter((r) => r.start <= r.end);
        if (wanted.length === 0) {
          assert.notEqual(result.kind, "ranges");
          return;
        }
        if (result.kind === "full") return; // too many parts once merged: the server may send all
        assert.equal(result.kind, "ranges", header);
        for (const w of wanted) {
          for (const b of [w.start, w.end]) {
            assert.ok(
              result.ranges.some((r) => r.start <= b && b <= r.end),
              `${header}: byte ${b} lost`,
            );
          }
        }
        const again = parseRange(
          `bytes=${result.ranges.map((r) => `${r.start}-${r.end}`).join(",")}`,
          n,
        );
        assert.deepEqual(again, result);
      }),
      RUNS,
    );
  });

  it("takes time linear in the header's length", () => {
    assertLinear(
      "spaces",
      (n) => `bytes=${" ".repeat(n)}0-1`,
      (h) => parseRange(h, 100),
    );
    assertLinear(
      "digits",
      (n) => `bytes=${"9".repeat(n)}-`,
      (h) => parseRange(h, 100),
    );
    assertLinear(
      "empty elements",
      (n) => `bytes=${",".repeat(n)}0-1`,
      (h) => parseRange(h, 100),
    );
  });
});

describe("entity tags and conditional requests", () => {
  it("reads every entity tag it writes", () => {
    fc.assert(
      fc.property(entityTag, (tag) => {
        assert.deepEqual(parseEntityTag(formatEntityTag(tag)), tag);
        assert.deepEqual(parseEntityTag(weakETag(formatEntityTag(tag))), { ...tag, weak: true });
      }),
      RUNS,
    );
  });

  it("throws only the documented TypeError for what is not an entity tag", () => {
    fc.assert(
      fc.property(anyText, fc.string({ maxLength: 5 }), (text, suffix) => {
        for (const fn of [() => weakETag(text), () => suffixETag(text, suffix)]) {
          try {
            const out = fn();
            assert.ok(parseEntityTag(out) !== undefined, out);
          } catch (error) {
            assert.ok(error instanceof TypeError, String(error));
          }
        }
        const parsed = parseEntityTag(text);
        if (parsed !== undefined) assert.equal(formatEntityTag(parsed), text);
      }),
      RUNS,
    );
  });

  it("reads a list of entity tags back as written, whatever the spacing and empty elements", () => {
    const element = fc.oneof(
      { weight: 4, arbitrary: entityTag.map((t) => ({ tag: t as EntityTag | undefined })) },
      { weight: 1, arbitrary: fc.constant({ tag: undefined as EntityTag | undefined }) },
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(element, ows, ows), { minLength: 1, maxLength: 10 }), (els) => {
        const text = els
          .map(([e, a, b]) => `${a}${e.tag ? formatEntityTag(e.tag) : ""}${b}`)
          .join(",");
        const tags = els.flatMap(([e]) => (e.tag ? [e.tag] : []));
        assert.deepEqual(parseETagList(text), tags.length === 0 ? undefined : tags);
      }),
      RUNS,
    );
  });

  it("evaluates any conditional headers without throwing, to 200, 304 or 412", () => {
    const field = fc.oneof(anyText, headerish('W/"abc*, \t'), entityTag.map(formatEntityTag));
    fc.assert(
      fc.property(
        fc.constantFrom("GET", "HEAD", "POST", "get"),
        fc.record({
          "if-match": fc.option(field),
          "if-none-match": fc.option(field),
          "if-modified-since": fc.option(anyText),
          "if-unmodified-since": fc.option(anyText),
          "if-range": fc.option(field),
        }),
        fc.option(entityTag.map(formatEntityTag), { nil: undefined }),
        fc.option(fc.integer({ min: -1e13, max: 2e14 }), { nil: undefined }),
        (method, fields, etag, lastModified) => {
          const headers = { get: (name: string) => fields[name as keyof typeof fields] };
          const status = evaluatePreconditions(method, headers, { etag, lastModified });
          assert.ok([200, 304, 412].includes(status));
          assert.equal(
            typeof ifRangeAllowsRange(fields["if-range"] ?? undefined, { etag, lastModified }),
            "boolean",
          );
        },
      ),
      RUNS,
    );
  });

  it("reads back every HTTP-date it writes, and reads any text without throwing", () => {
    const ms = fc.integer({ min: -62_167_219_200_000, max: 253_402_300_799_000 }); // years 0-9999
    fc.assert(
      fc.property(ms, anyText, (t, text) => {
        assert.equal(parseHttpDate(formatHttpDate(t)), Math.floor(t / 1000) * 1000);
        const parsed = parseHttpDate(text);
        assert.ok(parsed === undefined || Number.isFinite(parsed));
      }),
      RUNS,
    );
  });

  it("takes time linear in the length of an entity-tag list or a date", () => {
    assertLinear("one long tag", (n) => `"${"a".repeat(n)}"`, parseETagList);
    assertLinear("many tags", (n) => 'W/"a", '.repeat(Math.ceil(n / 7)), parseETagList);
    assertLinear("spaces", (n) => `${" ".repeat(n)}"a"`, parseETagList);
    assertLinear(
      "If-None-Match",
      (n) => ({
        get: (name: string) =>
          name === "if-none-match" ? '"x", '.repeat(Math.ceil(n / 5)) : undefined,
      }),
      (h) => evaluatePreconditions("GET", h, { etag: '"y"' }),
    );
    assertLinear(
      "a long date",
      (n) => `Sun, 06 Nov 1994 08:49:37 GMT${" ".repeat(n)}`,
      (d) => parseHttpDate(d),
    );
  });
});

describe("Accept-Encoding", () => {
  const name = fc.constantFrom(
    "gzip",
    "br",
    "zstd",
    "deflate",
    "identity",
    "*",
    "x-gzip",
    "GZIP",
    "compress",
  );
  const qvalue = fc.constantFrom("1", "1.0", "0", "0.5", "0.25", "0.001", "0.000", "1.000");

  it("reads back any list it is given, the first rating of a name winning", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(name, fc.option(qvalue), ows), { maxLength: 8 }), (els) => {
        const header = els
          .map(([n, q, sp]) => `${n}${q === null ? "" : `${sp};${sp}q=${q}`}`)
          .join(`,${" "}`);
        const expected = new Map<string, number>();
        for (const [n, q] of els)
          if (!expected.has(n.toLowerCase()))
            expected.set(n.toLowerCase(), q === null ? 1 : Number(q));
        assert.deepEqual(parseAcceptEncoding(header), expected);
      }),
      RUNS,
    );
  });

  it("never throws, and chooses only a coding on offer that the client did not refuse", () => {
    fc.assert(
      fc.property(fc.oneof(anyText, headerish("gzipbr*;q=0.15, \t")), (header) => {
        const available = ["br", "gzip", "zstd"];
        const chosen = chooseEncoding(header, available);
        if (chosen === undefined) return;
        assert.ok(available.includes(chosen));
        const rated = parseAcceptEncoding(header)!;
        const q =
          rated.get(chosen) ??
          (chosen === "gzip" ? rated.get("x-gzip") : undefined) ??
          rated.get("*");
        assert.ok(q !== undefined && q > 0, `${header} → ${chosen}`);
      }),
      RUNS,
    );
  });

  it("takes time linear in the header's length", () => {
    assertLinear(
      "many codings",
      (n) => "gzip;q=0.5, ".repeat(Math.ceil(n / 12)),
      (h) => chooseEncoding(h, ["br", "gzip"]),
    );
    assertLinear(
      "one long name",
      (n) => "g".repeat(n),
      (h) => chooseEncoding(h, ["gzip"]),
    );
    assertLinear(
      "spaces before a weight",
      (n) => `gzip;${" ".repeat(n)}x`,
      (h) => chooseEncoding(h, ["gzip"]),
    );
  });
});

describe("Accept", () => {
  const type = fc.constantFrom("text", "application", "image", "*", "TEXT");
  const subtype = fc.constantFrom("html", "json", "*", "xhtml+xml", "plain");

  it("reads back any list of media ranges", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(type, subtype, fc.option(fc.constantFrom("0", "0.5", "1", "0.125"))), {
          maxLength: 8,
        }),
        (els) => {
          const header = els
            .map(([t, s, q]) => `${t}/${s}${q === null ? "" : `;level=1;q=${q}`}`)
            .join(", ");
          const expected = els
            .filter(([t, s]) => !(t === "*" && s !== "*"))
            .map(([t, s, q]) => ({
              type: t.toLowerCase(),
              subtype: s,
              q: q === null ? 1 : Number(q),
            }));
          assert.deepEqual(parseAccept(header), expected);
        },
      ),
      RUNS,
    );
  });

  it("never throws on any text", () => {
    fc.assert(
      fc.property(fc.oneof(anyText, headerish("text/html*;q=0.5, \t")), (header) => {
        assert.equal(typeof mediaTypeAccepted(header, "text/html"), "boolean");
      }),
      RUNS,
    );
  });

  it("takes time linear in the header's length", () => {
    assertLinear(
      "many ranges",
      (n) => "text/html;q=0.5, ".repeat(Math.ceil(n / 17)),
      (h) => mediaTypeAccepted(h, "text/html"),
    );
    assertLinear(
      "many parameters",
      (n) => `text/html${";a=b".repeat(Math.ceil(n / 4))}`,
      (h) => mediaTypeAccepted(h, "text/html"),
    );
  });
});

/** Reads a Content-Disposition value back (RFC 6266 §4.1, RFC 8187 §3.2), strictly. */
function readDisposition(value: string): {
  type: string;
  filename?: string;
  filenameStar?: string;
} {
  const m =
    /^(inline|attachment)(?:; filename="([^"\\]*)")?(?:; filename\*=UTF-8''([A-Za-z0-9!#$&+\-.^_`|~%]*))?$/.exec(
      value,
    );
  assert.ok(m, `not a Content-Disposition this module writes: ${value}`);
  return {
    type: m[1]!,
    ...(m[2] === undefined ? {} : { filename: m[2] }),
    ...(m[3] === undefined ? {} : { filenameStar: decodeURIComponent(m[3]) }),
  };
}

describe("Content-Disposition", () => {
  it("writes any name as a header value that reads back to the name's last segment", () => {
    const name = fc.oneof(
      anyText,
      fc.string({ unit: "grapheme", maxLength: 40 }),
      headerish('ab/\\".%é☃ \r\n\0'),
    );
    fc.assert(
      fc.property(
        name,
        fc.constantFrom("inline", "attachment") as fc.Arbitrary<"inline" | "attachment">,
        (filename, type) => {
          const value = contentDisposition(filename, type);
          assert.ok(isValidHeaderValue(value), JSON.stringify(value));
          const read = readDisposition(value);
          assert.equal(read.type, type);
          const base = filename.slice(
            Math.max(filename.lastIndexOf("/"), filename.lastIndexOf("\\")) + 1,
          );
          // Controls are dropped; lone surrogates become U+FFFD in UTF-8 (RFC 8187 needs UTF-8).
          const kept = [...base].filter((c) => {
            const code = c.codePointAt(0)!;
            return code >= 0x20 && !(code >= 0x7f && code <= 0x9f);
          });
          const exact = new TextDecoder().decode(new TextEncoder().encode(kept.join("")));
          if (read.filename === undefined) {
            assert.ok(exact === "" || exact === "." || exact === "..", JSON.stringify(filename));
            return;
          }
          assert.equal(read.filenameStar ?? read.filename, exact);
          assert.doesNotMatch(read.filename, /["\\%\x00-\x1f\x7f-\uffff]/);
        },
      ),
      RUNS,
    );
  });

  it("takes time linear in the name's length", () => {
    // A name is short in practice: 256 KiB against 256 bytes keeps the ratio and the suite quick.
    const sizes = { small: 256, big: 256 * 1024 };
    assertLinear(
      "non-ASCII",
      (n) => "☃".repeat(n),
      (f) => contentDisposition(f),
      sizes,
    );
    assertLinear(
      "slashes",
      (n) => "a/".repeat(Math.ceil(n / 2)),
      (f) => contentDisposition(f),
      sizes,
    );
  });
});

describe("multipart/byteranges", () => {
  const layout = fc.integer({ min: 1, max: 5000 }).chain((size) =>
    fc.tuple(
      fc.constant(size),
      fc.array(
        fc
          .tuple(fc.nat(size - 1), fc.nat(size - 1))
          .map(([a, b]) => ({ start: Math.min(a, b), end: Math.max(a, b) })),
        { minLength: 1, maxLength: 8 },
      ),
    ),
  );

  it("frames any ranges so that they parse back byte for byte, with an exact length", () => {
    fc.assert(
      fc.property(
        layout,
        fc.constantFrom("", "text/plain; charset=utf-8", "image/png"),
        ([size, ranges], type) => {
          const file = Buffer.alloc(size);
          for (let i = 0; i < size; i++) file[i] = (i * 7) % 251;
          const body = multipartByteranges(ranges, size, type);
          const bytes = Buffer.concat([
            ...body.parts.flatMap((p) => [
              Buffer.from(p.head),
              file.subarray(p.range.start, p.range.end + 1),
            ]),
            Buffer.from(body.tail),
          ]);
          assert.equal(bytes.length, body.length);
          const boundary = /boundary=("?)([^"]+)\1$/.exec(body.contentType)![2]!;
          const parts = parseByteranges(bytes, boundary);
          assert.equal(parts.length, ranges.length);
          parts.forEach((part, i) => {
            const r = ranges[i]!;
            assert.equal(part.headers["content-range"], `bytes ${r.start}-${r.end}/${size}`);
            if (type !== "") assert.equal(part.headers["content-type"], type);
            assert.ok(part.body.equals(file.subarray(r.start, r.end + 1)));
          });
        },
      ),
      RUNS,
    );
  });

  it("throws only its documented RangeError or TypeError for what it cannot frame", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            start: fc.integer({ min: -5, max: 50 }),
            end: fc.integer({ min: -5, max: 50 }),
          }),
          { maxLength: 4 },
        ),
        fc.integer({ min: 0, max: 40 }),
        anyText,
        fc.option(anyText, { nil: undefined }),
        (ranges, size, type, boundary) => {
          try {
            multipartByteranges(ranges, size, type, boundary);
          } catch (error) {
            assert.ok(error instanceof RangeError || error instanceof TypeError, String(error));
          }
        },
      ),
      RUNS,
    );
  });

  it("takes time linear in the number of ranges", () => {
    assertLinear(
      "ranges",
      (n) => Array.from({ length: Math.ceil(n / 16) }, (_, i) => ({ start: i * 2, end: i * 2 })),
      (ranges) => multipartByteranges(ranges, 1e9, "text/plain", "b"),
      { small: 1024, big: 256 * 1024 },
    );
  });
});

describe("cookies", () => {
  const token = fc.string({
    unit: fc.constantFrom(..."!#$%&'*+-.^_`|~09azAZ"),
    minLength: 1,
    maxLength: 16,
  });
  const attributes = fc.record(
    {
      path: fc.constantFrom("/", "/app", "/a b"),
      domain: fc.constantFrom("example.com", ".example.com"),
      maxAge: fc.integer({ min: -10, max: 1e9 }),
      httpOnly: fc.boolean(),
      secure: fc.boolean(),
      sameSite: fc.constantFrom("lax", "strict", "none") as fc.Arbitrary<"lax" | "strict" | "none">,
      partitioned: fc.boolean(),
    },
    { requiredKeys: [] },
  );

  it("never throws, and every cookie it sets reads back as set", () => {
    fc.assert(
      fc.property(
        fc.oneof(token, anyText),
        fc.oneof(anyText, fc.string({ unit: "grapheme", maxLength: 30 })),
        attributes,
        (name, value, attrs) => {
          const result = formatSetCookie(name, value, attrs);
          if (!result.ok) {
            assert.ok(result.reason.length > 0);
            return;
          }
          assert.ok(isValidHeaderValue(result.value), result.value);
          const read = parseSetCookie(result.value);
          assert.equal(read.name, name);
          // Lone surrogates cannot be UTF-8: they read back as U+FFFD.
          assert.equal(read.value, new TextDecoder().decode(new TextEncoder().encode(value)));
          assert.equal(read.path, attrs.path);
          assert.equal(read.domain, attrs.domain);
          assert.equal(read.maxAge, attrs.maxAge);
          assert.equal(read.httpOnly ?? false, attrs.httpOnly ?? false);
          assert.equal(read.secure ?? false, attrs.secure ?? false);
          const pair = result.value.split(";", 1)[0]!;
          assert.equal(parseCookieHeader(pair)[name], read.value);
        },
      ),
      RUNS,
    );
  });

  it("reads any Cookie header without throwing, keeping the first of each name", () => {
    fc.assert(
      fc.property(fc.oneof(anyText, headerish('ab=;% \t"')), (header) => {
        const jar = parseCookieHeader(header);
        for (const v of Object.values(jar)) assert.equal(typeof v, "string");
      }),
      RUNS,
    );
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(token, fc.string({ unit: fc.constantFrom(..."abc123-_"), maxLength: 8 })),
          { maxLength: 8 },
        ),
        (pairs) => {
          const jar = parseCookieHeader(pairs.map(([n, v]) => `${n}=${v}`).join("; "));
          const first = new Map<string, string>();
          for (const [n, v] of pairs) if (!first.has(n)) first.set(n, v);
          assert.deepEqual({ ...jar }, Object.fromEntries(first));
        },
      ),
      RUNS,
    );
  });

  it("takes time linear in the length of a cookie or a Cookie header", () => {
    assertLinear("many pairs", (n) => "a=1; ".repeat(Math.ceil(n / 5)), parseCookieHeader);
    assertLinear("one long value", (n) => `a=${"%41".repeat(Math.ceil(n / 3))}`, parseCookieHeader);
    assertLinear(
      "a value to encode",
      (n) => "é; ".repeat(Math.ceil(n / 3)),
      (v) => formatSetCookie("a", v),
    );
  });
});
