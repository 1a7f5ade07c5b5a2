import { realpath } from "node:fs/promises";
import { join, sep } from "node:path";

/**
 * What to do with a path segment that starts with `.`, such as `.env` or `.git`.
 * `deny` and `ignore` both answer 404, so nothing tells a client the file exists.
 *
 * @example
 * const dotfiles: DotfilesPolicy = "allow"; // serve /.well-known/...
 */
export type DotfilesPolicy = "deny" | "allow" | "ignore";

/**
 * The outcome of {@link normalizeStaticPath}: the decoded segments, or the status to answer.
 *
 * @example
 * const result: StaticPathResult = { ok: true, segments: ["docs", "a b.txt"], trailingSlash: false };
 */
export type StaticPathResult =
  | { ok: true; segments: string[]; trailingSlash: boolean }
  | { ok: false; status: 400 | 403 | 404 | 414; reason: string };

/** Default longest raw path accepted, in characters. */
export const MAX_STATIC_PATH_LENGTH = 4096;

/** Most segments accepted in one path. */
export const MAX_STATIC_PATH_SEGMENTS = 64;

/**
 * Turns the percent-encoded URL path below a static mount (no query string) into file name
 * segments that cannot leave the mount, or says which status to answer.
 *
 * Raw `/` splits segments; each segment is then percent-decoded exactly once as UTF-8, so `%2F`
 * cannot make a new separator and `%252e%252e` stays the literal name `%2e%2e`. Empty segments
 * (`//`, a leading `/`) are dropped, so `/a//b` is `["a", "b"]`; a final `/` sets `trailingSlash`.
 *
 * - 414: longer than `maxLength` (default {@link MAX_STATIC_PATH_LENGTH}) raw characters, or more
 *   than {@link MAX_STATIC_PATH_SEGMENTS} segments.
 * - 400: a malformed `%` escape, bytes that are not UTF-8, or a control character (NUL included)
 *   raw or decoded.
 * - 403: a segment that is `.` or `..`, contains `/` or `\` once decoded, or starts with a drive
 *   letter (`C:`); these only come from clients trying to leave the mount, since browsers resolve
 *   dot segments before sending (RFC 3986 §5.2.4).
 * - 404: a segment starting with `.` unless `dotfiles` is `allow`. `..` inside a name is fine.
 *
 * @example
 * normalizeStaticPath("/docs/a%20b.txt"); // { ok: true, segments: ["docs", "a b.txt"], trailingSlash: false }
 * normalizeStaticPath("/%2e%2e/etc/passwd"); // { ok: false, status: 403, reason: "..." }
 */
export function normalizeStaticPath(
  rawPath: string,
  opts?: { dotfiles?: DotfilesPolicy; maxLength?: number },
): StaticPathResult {
  const maxLength = opts?.maxLength ?? MAX_STATIC_PATH_LENGTH;
  const dotfiles = opts?.dotfiles ?? "deny";
  if (rawPath.length > maxLength) return fail(414, "path too long");

  const segments: string[] = [];
  for (const raw of rawPath.split("/")) {
    if (raw === "") continue;
    if (segments.length === MAX_STATIC_PATH_SEGMENTS) return fail(414, "too many path segments");
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
    if (segment.startsWith(".") && dotfiles !== "allow") return fail(404, "dotfile");
    segments.push(segment);
  }
  return { ok: true, segments, trailingSlash: rawPath.endsWith("/") };
}

/**
 * The outcome of {@link resolveInsideRoot}: the joined path and its real path, or the status.
 *
 * @example
 * const resolved: ResolvedPath = { ok: true, path: "public/a.txt", realPath: "/srv/public/a.txt" };
 */
export type ResolvedPath =
  | { ok: true; path: string; realPath: string }
  | { ok: false; status: 403 | 404 | 414 };

/**
 * Joins `segments` to `root` and follows every symlink (`fs.realpath`) of both; the target must
 * be the real root or lie below it. Symlinks that stay inside the root are followed; a target
 * whose real path is outside answers 404, as if it were not there, since the mount does not serve
 * it and need not say why. Missing files and non-directories on the way (ENOENT, ENOTDIR, ELOOP)
 * are 404, a name too long for the filesystem is 414, permission errors are 403; any other error
 * (EMFILE, EIO, ...) is thrown so it becomes a 500, not a misleading 404.
 *
 * Open `realPath`, not `path`, so that what is served is what was checked.
 *
 * @example
 * const resolved = await resolveInsideRoot("./public", ["docs", "a b.txt"]);
 * if (!resolved.ok) throw new HTTPError(resolved.status);
 */
export async function resolveInsideRoot(root: string, segments: string[]): Promise<ResolvedPath> {
  const path = join(root, ...segments);
  let realRoot: string;
  let realTarget: string;
  try {
    realRoot = await realpath(root);
    realTarget = await realpath(path);
  } catch (error) {
    const status = statusOf(error);
    if (status === undefined) throw error;
    return { ok: false, status };
  }
  const prefix = realRoot.endsWith(sep) ? realRoot : realRoot + sep;
  if (realTarget !== realRoot && !realTarget.startsWith(prefix)) return { ok: false, status: 404 };
  return { ok: true, path, realPath: realTarget };
}

function fail(status: 400 | 403 | 404 | 414, reason: string): StaticPathResult {
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

function statusOf(error: unknown): 403 | 404 | 414 | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  switch (code) {
    case "ENOENT":
    case "ENOTDIR":
    case "ELOOP":
    case "ERR_INVALID_ARG_VALUE":
    case "ERR_INVALID_ARG_TYPE":
      return 404;
    case "ENAMETOOLONG":
      return 414;
    case "EACCES":
    case "EPERM":
      return 403;
    default:
      return undefined;
  }
}
