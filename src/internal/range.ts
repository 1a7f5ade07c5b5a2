/**
 * One byte range of a representation, both ends inclusive, as in `Content-Range: bytes 0-99/1000`.
 *
 * @example
 * const firstHundred: ByteRange = { start: 0, end: 99 };
 */
export type ByteRange = { start: number; end: number };

/**
 * What a `Range` header asks of a representation of a known size.
 *
 * - `full`: ignore the header and send the whole representation with 200.
 * - `unsatisfiable`: answer 416 with `Content-Range: bytes *\/size` (see {@link unsatisfiedRange}).
 * - `ranges`: answer 206; one range is a single-part response, more is `multipart/byteranges`.
 *
 * @example
 * const result: RangeResult = { kind: "ranges", ranges: [{ start: 0, end: 99 }] };
 */
export type RangeResult =
  | { kind: "full" }
  | { kind: "unsatisfiable" }
  | { kind: "ranges"; ranges: ByteRange[] };

/** More range-specs than this in one header is a denial-of-service signal (RFC 9110 §14.2). */
export const MAX_RANGE_SPECS = 100;

/** More parts than this after coalescing costs more in framing than it saves; send it all. */
export const MAX_RANGE_PARTS = 16;

/**
 * Ranges closer than this are merged: a part's framing (boundary, Content-Type, Content-Range) is
 * about this long, so sending the gap is no dearer than a new part (RFC 9110 §14.2).
 */
export const RANGE_COALESCE_GAP = 80;

const FULL: RangeResult = { kind: "full" };
const UNSATISFIABLE: RangeResult = { kind: "unsatisfiable" };

type Spec = { start: number; end: number; order: number };

/**
 * Parses a `Range` request header against a representation of `size` bytes (RFC 9110 §14.1.1,
 * §14.2). Never throws; linear in the header's length.
 *
 * Anything the server may ignore becomes `full`: an absent header, a unit other than `bytes`, any
 * syntactically invalid range-spec (including `last-pos < first-pos`), more than
 * {@link MAX_RANGE_SPECS} list elements, or more than {@link MAX_RANGE_PARTS} ranges left after
 * coalescing. Ranges that overlap, touch, or lie less than {@link RANGE_COALESCE_GAP} bytes apart
 * are merged, so the ranges returned never overlap and never add up to more than `size` bytes;
 * they keep the order in which the client first asked for them (RFC 9110 §14.6).
 *
 * A zero-length representation has no satisfiable int-range; a non-zero suffix-range is
 * satisfiable but selects no bytes, which no Content-Range can express, so the result is `full`
 * (an empty 200). The caller must apply this only to GET (RFC 9110 §14.2).
 *
 * @example
 * parseRange("bytes=0-99", 1000); // { kind: "ranges", ranges: [{ start: 0, end: 99 }] }
 * parseRange("bytes=2000-", 1000); // { kind: "unsatisfiable" }
 * parseRange("items=0-1", 1000); // { kind: "full" }
 */
export function parseRange(header: string | undefined, size: number): RangeResult {
  if (header === undefined || !Number.isSafeInteger(size) || size < 0) return FULL;
  const text = header;
  let i = 0;
  let end = text.length;
  while (i < end && isOws(text.charCodeAt(i))) i++;
  while (end > i && isOws(text.charCodeAt(end - 1))) end--;

  // range-unit is a case-insensitive token, and no whitespace is allowed around "=" (RFC 9110 §14.1).
  if (end - i < 6 || text.slice(i, i + 6).toLowerCase() !== "bytes=") return FULL;
  i += 6;

  const specs: Spec[] = [];
  let elements = 0;
  let emptyOnly = true;
  let anyEmptySatisfiable = false;
  for (;;) {
    while (i < end && isOws(text.charCodeAt(i))) i++;
    if (i === end) break;
    // Empty list elements are tolerated, but count towards the limit (RFC 9110 §5.6.1.2).
    if (++elements > MAX_RANGE_SPECS) return FULL;
    if (text.charCodeAt(i) === COMMA) {
      i++;
      continue;
    }

    let first: number | undefined;
    let last: number | undefined;
    if (text.charCodeAt(i) === DASH) {
      i++;
      const digits = scanDigits(text, i, end);
      if (digits === i) return FULL;
      const suffix = toNumber(text, i, digits);
      i = digits;
      // A suffix-range is satisfiable when its length is non-zero (RFC 9110 §14.1.1).
      if (suffix > 0) {
        if (size === 0) anyEmptySatisfiable = true;
        else {
          first = size - Math.min(suffix, size);
          last = size - 1;
        }
      }
    } else {
      const digits = scanDigits(text, i, end);
      if (digits === i) return FULL;
      const from = toNumber(text, i, digits);
      i = digits;
      if (i === end || text.charCodeAt(i) !== DASH) return FULL;
      i++;
      const lastDigits = scanDigits(text, i, end);
      let to = Number.POSITIVE_INFINITY;
      if (lastDigits !== i) {
        to = toNumber(text, i, lastDigits);
        // An int-range whose last-pos is below its first-pos is invalid (RFC 9110 §14.1.1).
        if (to < from) return FULL;
        i = lastDigits;
      }
      // An int-range is satisfiable when first-pos is below the length (RFC 9110 §14.1.1).
      if (from < size) {
        first = from;
        last = Math.min(to, size - 1);
      }
    }
    emptyOnly = false;
    if (first !== undefined && last !== undefined) {
      specs.push({ start: first, end: last, order: specs.length });
    }

    while (i < end && isOws(text.charCodeAt(i))) i++;
    if (i === end) break;
    if (text.charCodeAt(i) !== COMMA) return FULL;
    i++;
  }

  // range-set is 1#range-spec: a list of nothing but empty elements is invalid.
  if (emptyOnly) return FULL;
  if (specs.length === 0) return anyEmptySatisfiable ? FULL : UNSATISFIABLE;

  const merged = coalesce(specs);
  if (merged.length > MAX_RANGE_PARTS) return FULL;
  return { kind: "ranges", ranges: merged };
}

/**
 * The `Content-Range` value of a 206 part (RFC 9110 §14.4).
 *
 * @example
 * contentRange({ start: 0, end: 99 }, 1000); // "bytes 0-99/1000"
 */
export function contentRange(range: ByteRange, size: number): string {
  return `bytes ${range.start}-${range.end}/${size}`;
}

/**
 * The `Content-Range` value of a 416 response (RFC 9110 §14.4, §15.5.17).
 *
 * @example
 * unsatisfiedRange(1000); // "bytes *\/1000"
 */
export function unsatisfiedRange(size: number): string {
  return `bytes */${size}`;
}

const COMMA = 0x2c;
const DASH = 0x2d;

function isOws(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

function scanDigits(text: string, from: number, end: number): number {
  let i = from;
  while (i < end) {
    const code = text.charCodeAt(i);
    if (code < 0x30 || code > 0x39) break;
    i++;
  }
  return i;
}

/** Digits beyond the safe-integer range become Infinity, so comparisons with sizes stay exact. */
function toNumber(text: string, from: number, to: number): number {
  let i = from;
  while (i < to - 1 && text.charCodeAt(i) === 0x30) i++;
  if (to - i > 16) return Number.POSITIVE_INFINITY;
  const value = Number(text.slice(i, to));
  return value > Number.MAX_SAFE_INTEGER ? Number.POSITIVE_INFINITY : value;
}

/**
 * Merges overlapping, adjacent and nearly adjacent ranges, which RFC 9110 §14.2 permits regardless
 * of request order, then restores the request order of the survivors (RFC 9110 §14.6).
 */
function coalesce(specs: Spec[]): ByteRange[] {
  const sorted = specs.slice().sort((a, b) => a.start - b.start || a.order - b.order);
  const groups: Spec[] = [];
  for (const spec of sorted) {
    const previous = groups[groups.length - 1];
    if (previous !== undefined && spec.start - previous.end - 1 < RANGE_COALESCE_GAP) {
      previous.end = Math.max(previous.end, spec.end);
      previous.order = Math.min(previous.order, spec.order);
    } else {
      groups.push({ ...spec });
    }
  }
  groups.sort((a, b) => a.order - b.order);
  return groups.map(({ start, end }) => ({ start, end }));
}
