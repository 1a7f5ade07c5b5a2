import { realpath } from "node:fs/promises";
import { join, sep } from "node:path";
import { decodePath, MAX_PATH_LENGTH, MAX_PATH_SEGMENTS } from "../http/paths.ts";
import { errnoStatus } from "../internal/errno.ts";

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
export const MAX_STATIC_PATH_LENGTH = MAX_PATH_LENGTH;

/** Most segments accepted in one path. */
export const MAX_STATIC_PATH_SEGMENTS = MAX_PATH_SEGMENTS;

/**
 * Turns the percent-encoded URL path below a static mount (no query string) into file name
 * segments that cannot leave the mount, or says which status to answer: the path is read by
 * `decodePath`, the same reading scoped middleware uses (decoded once; `.`/`..`, encoded
 * separators and drive letters 403; control characters 400; over-long 414), then a segment
 * starting with `.` is a 404 unless `dotfiles` is `allow`. `..` inside a name is fine.
 *
 * @example
 * normalizeStaticPath("/docs/a%20b.txt"); // { ok: true, segments: ["docs", "a b.txt"], trailingSlash: false }
 * normalizeStaticPath("/%2e%2e/etc/passwd"); // { ok: false, status: 403, reason: "dot segment in path" }
 */
export function normalizeStaticPath(
  rawPath: string,
  opts?: { dotfiles?: DotfilesPolicy; maxLength?: number },
): StaticPathResult {
  const decoded = decodePath(rawPath, opts);
  if (!decoded.ok) return decoded;
  if (opts?.dotfiles !== "allow" && decoded.segments.some((s) => s.startsWith("."))) {
    return { ok: false, status: 404, reason: "dotfile" };
  }
  return decoded;
}

/**
 * The outcome of {@link resolveInsideRoot}: the joined path and its real path, or the status.
 *
 * @example
 * const resolved: ResolvedPath = { ok: true, path: "public/a.txt", realPath: "/srv/public/a.txt" };
 */
export type ResolvedPath =
  | { ok: true; path: string; realPath: string }
  | { ok: false; status: 403 | 404 };

/**
 * Joins `segments` to `root` and follows every symlink (`fs.realpath`) of both; the target must
 * be the real root or lie below it. Symlinks that stay inside the root are followed; a target
 * whose real path is outside answers 404, as if it were not there, since the mount does not serve
 * it and need not say why. File system errors map through `errnoStatus`: missing files,
 * non-directories on the way and names too long for the file system are 404, permission errors
 * 403; any other error (EMFILE, EIO, ...) is thrown so it becomes a 500, not a misleading 404.
 *
 * Open `realPath`, not `path`, so that what is served is what was checked. `realRootKnown` is the
 * root's real path when the caller looked it up already (for several paths of one request).
 *
 * @example
 * const resolved = await resolveInsideRoot("./public", ["docs", "a b.txt"]);
 * if (!resolved.ok) throw new HTTPError(resolved.status);
 */
export async function resolveInsideRoot(
  root: string,
  segments: string[],
  realRootKnown?: string,
): Promise<ResolvedPath> {
  const path = join(root, ...segments);
  let realRoot: string;
  let realTarget: string;
  try {
    realRoot = realRootKnown ?? (await realpath(root));
    realTarget = await realpath(path);
  } catch (error) {
    const status = errnoStatus(error);
    if (status === undefined) throw error;
    return { ok: false, status };
  }
  const prefix = realRoot.endsWith(sep) ? realRoot : realRoot + sep;
  if (realTarget !== realRoot && !realTarget.startsWith(prefix)) return { ok: false, status: 404 };
  return { ok: true, path, realPath: realTarget };
}
