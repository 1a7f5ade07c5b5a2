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
  const maxLength = opts?.maxLength ?? MAX_PATH_LENGTH;
  if (rawPath.length > maxLength) return fail(414, "path too long");

  const segments: string[] = [];
  for (const raw of rawPath.split("/")) {
    if (raw === "") continue;
    if (segments.length === MAX_PATH_SEGMENTS) return fail(414, "too many path segments");
    let segment = raw;
    if (raw.includes("%")) {
      try {
        segment = decodeURIComponent(raw);
      } catch {
        return fail(400, "malformed percent-encoding");
      }
    }
    if (hasControl(segment)) return fail(400, "control character in path");
    if (segment === "." || segment === "..") return fail(403, "dot segment in path");
    if (segment.includes("/") || segment.includes("\\")) return fail(403, "separator in segment");
    if (isDriveLetter(segment)) return fail(403, "drive letter in path");
    segments.push(segment);
  }
  return { ok: true, segments, trailingSlash: rawPath.endsWith("/") };
}

/**
 * True when `segments` starts with every segment of `prefix`.
 *
 * @example
 * underPrefix(["static", "private", "a.txt"], ["static", "private"]); // true
 */
export function underPrefix(segments: readonly string[], prefix: readonly string[]): boolean {
  if (segments.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (segments[i] !== prefix[i]) return false;
  return true;
}

function fail(status: 400 | 403 | 414, reason: string): DecodedPath {
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
