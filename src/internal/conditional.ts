import { type EntityTag, isETagChar, parseEntityTag } from "./etag.ts";

/**
 * The validators of the selected representation (RFC 9110 §8.8): its `ETag` field value, quotes
 * included, and its modification time. Either may be missing.
 *
 * @example
 * const v: Validators = { etag: '"2a-3e8-17979cfe362a0000"', lastModified: stat.mtimeMs };
 */
export type Validators = { etag?: string; lastModified?: Date | number };

/**
 * Anything with a case-insensitive `get`, such as a web `Headers`.
 *
 * @example
 * const headers: HeaderLookup = new Headers({ "if-none-match": '"abc"' });
 */
export type HeaderLookup = { get(name: string): string | null | undefined };

/**
 * Evaluates the conditional request headers in the order of RFC 9110 §13.2.2 and says which status
 * to answer: 200 to go on (ranges and all), 304 Not Modified, or 412 Precondition Failed.
 *
 * Call it only when the representation exists (a `*` matches it). Comparisons of dates are made at
 * whole seconds, the resolution of an HTTP-date, so a sub-second modification time equals the
 * `Last-Modified` it was sent as. A header whose value is empty is treated as absent; an entity-tag
 * list with any malformed member matches nothing; an invalid date is ignored (RFC 9110 §13.1.3,
 * §13.1.4). The method is compared case-sensitively (RFC 9110 §9.1).
 *
 * @example
 * evaluatePreconditions("GET", new Headers({ "if-none-match": '"a"' }), { etag: '"a"' }); // 304
 */
export function evaluatePreconditions(
  method: string,
  headers: HeaderLookup,
  v: Validators,
): 200 | 304 | 412 {
  const etag = v.etag === undefined ? undefined : parseEntityTag(v.etag);
  const modified = wholeSeconds(v.lastModified);
  const safe = method === "GET" || method === "HEAD";

  // Step 1 and 2: If-Match, or else If-Unmodified-Since (RFC 9110 §13.2.2).
  const ifMatch = fieldValue(headers, "if-match");
  if (ifMatch !== undefined) {
    if (!listMatches(ifMatch, etag, strongMatch)) return 412;
  } else {
    const ifUnmodifiedSince = fieldValue(headers, "if-unmodified-since");
    if (ifUnmodifiedSince !== undefined && modified !== undefined) {
      const date = parseHttpDate(ifUnmodifiedSince);
      if (date !== undefined && modified > date) return 412;
    }
  }

  // Step 3 and 4: If-None-Match, or else If-Modified-Since for GET and HEAD (RFC 9110 §13.2.2).
  const ifNoneMatch = fieldValue(headers, "if-none-match");
  if (ifNoneMatch !== undefined) {
    if (listMatches(ifNoneMatch, etag, weakMatch)) return safe ? 304 : 412;
  } else if (safe) {
    const ifModifiedSince = fieldValue(headers, "if-modified-since");
    if (ifModifiedSince !== undefined && modified !== undefined) {
      const date = parseHttpDate(ifModifiedSince);
      if (date !== undefined && modified <= date) return 304;
    }
  }
  return 200;
}

/**
 * Whether an `If-Range` value lets the `Range` header apply (RFC 9110 §13.1.5); when false, send the
 * whole representation with 200. Absent or empty: true. An entity tag: true only for a strong tag
 * equal to a strong `etag`. An HTTP-date: true only when it equals `lastModified` at whole seconds.
 * Anything else: false. The caller evaluates it only when a Range header is present.
 *
 * @example
 * ifRangeAllowsRange('"abc"', { etag: '"abc"' }); // true
 * ifRangeAllowsRange('W/"abc"', { etag: 'W/"abc"' }); // false
 */
export function ifRangeAllowsRange(ifRange: string | undefined, v: Validators): boolean {
  if (ifRange === undefined) return true;
  const value = trimOws(ifRange);
  if (value === "") return true;
  if (value.startsWith('"') || value.startsWith("W/")) {
    const tag = parseEntityTag(value);
    const etag = v.etag === undefined ? undefined : parseEntityTag(v.etag);
    return tag !== undefined && etag !== undefined && strongMatch(tag, etag);
  }
  const date = parseHttpDate(value);
  const modified = wholeSeconds(v.lastModified);
  return date !== undefined && modified !== undefined && date === modified;
}

/**
 * Parses an `If-Match` or `If-None-Match` value (RFC 9110 §13.1.1): `"*"`, a list of entity tags,
 * or `undefined` when the value is malformed anywhere. Empty list elements are allowed
 * (RFC 9110 §5.6.1.2). Linear in the value's length.
 *
 * @example
 * parseETagList('"a", W/"b"'); // [{ weak: false, opaque: "a" }, { weak: true, opaque: "b" }]
 * parseETagList("*"); // "*"
 * parseETagList('"a", b'); // undefined
 */
export function parseETagList(value: string): "*" | EntityTag[] | undefined {
  const text = trimOws(value);
  if (text === "*") return "*";
  const tags: EntityTag[] = [];
  const end = text.length;
  let i = 0;
  for (;;) {
    while (i < end && isOws(text.charCodeAt(i))) i++;
    if (i === end) break;
    if (text.charCodeAt(i) === COMMA) {
      i++;
      continue;
    }
    const weak = text.startsWith("W/", i);
    if (weak) i += 2;
    if (text.charCodeAt(i) !== QUOTE) return undefined;
    const open = ++i;
    while (i < end && isETagChar(text.charCodeAt(i))) i++;
    if (i === end || text.charCodeAt(i) !== QUOTE) return undefined;
    tags.push({ weak, opaque: text.slice(open, i) });
    i++;
    while (i < end && isOws(text.charCodeAt(i))) i++;
    if (i === end) break;
    if (text.charCodeAt(i) !== COMMA) return undefined;
    i++;
  }
  return tags.length === 0 ? undefined : tags;
}

/**
 * Parses an HTTP-date (RFC 9110 §5.6.7) to milliseconds since the epoch: IMF-fixdate, and the
 * obsolete RFC 850 and asctime forms. Anything else, including impossible dates such as 31 Feb,
 * is `undefined`. The day name is checked for spelling but not against the date. A two-digit RFC
 * 850 year is placed within 50 years of `now` (default: the current time, read only for that form).
 *
 * @example
 * parseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT"); // 784111777000
 * parseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT"); // 784111777000
 * parseHttpDate("Sun Nov  6 08:49:37 1994"); // 784111777000
 * parseHttpDate("yesterday"); // undefined
 */
export function parseHttpDate(value: string, now?: number): number | undefined {
  const s = trimOws(value);
  if (s.length === 29 && s.charCodeAt(3) === COMMA) return imfFixdate(s);
  if (s.length === 24 && s.charCodeAt(3) === SPACE) return asctimeDate(s);
  return rfc850Date(s, now);
}

/**
 * Formats milliseconds since the epoch as an IMF-fixdate (RFC 9110 §5.6.7), dropping the fraction
 * of a second. Throws a RangeError for a time outside the years 0000 to 9999.
 *
 * @example
 * formatHttpDate(784111777000); // "Sun, 06 Nov 1994 08:49:37 GMT"
 */
export function formatHttpDate(ms: number): string {
  const date = new Date(Math.floor(ms / 1000) * 1000);
  const year = date.getUTCFullYear();
  if (!Number.isFinite(ms) || Number.isNaN(year) || year < 0 || year > 9999) {
    throw new RangeError(`Time cannot be an HTTP-date: ${ms}`);
  }
  return (
    `${DAYS[date.getUTCDay()]}, ${pad(date.getUTCDate(), 2)} ${MONTHS[date.getUTCMonth()]} ` +
    `${pad(year, 4)} ${pad(date.getUTCHours(), 2)}:${pad(date.getUTCMinutes(), 2)}:` +
    `${pad(date.getUTCSeconds(), 2)} GMT`
  );
}

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const LONG_DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const COMMA = 0x2c;
const QUOTE = 0x22;
const SPACE = 0x20;

function fieldValue(headers: HeaderLookup, name: string): string | undefined {
  const raw = headers.get(name);
  if (raw === null || raw === undefined) return undefined;
  const value = trimOws(raw);
  return value === "" ? undefined : value;
}

/** `*` stands for any current representation, which the caller guarantees exists. */
function listMatches(
  value: string,
  etag: EntityTag | undefined,
  match: (a: EntityTag, b: EntityTag) => boolean,
): boolean {
  const list = parseETagList(value);
  if (list === "*") return true;
  if (list === undefined || etag === undefined) return false;
  return list.some((tag) => match(tag, etag));
}

/** RFC 9110 §8.8.3.2: both strong and character for character equal. */
function strongMatch(a: EntityTag, b: EntityTag): boolean {
  return !a.weak && !b.weak && a.opaque === b.opaque;
}

/** RFC 9110 §8.8.3.2: equal opaque tags, either or both may be weak. */
function weakMatch(a: EntityTag, b: EntityTag): boolean {
  return a.opaque === b.opaque;
}

/** An HTTP-date has whole seconds, so the mtime it was made from compares at that resolution. */
function wholeSeconds(value: Date | number | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = typeof value === "number" ? value : value.getTime();
  return Number.isFinite(ms) ? Math.floor(ms / 1000) * 1000 : undefined;
}

function isOws(code: number): boolean {
  return code === SPACE || code === 0x09;
}

function trimOws(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && isOws(value.charCodeAt(start))) start++;
  while (end > start && isOws(value.charCodeAt(end - 1))) end--;
  return start === 0 && end === value.length ? value : value.slice(start, end);
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}

/** `Sun, 06 Nov 1994 08:49:37 GMT` */
function imfFixdate(s: string): number | undefined {
  if (!DAYS.includes(s.slice(0, 3)) || s[4] !== " " || s[7] !== " " || s[11] !== " ") {
    return undefined;
  }
  if (s[16] !== " " || !s.endsWith(" GMT")) return undefined;
  return build(digits(s, 12, 4), s.slice(8, 11), digits(s, 5, 2), s.slice(17, 25));
}

/** `Sun Nov  6 08:49:37 1994`: the day is two digits or a space and a digit. */
function asctimeDate(s: string): number | undefined {
  if (!DAYS.includes(s.slice(0, 3)) || s[7] !== " " || s[10] !== " " || s[19] !== " ") {
    return undefined;
  }
  const day = s[8] === " " ? digits(s, 9, 1) : digits(s, 8, 2);
  return build(digits(s, 20, 4), s.slice(4, 7), day, s.slice(11, 19));
}

/** `Sunday, 06-Nov-94 08:49:37 GMT` */
function rfc850Date(s: string, now: number | undefined): number | undefined {
  const comma = s.indexOf(",");
  if (comma < 6 || comma > 9 || !LONG_DAYS.includes(s.slice(0, comma))) return undefined;
  const rest = s.slice(comma);
  if (rest.length !== 24 || rest[1] !== " " || rest[4] !== "-" || rest[8] !== "-") return undefined;
  if (rest[11] !== " " || !rest.endsWith(" GMT")) return undefined;
  const yy = digits(rest, 9, 2);
  if (yy === undefined) return undefined;
  // RFC 9110 §5.6.7: a two-digit year more than 50 years ahead is the most recent such year past.
  const current = new Date(now ?? Date.now()).getUTCFullYear();
  let year = current - ((((current - yy) % 100) + 100) % 100);
  if (year + 100 <= current + 50) year += 100;
  return build(year, rest.slice(5, 8), digits(rest, 2, 2), rest.slice(12, 20));
}

function build(
  year: number | undefined,
  monthName: string,
  day: number | undefined,
  time: string,
): number | undefined {
  const month = MONTHS.indexOf(monthName);
  if (year === undefined || month < 0 || day === undefined) return undefined;
  if (day < 1 || day > daysInMonth(year, month)) return undefined;
  if (time[2] !== ":" || time[5] !== ":") return undefined;
  const hour = digits(time, 0, 2);
  const minute = digits(time, 3, 2);
  const second = digits(time, 6, 2);
  if (hour === undefined || minute === undefined || second === undefined) return undefined;
  // time-of-day allows a leap second, 60 (RFC 9110 §5.6.7); it reads as the next minute's first.
  if (hour > 23 || minute > 59 || second > 60) return undefined;
  return (daysFromCivil(year, month + 1, day) * 86400 + hour * 3600 + minute * 60 + second) * 1000;
}

function digits(s: string, from: number, count: number): number | undefined {
  let value = 0;
  for (let i = from; i < from + count; i++) {
    const code = s.charCodeAt(i);
    if (!(code >= 0x30 && code <= 0x39)) return undefined;
    value = value * 10 + (code - 0x30);
  }
  return value;
}

function daysInMonth(year: number, month: number): number {
  if (month === 1) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month]!;
}

/** Days since 1970-01-01 of a proleptic Gregorian date, without Date's 0–99 year quirk. */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra =
    yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146097 + dayOfEra - 719468;
}
