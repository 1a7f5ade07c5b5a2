/**
 * The one reading of a request path into segments, shared by everything that decides by path
 * segments: middleware scoped to a prefix and the static file server. A guard and the file server
 * can never disagree about which path a request names, because they read it with this function.
 */

/**
 * The outcome of {@link decodePath}: the decoded segments, or the status to answer and why.
 *
 * @example
 * const result: DecodedPath = { ok: true, segments: ["docs", "a b.txt"], trailingSlash: false };
 */
export type DecodedPath =
  | { ok: true; segments: string[]; trailingSlash: boolean }
  | { ok: false; status: 400 | 403 | 414; reason: string };

/** Default longest raw path accepted, in characters. */
export const MAX_PATH_LENGTH = 4096;

/** Most segments accepted in one path. */
export const MAX_PATH_SEGMENTS = 64;

/**
 * Turns a percent-encoded URL path (no query string) into the segments a file system would see, or
 * says which status to answer.
 *
 * Raw `/` splits segments; each segment is then percent-decoded exactly once as UTF-8, so `%2F`
 * cannot make a new separator and `%252e%252e` stays the literal name `%2e%2e`. Empty segments
 * (`//`, a leading `/`) are dropped, so `/a//b` is `["a", "b"]`; a final `/` sets `trailingSlash`.
 *
 * - 414: longer than `maxLength` (default {@link MAX_PATH_LENGTH}) raw characters, or more than
 *   {@link MAX_PATH_SEGMENTS} segments.
 * - 400: a malformed `%` escape, bytes that are not UTF-8, or a control character (NUL included)
 *   raw or decoded.
 * - 403: a segment that is `.` or `..`, contains `/` or `\` once decoded, or starts with a drive
 *   letter (`C:`); these only come from clients trying to leave a directory, since browsers
 *   resolve dot segments before sending (RFC 3986 §5.2.4).
 *
 * @example
 * decodePath("/docs/a%20b.txt"); // { ok: true, segments: ["docs", "a b.txt"], trailingSlash: false }
 * decodePath("/%2e%2e/etc/passwd"); // { ok: false, status: 403, reason: "dot segment in path" }
 */
export function decodePath(rawPath: string, opts?: { maxLength?: number }): DecodedPath {
  const read = readSegments(rawPath, opts?.maxLength);
  if (read.refused !== undefined) return read.refused;
  return { ok: true, segments: read.segments, trailingSlash: rawPath.endsWith("/") };
}

/**
 * A path read for matching against middleware prefixes: the segments `decodePath` accepts, in
 * order, up to the first it refuses (then `refused` says why). A guard must never be skipped for a
 * path the file server would read differently, so a refused segment counts as matching any prefix
 * segment at its place (see `underPrefix`); segments after it are not read at all.
 *
 * @example
 * readSegments("/static/..%2Fprivate"); // { segments: ["static"], refused: { ok: false, status: 403, ... } }
 */
export function readSegments(
  rawPath: string,
  maxLength = MAX_PATH_LENGTH,
): { segments: string[]; refused?: Extract<DecodedPath, { ok: false }> } {
  const segments: string[] = [];
  if (rawPath.length > maxLength) return { segments, refused: fail(414, "path too long") };
  for (const raw of rawPath.split("/")) {
    if (raw === "") continue;
    if (segments.length === MAX_PATH_SEGMENTS)
      return { segments, refused: fail(414, "too many path segments") };
    let segment = raw;
    if (raw.includes("%")) {
      try {
        segment = decodeURIComponent(raw);
      } catch {
        return { segments, refused: fail(400, "malformed percent-encoding") };
      }
    }
    const problem = refusal(segment);
    if (problem !== undefined) return { segments, refused: problem };
    segments.push(segment);
  }
  return { segments };
}

/** Why a decoded segment is refused, or undefined. */
function refusal(segment: string): Extract<DecodedPath, { ok: false }> | undefined {
  if (hasControl(segment)) return fail(400, "control character in path");
  if (segment === "." || segment === "..") return fail(403, "dot segment in path");
  if (segment.includes("/") || segment.includes("\\")) return fail(403, "separator in segment");
  if (isDriveLetter(segment)) return fail(403, "drive letter in path");
  return undefined;
}

/**
 * True when a path has no percent-escape and `decodePath` would accept it: then its segments are
 * its raw pieces between slashes, and `plainPathUnder` can match it in place. A false answer only
 * means "read it with `readSegments`", which then says what is wrong, if anything.
 *
 * @example
 * isPlainPath("/static/app.js"); // true
 * isPlainPath("/static/%61pp.js"); // false: decode it
 */
export function isPlainPath(rawPath: string, maxLength = MAX_PATH_LENGTH): boolean {
  const n = rawPath.length;
  if (n > maxLength) return false;
  let segments = 0;
  let start = -1;
  for (let i = 0; i <= n; i++) {
    const c = i === n ? 0x2f : rawPath.charCodeAt(i);
    if (c === 0x2f) {
      if (start !== -1) {
        // The checks decodePath makes of each segment, on the raw one (it is the decoded one).
        if (++segments > MAX_PATH_SEGMENTS) return false;
        const length = i - start;
        const first = rawPath.charCodeAt(start);
        if (
          first === 0x2e &&
          (length === 1 || (length === 2 && rawPath.charCodeAt(start + 1) === 0x2e))
        )
          return false;
        const letter = first | 0x20;
        if (
          length >= 2 &&
          rawPath.charCodeAt(start + 1) === 0x3a &&
          letter >= 0x61 &&
          letter <= 0x7a
        )
          return false;
        start = -1;
      }
    } else {
      // An escape, a control character or a backslash: decodePath decides.
      if (c === 0x25 || c < 0x20 || c === 0x7f || c === 0x5c) return false;
      if (start === -1) start = i;
    }
  }
  return true;
}

/**
 * For a path `isPlainPath` accepts, the same answer as `underPrefix(readSegments(path), prefix)`
 * (such a path has no refused segment), without building the segments.
 *
 * @example
 * plainPathUnder("/static//private/a.txt", ["static", "private"]); // true
 */
export function plainPathUnder(rawPath: string, prefix: readonly string[]): boolean {
  const n = rawPath.length;
  let at = 0;
  for (const segment of prefix) {
    while (at < n && rawPath.charCodeAt(at) === 0x2f) at++;
    if (at === n || !rawPath.startsWith(segment, at)) return false;
    at += segment.length;
    if (at < n && rawPath.charCodeAt(at) !== 0x2f) return false;
  }
  return true;
}

/**
 * True when a path read by `readSegments` lies under `prefix` (decoded segments). It fails closed:
 * where the path holds a segment the reading refused (`..`, an encoded slash, a bad escape), that
 * segment matches whatever the prefix has there, so a guard runs rather than being skipped; the
 * static server refuses such a path anyway. A path whose segments differ from the prefix before any
 * refusal is not under it, so `/api/a%2Fb` never meets a guard on `/admin`.
 *
 * @example
 * underPrefix(readSegments("/static/private/a.txt"), ["static", "private"]); // true
 * underPrefix(readSegments("/static/%2e%2e/private"), ["static", "private"]); // true (fails closed)
 */
export function underPrefix(
  path: { segments: readonly string[]; refused?: unknown },
  prefix: readonly string[],
): boolean {
  const segments = path.segments;
  for (let i = 0; i < prefix.length; i++) {
    if (i >= segments.length) return path.refused !== undefined;
    if (segments[i] !== prefix[i]) return false;
  }
  return true;
}

function fail(status: 400 | 403 | 414, reason: string): Extract<DecodedPath, { ok: false }> {
  return { ok: false, status, reason };
}

function hasControl(segment: string): boolean {
  for (let i = 0; i < segment.length; i++) {
    const code = segment.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

/** `C:` (drive-absolute or drive-relative on Windows), meaningless elsewhere but never needed. */
function isDriveLetter(segment: string): boolean {
  const first = segment.charCodeAt(0) | 0x20;
  return segment.length >= 2 && segment[1] === ":" && first >= 0x61 && first <= 0x7a;
}
