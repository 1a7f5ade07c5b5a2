import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  evaluatePreconditions,
  formatHttpDate,
  ifRangeAllowsRange,
  parseETagList,
  parseHttpDate,
  type Validators,
} from "./conditional.ts";

const T = Date.UTC(1994, 10, 6, 8, 49, 37);
const HTTP_T = "Sun, 06 Nov 1994 08:49:37 GMT";
const BEFORE = "Sun, 06 Nov 1994 08:49:36 GMT";
const AFTER = "Sun, 06 Nov 1994 08:49:38 GMT";
const v: Validators = { etag: '"abc"', lastModified: T + 250 };

function check(method: string, fields: Record<string, string>, validators = v) {
  return evaluatePreconditions(method, new Headers(fields), validators);
}

describe("evaluatePreconditions", () => {
  const table: [string, string, Record<string, string>, Validators, 200 | 304 | 412][] = [
    ["goes on without conditional headers", "GET", {}, v, 200],

    ["goes on when If-Match lists the tag", "GET", { "if-match": '"x", "abc"' }, v, 200],
    ["fails when If-Match lists another tag", "GET", { "if-match": '"x"' }, v, 412],
    ["fails If-Match on a weak request tag", "PUT", { "if-match": 'W/"abc"' }, v, 412],
    ["fails If-Match on a weak own tag", "PUT", { "if-match": '"abc"' }, { etag: 'W/"abc"' }, 412],
    ["goes on when If-Match is *", "DELETE", { "if-match": "*" }, v, 200],
    ["goes on when If-Match is * without an ETag", "GET", { "if-match": "*" }, {}, 200],
    ["fails If-Match when there is no ETag", "GET", { "if-match": '"abc"' }, {}, 412],
    ["fails a malformed If-Match", "GET", { "if-match": '"abc", junk' }, v, 412],
    ["fails If-Match with * inside a list", "GET", { "if-match": '*, "abc"' }, v, 412],
    ["treats an empty If-Match as absent", "GET", { "if-match": " " }, v, 200],

    ["goes on when unmodified since a later date", "PUT", { "if-unmodified-since": AFTER }, v, 200],
    [
      "goes on when unmodified since the same second",
      "PUT",
      { "if-unmodified-since": HTTP_T },
      v,
      200,
    ],
    ["fails when modified since", "PUT", { "if-unmodified-since": BEFORE }, v, 412],
    ["fails If-Unmodified-Since for GET too", "GET", { "if-unmodified-since": BEFORE }, v, 412],
    ["ignores an invalid If-Unmodified-Since", "PUT", { "if-unmodified-since": "soon" }, v, 200],
    ["ignores a list of dates", "PUT", { "if-unmodified-since": `${BEFORE}, ${BEFORE}` }, v, 200],
    [
      "ignores If-Unmodified-Since without a date",
      "PUT",
      { "if-unmodified-since": BEFORE },
      { etag: '"abc"' },
      200,
    ],
    [
      "ignores If-Unmodified-Since when If-Match is present",
      "PUT",
      { "if-match": '"abc"', "if-unmodified-since": BEFORE },
      v,
      200,
    ],

    ["answers 304 when If-None-Match lists the tag", "GET", { "if-none-match": '"abc"' }, v, 304],
    ["answers 304 for HEAD", "HEAD", { "if-none-match": '"abc"' }, v, 304],
    ["compares If-None-Match weakly", "GET", { "if-none-match": 'W/"abc"' }, v, 304],
    [
      "matches a weak own tag weakly",
      "GET",
      { "if-none-match": '"abc"' },
      { etag: 'W/"abc"' },
      304,
    ],
    ["finds the tag in a list", "GET", { "if-none-match": '"x" ,, W/"abc"' }, v, 304],
    ["goes on when If-None-Match lists other tags", "GET", { "if-none-match": '"x", "y"' }, v, 200],
    ["fails If-None-Match for PUT", "PUT", { "if-none-match": '"abc"' }, v, 412],
    ["fails If-None-Match * for POST", "POST", { "if-none-match": "*" }, v, 412],
    ["answers 304 for If-None-Match *", "GET", { "if-none-match": "*" }, v, 304],
    ["goes on for a malformed If-None-Match", "GET", { "if-none-match": '"abc", x' }, v, 200],
    ["goes on for an unquoted tag", "GET", { "if-none-match": "abc" }, v, 200],
    ["is case-sensitive about W/", "GET", { "if-none-match": 'w/"abc"' }, v, 200],
    ["compares the method case-sensitively", "get", { "if-none-match": '"abc"' }, v, 412],

    ["answers 304 when not modified since", "GET", { "if-modified-since": HTTP_T }, v, 304],
    ["answers 304 for a later date", "GET", { "if-modified-since": AFTER }, v, 304],
    ["goes on when modified since", "GET", { "if-modified-since": BEFORE }, v, 200],
    [
      "accepts an RFC 850 date",
      "GET",
      { "if-modified-since": "Sunday, 06-Nov-94 08:49:37 GMT" },
      v,
      304,
    ],
    ["accepts an asctime date", "GET", { "if-modified-since": "Sun Nov  6 08:49:37 1994" }, v, 304],
    ["ignores If-Modified-Since for POST", "POST", { "if-modified-since": HTTP_T }, v, 200],
    ["ignores an invalid If-Modified-Since", "GET", { "if-modified-since": "1994-11-06" }, v, 200],
    [
      "ignores If-Modified-Since without a date",
      "GET",
      { "if-modified-since": HTTP_T },
      { etag: '"a"' },
      200,
    ],
    [
      "ignores If-Modified-Since when If-None-Match is present",
      "GET",
      { "if-none-match": '"x"', "if-modified-since": AFTER },
      v,
      200,
    ],
    [
      "puts If-Match before If-None-Match",
      "GET",
      { "if-match": '"x"', "if-none-match": '"abc"' },
      v,
      412,
    ],
    [
      "puts If-Unmodified-Since before If-Modified-Since",
      "GET",
      { "if-unmodified-since": BEFORE, "if-modified-since": AFTER },
      v,
      412,
    ],
    [
      "answers 304 after a passing If-Match",
      "GET",
      { "if-match": '"abc"', "if-none-match": '"abc"' },
      v,
      304,
    ],
    [
      "accepts lastModified as a Date",
      "GET",
      { "if-modified-since": HTTP_T },
      { lastModified: new Date(T + 999) },
      304,
    ],
    [
      "ignores an invalid Date",
      "GET",
      { "if-modified-since": HTTP_T },
      { lastModified: new Date(Number.NaN) },
      200,
    ],
  ];
  for (const [name, method, fields, validators, expected] of table) {
    it(name, () => assert.equal(check(method, fields, validators), expected));
  }

  it("compares a sub-second mtime equal to the date it was sent as", () => {
    const mtime = T + 999.9;
    const sent = formatHttpDate(mtime);
    assert.equal(check("GET", { "if-modified-since": sent }, { lastModified: mtime }), 304);
    assert.equal(check("PUT", { "if-unmodified-since": sent }, { lastModified: mtime }), 200);
  });

  it("reads headers from any object with get()", () => {
    const map = new Map([["if-none-match", '"abc"']]);
    assert.equal(evaluatePreconditions("GET", { get: (name) => map.get(name) }, v), 304);
    assert.equal(evaluatePreconditions("GET", { get: () => null }, v), 200);
  });

  it("rejects a one-megabyte hostile tag list without matching", () => {
    const hostile = `"abc${"\\".repeat(1 << 20)}`;
    assert.equal(check("GET", { "if-none-match": hostile }), 200);
    const many = `${'W/"x", '.repeat(1 << 17)}junk`;
    assert.equal(check("GET", { "if-none-match": many }), 200);
  });
});

describe("ifRangeAllowsRange", () => {
  const table: [string, string | undefined, Validators, boolean][] = [
    ["allows a range without If-Range", undefined, v, true],
    ["treats an empty If-Range as absent", "", v, true],
    ["allows a range for the same strong tag", '"abc"', v, true],
    ["refuses another tag", '"abd"', v, false],
    ["refuses a weak request tag", 'W/"abc"', v, false],
    ["refuses against a weak own tag", '"abc"', { etag: 'W/"abc"' }, false],
    ["refuses a tag when there is no ETag", '"abc"', {}, false],
    ["refuses a list of tags", '"abc", "abc"', v, false],
    ["refuses a malformed tag", '"abc', v, false],
    ["allows the exact date", HTTP_T, v, true],
    ["allows the exact date in RFC 850 form", "Sunday, 06-Nov-94 08:49:37 GMT", v, true],
    ["refuses an earlier date", BEFORE, v, false],
    ["refuses a later date", AFTER, v, false],
    ["refuses a date when there is no Last-Modified", HTTP_T, { etag: '"abc"' }, false],
    ["refuses garbage", "whenever", v, false],
  ];
  for (const [name, ifRange, validators, expected] of table) {
    it(name, () => assert.equal(ifRangeAllowsRange(ifRange, validators), expected));
  }
});

describe("parseETagList", () => {
  const table: [string, ReturnType<typeof parseETagList>][] = [
    ["*", "*"],
    [" * ", "*"],
    ['"a"', [{ weak: false, opaque: "a" }]],
    [
      '"a", W/"b"',
      [
        { weak: false, opaque: "a" },
        { weak: true, opaque: "b" },
      ],
    ],
    [
      ', "a" ,\t, "",',
      [
        { weak: false, opaque: "a" },
        { weak: false, opaque: "" },
      ],
    ],
    ["", undefined],
    [",,", undefined],
    ['"a" "b"', undefined],
    ['"a",b', undefined],
    ['"a', undefined],
    ['W/ "a"', undefined],
    ['"a b"', undefined],
    ["**", undefined],
    ['*, "a"', undefined],
  ];
  for (const [input, expected] of table) {
    it(`reads ${JSON.stringify(input)}`, () => assert.deepEqual(parseETagList(input), expected));
  }
});

describe("parseHttpDate", () => {
  const table: [string, string, number | undefined][] = [
    ["reads an IMF-fixdate", HTTP_T, T],
    ["reads an RFC 850 date", "Sunday, 06-Nov-94 08:49:37 GMT", T],
    ["reads an asctime date", "Sun Nov  6 08:49:37 1994", T],
    [
      "reads an asctime date with a two-digit day",
      "Thu Nov 10 08:49:37 1994",
      Date.UTC(1994, 10, 10, 8, 49, 37),
    ],
    ["reads the epoch", "Thu, 01 Jan 1970 00:00:00 GMT", 0],
    [
      "reads 29 February of a leap year",
      "Tue, 29 Feb 2000 12:00:00 GMT",
      Date.UTC(2000, 1, 29, 12),
    ],
    ["reads a year before 100", "Mon, 01 Jan 0001 00:00:00 GMT", -62135596800000],
    [
      "reads a leap second as the next minute",
      "Sat, 31 Dec 2016 23:59:60 GMT",
      Date.UTC(2017, 0, 1),
    ],
    ["trims surrounding whitespace", ` ${HTTP_T}\t`, T],
    ["ignores a day name that disagrees with the date", "Mon, 06 Nov 1994 08:49:37 GMT", T],
    ["refuses 29 February of 1900", "Thu, 29 Feb 1900 00:00:00 GMT", undefined],
    ["refuses 31 April", "Thu, 31 Apr 2020 00:00:00 GMT", undefined],
    ["refuses day 00", "Thu, 00 Apr 2020 00:00:00 GMT", undefined],
    ["refuses hour 24", "Sun, 06 Nov 1994 24:00:00 GMT", undefined],
    ["refuses minute 60", "Sun, 06 Nov 1994 08:60:00 GMT", undefined],
    ["refuses second 61", "Sun, 06 Nov 1994 08:49:61 GMT", undefined],
    ["refuses a lower-case month", "Sun, 06 nov 1994 08:49:37 GMT", undefined],
    ["refuses a lower-case day name", "sun, 06 Nov 1994 08:49:37 GMT", undefined],
    ["refuses UTC for GMT", "Sun, 06 Nov 1994 08:49:37 UTC", undefined],
    ["refuses a numeric zone", "Sun, 06 Nov 1994 08:49:37 +0000", undefined],
    ["refuses a one-digit day in IMF-fixdate", "Sun, 6 Nov 1994 08:49:37 GMT", undefined],
    ["refuses a signed number", "Sun, +6 Nov 1994 08:49:37 GMT", undefined],
    ["refuses a missing day name", "06 Nov 1994 08:49:37 GMT", undefined],
    ["refuses an ISO date", "1994-11-06T08:49:37Z", undefined],
    ["refuses an RFC 850 date with a short day name", "Sun, 06-Nov-94 08:49:37 GMT", undefined],
    [
      "refuses an RFC 850 date with a four-digit year",
      "Sunday, 06-Nov-1994 08:49:37 GMT",
      undefined,
    ],
    ["refuses an asctime date with a zone", "Sun Nov  6 08:49:37 1994 GMT", undefined],
    [
      "refuses an asctime date with a one-digit day and no pad",
      "Sun Nov 6 08:49:37 1994 ",
      undefined,
    ],
    ["refuses a number", "784111777", undefined],
    ["refuses an empty string", "", undefined],
    ["refuses what Date.parse would take", "November 6, 1994", undefined],
  ];
  for (const [name, input, expected] of table) {
    it(name, () => assert.equal(parseHttpDate(input), expected));
  }

  it("places a two-digit year within 50 years of now", () => {
    const now = Date.UTC(2025, 0, 1);
    assert.equal(parseHttpDate("Friday, 01-Jan-75 00:00:00 GMT", now), Date.UTC(2075, 0, 1));
    assert.equal(parseHttpDate("Saturday, 01-Jan-76 00:00:00 GMT", now), Date.UTC(1976, 0, 1));
    assert.equal(parseHttpDate("Saturday, 01-Jan-00 00:00:00 GMT", now), Date.UTC(2000, 0, 1));
    const later = Date.UTC(2090, 0, 1);
    assert.equal(parseHttpDate("Saturday, 01-Jan-00 00:00:00 GMT", later), Date.UTC(2100, 0, 1));
  });
});

describe("formatHttpDate", () => {
  it("writes an IMF-fixdate", () => assert.equal(formatHttpDate(T), HTTP_T));
  it("drops the fraction of a second", () => assert.equal(formatHttpDate(T + 999.9), HTTP_T));
  it("pads small years", () => {
    const ms = new Date(0).setUTCFullYear(5, 0, 1);
    assert.equal(formatHttpDate(ms), "Sat, 01 Jan 0005 00:00:00 GMT");
  });
  it("round-trips through parseHttpDate", () => {
    for (let ms = -5e12; ms < 5e12; ms += 123456789123) {
      const whole = Math.floor(ms / 1000) * 1000;
      assert.equal(parseHttpDate(formatHttpDate(ms)), whole);
    }
  });
  it("refuses a time that is not a number", () =>
    assert.throws(() => formatHttpDate(Number.NaN), RangeError));
  it("refuses a year past 9999", () =>
    assert.throws(() => formatHttpDate(Date.UTC(10000, 0, 1)), RangeError));
});
