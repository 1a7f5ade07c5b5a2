import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type ByteRange,
  contentRange,
  MAX_RANGE_PARTS,
  MAX_RANGE_SPECS,
  parseRange,
  type RangeResult,
  unsatisfiedRange,
} from "./range.ts";

const full: RangeResult = { kind: "full" };
const unsatisfiable: RangeResult = { kind: "unsatisfiable" };
const ranges = (...list: [number, number][]): RangeResult => ({
  kind: "ranges",
  ranges: list.map(([start, end]): ByteRange => ({ start, end })),
});

describe("parseRange", () => {
  const table: [string, string | undefined, number, RangeResult][] = [
    ["serves everything when there is no header", undefined, 1000, full],
    ["reads a closed range", "bytes=0-99", 1000, ranges([0, 99])],
    ["reads a one-byte range", "bytes=5-5", 1000, ranges([5, 5])],
    ["reads an open range to the end", "bytes=900-", 1000, ranges([900, 999])],
    ["reads bytes=0- as the whole file in one part", "bytes=0-", 1000, ranges([0, 999])],
    ["reads a suffix range", "bytes=-100", 1000, ranges([900, 999])],
    ["clips a suffix longer than the file", "bytes=-5000", 1000, ranges([0, 999])],
    ["clips last-pos to the last byte", "bytes=990-5000", 1000, ranges([990, 999])],
    ["reads the last byte", "bytes=999-999", 1000, ranges([999, 999])],
    ["accepts the unit in any case", "Bytes=0-1", 1000, ranges([0, 1])],
    ["accepts BYTES too", "BYTES=0-1", 1000, ranges([0, 1])],
    ["accepts leading zeros", "bytes=000-001", 1000, ranges([0, 1])],
    ["trims whitespace around the field value", " \tbytes=0-1\t ", 1000, ranges([0, 1])],
    ["keeps two distant ranges apart", "bytes=0-9,500-509", 1000, ranges([0, 9], [500, 509])],
    ["allows whitespace around commas", "bytes=0-9 ,\t500-509", 1000, ranges([0, 9], [500, 509])],
    ["tolerates empty list elements", "bytes=,0-9,,500-509,", 1000, ranges([0, 9], [500, 509])],
    ["keeps the request order of parts", "bytes=500-509,0-9", 1000, ranges([500, 509], [0, 9])],
    ["merges overlapping ranges", "bytes=0-50,40-99", 1000, ranges([0, 99])],
    ["merges adjacent ranges", "bytes=0-49,50-99", 1000, ranges([0, 99])],
    ["merges ranges less than 80 bytes apart", "bytes=0-9,89-99", 1000, ranges([0, 99])],
    ["keeps ranges 80 bytes apart", "bytes=0-9,90-99", 1000, ranges([0, 9], [90, 99])],
    ["merges a range inside another", "bytes=0-999,10-20", 1000, ranges([0, 999])],
    ["merges out-of-order overlaps", "bytes=500-599,0-9,550-700", 1000, ranges([500, 700], [0, 9])],
    ["merges a suffix with an int-range", "bytes=0-10,-10", 20, ranges([0, 19])],
    ["merges duplicates", "bytes=0-9,0-9,0-9", 1000, ranges([0, 9])],
    ["drops unsatisfiable specs", "bytes=0-9,2000-3000", 1000, ranges([0, 9])],
    ["drops a zero suffix beside a good range", "bytes=-0,0-9", 1000, ranges([0, 9])],
    ["refuses a first-pos at the size", "bytes=1000-", 1000, unsatisfiable],
    ["refuses a first-pos past the size", "bytes=2000-3000", 1000, unsatisfiable],
    ["refuses a zero-length suffix", "bytes=-0", 1000, unsatisfiable],
    ["refuses when no spec is satisfiable", "bytes=1000-,-0", 1000, unsatisfiable],
    ["refuses a huge first-pos", "bytes=99999999999999999999999-", 1000, unsatisfiable],
    ["clips a huge last-pos", "bytes=1-99999999999999999999999", 1000, ranges([1, 999])],
    ["refuses an int-range on an empty file", "bytes=0-", 0, unsatisfiable],
    ["refuses a zero suffix on an empty file", "bytes=-0", 0, unsatisfiable],
    ["serves an empty file whole for a suffix range", "bytes=-10", 0, full],
    ["serves an empty file whole for a mixed set", "bytes=0-5,-10", 0, full],
    ["ignores an unknown unit", "items=0-1", 1000, full],
    ["ignores a unit without =", "bytes 0-1", 1000, full],
    ["ignores whitespace around =", "bytes = 0-1", 1000, full],
    ["ignores a unit that only starts with bytes", "bytesx=0-1", 1000, full],
    ["ignores an empty set", "bytes=", 1000, full],
    ["ignores a set of only commas", "bytes=, ,", 1000, full],
    ["ignores a reversed range", "bytes=10-5", 1000, full],
    ["ignores a reversed range among good ones", "bytes=0-1,10-5", 1000, full],
    ["ignores a lone dash", "bytes=-", 1000, full],
    ["ignores a missing dash", "bytes=5", 1000, full],
    ["ignores a negative number", "bytes=--5", 1000, full],
    ["ignores a trailing garbage", "bytes=0-1x", 1000, full],
    ["ignores whitespace inside a spec", "bytes=0 -1", 1000, full],
    ["ignores a plus sign", "bytes=+0-1", 1000, full],
    ["ignores a decimal point", "bytes=0.5-1", 1000, full],
    ["ignores a missing comma", "bytes=0-1 5-6", 1000, full],
    ["ignores non-ASCII digits", "bytes=٠-١", 1000, full],
    ["ignores a syntax error even when nothing is satisfiable", "bytes=2000-,x", 1000, full],
    ["serves everything for an invalid size", "bytes=0-1", -1, full],
  ];
  for (const [name, header, size, expected] of table) {
    it(name, () => assert.deepEqual(parseRange(header, size), expected));
  }

  it(`accepts ${MAX_RANGE_SPECS} range-specs`, () => {
    const header = `bytes=${Array.from({ length: MAX_RANGE_SPECS }, () => "0-0").join(",")}`;
    assert.deepEqual(parseRange(header, 1000), ranges([0, 0]));
  });

  it(`serves everything for more than ${MAX_RANGE_SPECS} range-specs`, () => {
    const header = `bytes=${Array.from({ length: MAX_RANGE_SPECS + 1 }, () => "0-0").join(",")}`;
    assert.deepEqual(parseRange(header, 1000), full);
  });

  it("counts empty list elements towards the limit", () => {
    assert.deepEqual(parseRange(`bytes=0-0${",".repeat(MAX_RANGE_SPECS + 1)}`, 1000), full);
  });

  it(`returns ${MAX_RANGE_PARTS} distant parts`, () => {
    const list = Array.from({ length: MAX_RANGE_PARTS }, (_, n): [number, number] => [
      n * 1000,
      n * 1000,
    ]);
    const header = `bytes=${list.map(([a, b]) => `${a}-${b}`).join(",")}`;
    assert.deepEqual(parseRange(header, 100_000), ranges(...list));
  });

  it(`serves everything for more than ${MAX_RANGE_PARTS} distant parts`, () => {
    const header = `bytes=${Array.from({ length: MAX_RANGE_PARTS + 1 }, (_, n) => `${n * 1000}-${n * 1000}`).join(",")}`;
    assert.deepEqual(parseRange(header, 100_000), full);
  });

  it("never returns more bytes than the file holds, however many overlaps", () => {
    const header = `bytes=${Array.from({ length: MAX_RANGE_SPECS }, (_, n) => `${n}-`).join(",")}`;
    const result = parseRange(header, 1000);
    assert.deepEqual(result, ranges([0, 999]));
  });

  it("never returns overlapping parts for random sets", () => {
    let seed = 42;
    const random = (limit: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % limit;
    };
    for (let round = 0; round < 500; round++) {
      const size = 1 + random(5000);
      const specs = Array.from({ length: 1 + random(20) }, () => {
        const a = random(size + 10);
        return random(3) === 0 ? `-${random(size)}` : `${a}-${a + random(300)}`;
      });
      const result = parseRange(`bytes=${specs.join(",")}`, size);
      if (result.kind !== "ranges") continue;
      const sorted = result.ranges.slice().sort((x, y) => x.start - y.start);
      let total = 0;
      for (let k = 0; k < sorted.length; k++) {
        const r = sorted[k]!;
        assert.ok(r.start >= 0 && r.start <= r.end && r.end < size, specs.join(","));
        if (k > 0) assert.ok(r.start > sorted[k - 1]!.end + 80, specs.join(","));
        total += r.end - r.start + 1;
      }
      assert.ok(total <= size);
    }
  });

  it("returns full for a one-megabyte hostile header", () => {
    const hostile = `bytes=${"0".repeat(1 << 20)}`;
    assert.deepEqual(parseRange(hostile, 1000), full);
    const commas = `bytes=0-0${", ".repeat(1 << 19)}`;
    assert.deepEqual(parseRange(commas, 1000), full);
    const specs = `bytes=${"1-2,".repeat(1 << 18)}`;
    assert.deepEqual(parseRange(specs, 1000), full);
  });
});

describe("contentRange", () => {
  it("formats a satisfied range", () => {
    assert.equal(contentRange({ start: 0, end: 99 }, 1000), "bytes 0-99/1000");
  });

  it("formats the range parseRange returns", () => {
    const result = parseRange("bytes=-1", 1000);
    assert.equal(result.kind, "ranges");
    if (result.kind === "ranges")
      assert.equal(contentRange(result.ranges[0]!, 1000), "bytes 999-999/1000");
  });
});

describe("unsatisfiedRange", () => {
  it("formats the 416 Content-Range", () => {
    assert.equal(unsatisfiedRange(1000), "bytes */1000");
    assert.equal(unsatisfiedRange(0), "bytes */0");
  });
});
