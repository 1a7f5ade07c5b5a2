import { type BigIntStats, constants, type Stats, statSync } from "node:fs";
import { type FileHandle, open, realpath, stat } from "node:fs/promises";
import { basename, resolve } from "node:path";
import mime from "mime-types";
import { type CompressOptions, responseCompressor } from "../compress/compress.ts";
import type { Mountable } from "../core/routes.ts";
import { HTTPError } from "../http/errors.ts";
import { isValidHeaderValue } from "../http/headers.ts";
import { decodePath } from "../http/paths.ts";
import type { SluiceRequest } from "../http/request.ts";
import { mediaTypeAccepted } from "../internal/accept.ts";
import { chooseEncoding } from "../internal/accept-encoding.ts";
import { errnoStatus } from "../internal/errno.ts";
import type { SluiceResponse } from "../responses/base.ts";
import { EmptyResponse, isLocalPath, RedirectResponse } from "../responses/buffered.ts";
import { type FileInit, FileResponse } from "../responses/file.ts";
import {
  type DotfilesPolicy,
  normalizeStaticPath,
  type ResolvedPath,
  resolveInsideRoot,
} from "./path.ts";

/**
 * Options of a static mount (`app.mount(prefix, dir, options)`, `serveStatic`, `serveFile`).
 *
 * @example
 * const options: StaticOptions = { extensions: ["html"], cacheControl: { maxAge: 3600 } };
 */
export interface StaticOptions {
  /**
   * The file served for a directory, or a list tried in order, or false for none (default
   * `index.html`; no listings ever). Plain file names: no `/`, `\`, `.` or `..`.
   */
  index?: string | readonly string[] | false;
  /**
   * Extensions tried for a path that names no file, without the dot: `["html"]` serves `/about`
   * from `about.html`.
   */
  extensions?: readonly string[];
  /** Paths with a segment starting with `.`: refused with 404 unless `allow` (default `deny`). */
  dotfiles?: DotfilesPolicy;
  /** Serve `x.br` or `x.gz` beside `x` to clients that accept them (default true). */
  precompressed?: boolean;
  /**
   * Compress on the fly (see `sluice/compress`) what no precompressed variant serves: `true` or
   * the options of `compress()` (default false).
   */
  compress?: boolean | CompressOptions;
  /**
   * `Cache-Control` of the files: a field value, or `{ maxAge }` in **seconds** with `immutable`
   * for fingerprinted names, or false for none (default `public, max-age=0`: caches revalidate,
   * cheaply, with 304s).
   */
  cacheControl?: string | { maxAge: number; immutable?: boolean } | boolean;
  /** Answer Range requests, with `Accept-Ranges: bytes` (default true; false: always the whole file). */
  acceptRanges?: boolean;
  /** Send a strong ETag (default true). */
  etag?: boolean;
  /** Send Last-Modified (default true). */
  lastModified?: boolean;
  /**
   * Called for each file about to be sent, before conditionals and ranges are evaluated, to set
   * headers of its own (they stay on a 304, like the other non-content headers): `res` is the
   * FileResponse, `path` the real path of the file on disk (a precompressed variant's, when one is
   * sent), `stat` its `fs.Stats`. May be async; a throw is a 500 reported to the error hook.
   */
  setHeaders?: (res: FileResponse, path: string, stat: Stats) => void | Promise<void>;
  /**
   * Pass what the mount cannot answer on to the app's routes instead of answering an error: a
   * missing file or other client error (404, 403, 400, 414), and every method but GET and HEAD. The
   * app routes on as if the mount were not there, so a mount at "/" and routes live side by side
   * (default false: the mount answers 404 or 405 itself).
   */
  fallthrough?: boolean;
  /**
   * A file inside the directory (such as `index.html`) sent, with status 200, for a GET or HEAD
   * that names no file, when the client accepts HTML and the last segment has no extension: the
   * client-side routes of a single-page app (`/settings/profile`), while `/missing.js` stays a 404.
   * Default false.
   */
  fallback?: string | false;
  /** Longest raw path accepted, in characters; longer is a 414 (default 4096). */
  maxPathLength?: number;
}

/** The precompressed variants looked for beside a file, smallest first. */
const VARIANTS = [
  { coding: "br", suffix: ".br" },
  { coding: "gzip", suffix: ".gz" },
] as const;

const ALLOW = "GET, HEAD, OPTIONS";

/**
 * Serves the files below a directory, to mount under a prefix. GET and HEAD only (OPTIONS answers
 * `Allow`; anything else is 405). Each file goes out as a `FileResponse`, so it has ETags, 304s,
 * ranges and multipart ranges.
 *
 * Security defaults: the path is decoded exactly once; `..`, `.`, encoded slashes or backslashes
 * and drive letters are a 403, control characters (NUL included) a 400, an over-long path a 414;
 * the real path of what is opened, symlinks followed, must lie inside the real root (else 404);
 * dotfiles are a 404 unless `dotfiles: "allow"`. A directory is served by its `index` file, and
 * `/dir` redirects to `/dir/` with a Location rebuilt from the checked segments, so it can never
 * read as another host (`//host`, `/\host`).
 *
 * @example
 * app.mount("/assets", serveStatic("public", { cacheControl: { maxAge: 31536000, immutable: true } }));
 */
export function serveStatic(dir: string, options: StaticOptions = {}): Mountable {
  if (typeof dir !== "string" || dir === "") {
    throw new TypeError(`serveStatic: the directory must be a path, got ${describe(dir)}`);
  }
  const root = resolve(dir);
  const settings = settle("serveStatic", options, "directory");
  return {
    fallthrough: settings.fallthrough,
    async dispatch(req) {
      if (req.method !== "GET" && req.method !== "HEAD") {
        return settings.fallthrough ? undefined : refuseMethod(req);
      }
      const inRoot = rootResolver(root);
      let found: Located;
      try {
        found = await locate(inRoot, req, settings);
      } catch (error) {
        if (!HTTPError.is(error) || error.status >= 500) throw error;
        const fallback =
          error.status === 404 ? await fallbackFile(inRoot, req, settings) : undefined;
        if (fallback !== undefined) found = fallback;
        else if (settings.fallthrough) return undefined;
        else throw error;
      }
      if (found.kind === "redirect") return found.response;
      return sendFile(req, found, inRoot, settings);
    },
  };
}

/**
 * Serves one file at the exact mount prefix (a favicon, a robots.txt), with the same headers,
 * conditionals, ranges and precompressed variants as a static directory. Paths below it are 404.
 *
 * @example
 * app.mount("/favicon.ico", serveFile("assets/favicon.ico", { cacheControl: { maxAge: 86400 } }));
 */
export function serveFile(path: string, options: StaticOptions = {}): Mountable {
  if (typeof path !== "string" || path === "") {
    throw new TypeError(`serveFile: the file must be a path, got ${describe(path)}`);
  }
  const file = resolve(path);
  const settings = settle("serveFile", options, "file");
  return {
    fallthrough: settings.fallthrough,
    async dispatch(req) {
      if (req.method !== "GET" && req.method !== "HEAD") {
        return settings.fallthrough ? undefined : refuseMethod(req);
      }
      // Only the prefix itself names the file: not "/favicon.ico/" nor anything below it.
      const exact = req.path === "/" && (req.basePath === "" || fullPath(req) === req.basePath);
      if (!exact) {
        if (settings.fallthrough) return undefined;
        throw new HTTPError(404);
      }
      return sendFile(req, await locateFile(file), undefined, settings);
    },
  };
}

/**
 * What `app.mount(prefix, path, options)` mounts: `serveStatic` for a directory, `serveFile` for a
 * file. Checked once, when mounting; a path that does not exist is a TypeError then, not a 404 on
 * every request.
 *
 * @example
 * app.mount("/static", staticMount("public"));
 */
export function staticMount(path: string, options?: StaticOptions): Mountable {
  let info: Stats;
  try {
    info = statSync(path);
  } catch (error) {
    throw new TypeError(`cannot mount ${path}: ${(error as Error).message}`);
  }
  if (info.isDirectory()) return serveStatic(path, options);
  if (info.isFile()) {
    for (const key of DIRECTORY_ONLY) {
      if (options?.[key] !== undefined) {
        throw new TypeError(
          `cannot mount ${path}: ${key} applies to a directory, and this is a file`,
        );
      }
    }
    return serveFile(path, options);
  }
  throw new TypeError(`cannot mount ${path}: not a directory or a regular file`);
}

/**
 * The real path of the regular file that a percent-encoded path names below `root`, with the same
 * checks as a static mount (decoded once, no `..`, no encoded separators, symlinks kept inside the
 * root, dotfiles refused unless allowed); throws the HTTPError a mount would answer with.
 * Directories are 404: there is no index here.
 *
 * @example
 * app.get("/download/:name", async (req) =>
 *   new FileResponse(await resolveStaticFile("files", req.path.slice("/download".length))));
 */
export async function resolveStaticFile(
  root: string,
  rawPath: string,
  options: Pick<StaticOptions, "dotfiles" | "maxPathLength"> = {},
): Promise<string> {
  const norm = normalize(rawPath, options);
  const resolved = await resolveInsideRoot(resolve(root), norm.segments);
  if (!resolved.ok) throw new HTTPError(resolved.status);
  if (norm.trailingSlash || !(await isFile(resolved.realPath))) throw new HTTPError(404);
  return resolved.realPath;
}

/** A regular file opened and stat'ed once, handed to the FileResponse that sends it. */
interface OpenFile {
  readonly handle: FileHandle;
  readonly stat: BigIntStats;
}

/**
 * A file found for a request: its real path and, when it could be opened here, the open file
 * (else the FileResponse opens it and answers what it meets, a 403 say).
 */
interface FoundFile {
  readonly kind: "file";
  readonly path: string;
  readonly segments: string[] | undefined;
  readonly open: OpenFile | undefined;
}

type Located = FoundFile | { kind: "redirect"; response: SluiceResponse };

/** Resolves paths below one root for one request, looking the root's real path up only once. */
type RootResolver = (segments: string[]) => Promise<ResolvedPath>;

function rootResolver(root: string): RootResolver {
  let realRoot: Promise<string> | undefined;
  return async (segments) => {
    realRoot ??= realpath(root);
    let real: string;
    try {
      real = await realRoot;
    } catch (error) {
      const status = errnoStatus(error);
      if (status === undefined) throw error;
      return { ok: false, status };
    }
    return resolveInsideRoot(root, segments, real);
  };
}

// Opening a FIFO without O_NONBLOCK blocks a thread-pool thread until a writer appears; with it the
// open returns at once and the fstat refuses anything but a regular file (as FileResponse does).
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

/**
 * Opens what a real path names and stats it once: the open file when it is a regular file,
 * "directory" for a directory, null when nothing servable is there, undefined when it cannot be
 * opened here for another reason the FileResponse will answer (no permission). Other failures
 * (EMFILE, EIO) are thrown, to be a 500.
 */
async function openPath(path: string): Promise<OpenFile | "directory" | null | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(path, OPEN_FLAGS);
  } catch (error) {
    const status = errnoStatus(error);
    if (status === 404) return null;
    if (status === undefined) throw error;
    // A directory may be unreadable and still lead to an index; a file is the FileResponse's.
    return (await statOrNull(path))?.isDirectory() ? "directory" : undefined;
  }
  try {
    const info = await handle.stat({ bigint: true });
    if (info.isFile()) return { handle, stat: info };
    await handle.close();
    return info.isDirectory() ? "directory" : null;
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/** The file a candidate path names below the root, opened, or undefined when there is none. */
async function candidateFile(
  inRoot: RootResolver,
  segments: string[],
): Promise<FoundFile | undefined> {
  const found = await inRoot(segments);
  if (!found.ok) return undefined;
  const opened = await openPath(found.realPath);
  if (opened === null || opened === "directory") return undefined;
  return { kind: "file", path: found.realPath, segments, open: opened };
}

/** The one file of a `serveFile` mount, opened. */
async function locateFile(path: string): Promise<FoundFile> {
  const opened = await openPath(path);
  // Not there (any more), or not a file: the FileResponse answers for it, as it would by path.
  const open = opened === null || opened === "directory" ? undefined : opened;
  return { kind: "file", path, segments: undefined, open };
}

async function locate(
  inRoot: RootResolver,
  req: SluiceRequest<any>,
  options: Settings,
): Promise<Located> {
  const norm = normalize(req.path, options);
  const segments = norm.segments;
  // Inside a mount "/static" and "/static/" both arrive as "/": the full path tells them apart.
  const trailingSlash = segments.length === 0 ? fullPath(req).endsWith("/") : norm.trailingSlash;
  const resolved = await inRoot(segments);
  if (!resolved.ok) {
    if (resolved.status === 404 && !trailingSlash && segments.length > 0) {
      for (const ext of options.extensions) {
        const candidate = [...segments.slice(0, -1), `${segments.at(-1)}.${ext}`];
        const found = await candidateFile(inRoot, candidate);
        if (found !== undefined) return found;
      }
    }
    throw new HTTPError(resolved.status);
  }
  // The file is opened and stat'ed here, once: the FileResponse gets the handle and the stat.
  const opened = await openPath(resolved.realPath);
  if (opened === null) throw new HTTPError(404);
  if (opened === "directory") {
    if (!trailingSlash) return { kind: "redirect", response: directoryRedirect(req, segments) };
    for (const index of options.index) {
      const found = await candidateFile(inRoot, [...segments, index]);
      if (found !== undefined) return found;
    }
    throw new HTTPError(404);
  }
  // A file named like a directory ("/a.txt/") is not that file.
  if (trailingSlash) {
    await opened?.handle.close();
    throw new HTTPError(404);
  }
  return { kind: "file", path: resolved.realPath, segments, open: opened };
}

/**
 * `/dir` to `/dir/`. The Location is rebuilt from the mount prefix and the decoded, checked
 * segments, each percent-encoded again, never from the raw request path: it starts with one "/"
 * and a non-empty segment, so no browser reads it as another host.
 */
function directoryRedirect(req: SluiceRequest<any>, segments: string[]): SluiceResponse {
  const path = segments.map((s) => `/${encodeURIComponent(s)}`).join("");
  const location = `${req.basePath}${path}/`;
  if (!isLocalPath(location)) throw new HTTPError(404);
  const q = req.url.indexOf("?");
  return new RedirectResponse(q === -1 ? location : location + req.url.slice(q), 301);
}

async function sendFile(
  req: SluiceRequest<any>,
  found: FoundFile,
  inRoot: RootResolver | undefined,
  options: Settings,
): Promise<SluiceResponse> {
  const path = found.path;
  let opened = found.open;
  let res: FileResponse;
  try {
    const mediaType = mime.contentType(basename(path)) || "application/octet-stream";
    let file = path;
    let coding: string | undefined;
    let anyVariant = false;
    if (options.precompressed) {
      const available: { coding: string; path: string }[] = [];
      for (const variant of VARIANTS) {
        const variantFile = await variantPath(path, variant.suffix, found.segments, inRoot);
        if (variantFile !== undefined)
          available.push({ coding: variant.coding, path: variantFile });
      }
      anyVariant = available.length > 0;
      const chosen = chooseEncoding(
        req.header("accept-encoding"),
        available.map((v) => v.coding),
      );
      const pick = available.find((v) => v.coding === chosen);
      if (pick !== undefined) {
        file = pick.path;
        coding = pick.coding;
        // The variant is sent instead: it is opened by its FileResponse.
        await opened?.handle.close();
        opened = undefined;
      }
    }
    const init: FileInit = {
      mediaType,
      contentEncoding: coding,
      headers: options.cacheControl === undefined ? {} : { "cache-control": options.cacheControl },
      acceptRanges: options.acceptRanges,
      etag: options.etag,
      lastModified: options.lastModified,
      stat: opened?.stat,
    };
    res = new FileResponse(opened?.handle ?? file, init);
    // The response owns the handle now: it closes it on every path.
    opened = undefined;
    // The answer depends on Accept-Encoding whenever a variant exists (RFC 9110 §12.5.5).
    if (anyVariant) res.setHeader("vary", "Accept-Encoding");
    if (options.setHeaders !== undefined) {
      // A file that vanished since it was found is the FileResponse's 404, as without the hook.
      const info =
        found.open !== undefined && coding === undefined
          ? await found.open.handle.stat()
          : await statOrNull(file);
      if (info !== null) await options.setHeaders(res, file, info);
    }
    const prepared = await res.prepare(req);
    if (coding !== undefined || options.compressor === undefined) return prepared;
    return options.compressor(req, prepared);
  } finally {
    await opened?.handle.close();
  }
}

/** A precompressed variant beside `path`, checked against the root like the file itself. */
async function variantPath(
  path: string,
  suffix: string,
  segments: string[] | undefined,
  inRoot: RootResolver | undefined,
): Promise<string | undefined> {
  if (segments === undefined || inRoot === undefined) {
    return (await isFile(path + suffix)) ? path + suffix : undefined;
  }
  const candidate = [...segments.slice(0, -1), `${segments.at(-1)}${suffix}`];
  const found = await inRoot(candidate);
  return found.ok && (await isFile(found.realPath)) ? found.realPath : undefined;
}

function normalize(
  rawPath: string,
  options: { dotfiles?: DotfilesPolicy | undefined; maxPathLength?: number | undefined },
) {
  const norm = normalizeStaticPath(rawPath, {
    dotfiles: options.dotfiles,
    maxLength: options.maxPathLength,
  });
  if (!norm.ok) {
    // A refused dotfile is as absent as a missing file: nothing says why.
    throw new HTTPError(norm.status, norm.status === 404 ? undefined : norm.reason);
  }
  return norm;
}

/** Files are read, never written: GET and HEAD, OPTIONS says so, anything else is a 405. */
function refuseMethod(req: SluiceRequest<any>): SluiceResponse | undefined {
  if (req.method === "GET" || req.method === "HEAD") return undefined;
  if (req.method === "OPTIONS") return new EmptyResponse({ headers: { allow: ALLOW } });
  throw new HTTPError(405, `${req.method} is not allowed here; allowed: ${ALLOW}`, {
    allow: ALLOW,
  });
}

function fullPath(req: SluiceRequest<any>): string {
  const q = req.url.indexOf("?");
  return q === -1 ? req.url : req.url.slice(0, q);
}

/** Null when nothing is there; other failures (EMFILE, EIO) are thrown, to be a 500, not a 404. */
async function statOrNull(path: string): Promise<Stats | null> {
  try {
    return await stat(path);
  } catch (error) {
    if (errnoStatus(error) === 404) return null;
    throw error;
  }
}

async function isFile(path: string): Promise<boolean> {
  return (await statOrNull(path))?.isFile() ?? false;
}

/**
 * A FileResponse for the fallback file of a single-page app, when the request is one it stands
 * for: GET or HEAD, the client accepts HTML, the last segment names no extension. Undefined
 * otherwise, or when the fallback file is not there.
 */
async function fallbackFile(
  inRoot: RootResolver,
  req: SluiceRequest<any>,
  options: Settings,
): Promise<Located | undefined> {
  if (options.fallback === undefined) return undefined;
  const last = req.path.slice(req.path.lastIndexOf("/") + 1);
  if (last.includes(".")) return undefined;
  if (!mediaTypeAccepted(req.header("accept"), "text/html")) return undefined;
  return candidateFile(inRoot, options.fallback);
}

/** The options of a mount, checked and settled once, when it is built. */
interface Settings {
  readonly index: readonly string[];
  readonly extensions: readonly string[];
  readonly dotfiles: DotfilesPolicy | undefined;
  readonly precompressed: boolean;
  readonly compressor: ReturnType<typeof responseCompressor> | undefined;
  readonly cacheControl: string | undefined;
  readonly acceptRanges: boolean;
  readonly etag: boolean;
  readonly lastModified: boolean;
  readonly setHeaders: StaticOptions["setHeaders"];
  readonly fallthrough: boolean;
  readonly fallback: string[] | undefined;
  readonly maxPathLength: number | undefined;
}

const KNOWN_OPTIONS = [
  "index",
  "extensions",
  "dotfiles",
  "precompressed",
  "compress",
  "cacheControl",
  "acceptRanges",
  "etag",
  "lastModified",
  "setHeaders",
  "fallthrough",
  "fallback",
  "maxPathLength",
] as const;

/** Options that only mean something for a directory. */
const DIRECTORY_ONLY = ["index", "extensions", "fallback"] as const;

/** What serve-static and send users reach for, and where it lives here. */
const HINTS: Record<string, string> = {
  maxAge: "use cacheControl: { maxAge } in seconds (serve-static's maxAge is in milliseconds)",
  immutable: "use cacheControl: { maxAge, immutable: true }",
  redirect: "a directory always redirects to its path with a trailing slash",
  root: "give the directory as the first argument",
  hidden: 'use dotfiles: "allow"',
  headers: "use setHeaders(res, path, stat)",
  brotli: "precompressed .br and .gz variants are served by default (precompressed: true)",
  gzip: "precompressed .br and .gz variants are served by default (precompressed: true)",
};

/**
 * Checks every option of a mount when it is built, with a message that names the option and what
 * was wrong, so nothing fails later at request time.
 */
function settle(fn: string, options: StaticOptions, kind: "directory" | "file"): Settings {
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new TypeError(`${fn}: options must be an object, got ${describe(options)}`);
  }
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (o[key] === undefined) continue;
    if (!(KNOWN_OPTIONS as readonly string[]).includes(key)) {
      const hint = HINTS[key];
      throw new TypeError(
        `${fn}: unknown option ${key}${hint ? `: ${hint}` : ""} (known: ${KNOWN_OPTIONS.join(", ")})`,
      );
    }
    if (kind === "file" && (DIRECTORY_ONLY as readonly string[]).includes(key)) {
      throw new TypeError(`${fn}: ${key} applies to a directory, not to a single file`);
    }
  }
  const bool = (key: string, fallback: boolean): boolean => {
    const v = o[key];
    if (v === undefined) return fallback;
    if (typeof v !== "boolean")
      throw new TypeError(`${fn}: ${key} must be true or false, got ${describe(v)}`);
    return v;
  };

  let index: string[];
  if (options.index === undefined) index = ["index.html"];
  else if (options.index === false) index = [];
  else {
    const list = typeof options.index === "string" ? [options.index] : options.index;
    if (!Array.isArray(list) || list.length === 0) {
      throw new TypeError(
        `${fn}: index must be a file name, a list of them, or false, got ${describe(options.index)}`,
      );
    }
    index = list.map((name) => fileName(fn, "index", name));
  }

  const extensions = options.extensions ?? [];
  if (!Array.isArray(extensions)) {
    throw new TypeError(
      `${fn}: extensions must be a list such as ["html"], got ${describe(extensions)}`,
    );
  }
  for (const ext of extensions) {
    if (typeof ext !== "string" || !/^[A-Za-z0-9][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*$/.test(ext)) {
      const dot = typeof ext === "string" && ext.startsWith(".");
      throw new TypeError(
        `${fn}: extensions must be names without the dot, such as "html"${dot ? ` (write "${ext.slice(1)}")` : ""}, got ${describe(ext)}`,
      );
    }
  }

  const dotfiles = options.dotfiles;
  if (
    dotfiles !== undefined &&
    dotfiles !== "deny" &&
    dotfiles !== "allow" &&
    dotfiles !== "ignore"
  ) {
    throw new TypeError(
      `${fn}: dotfiles must be "deny", "allow" or "ignore", got ${describe(dotfiles)}`,
    );
  }

  let compressor: Settings["compressor"];
  const compress = options.compress;
  if (compress === true) compressor = responseCompressor();
  else if (typeof compress === "object" && compress !== null) {
    try {
      compressor = responseCompressor(compress);
    } catch (error) {
      throw new TypeError(`${fn}: compress: ${(error as Error).message}`);
    }
  } else if (compress !== undefined && compress !== false) {
    throw new TypeError(
      `${fn}: compress must be true, false or compress() options, got ${describe(compress)}`,
    );
  }

  const setHeaders = options.setHeaders;
  if (setHeaders !== undefined && typeof setHeaders !== "function") {
    throw new TypeError(
      `${fn}: setHeaders must be a function (res, path, stat), got ${describe(setHeaders)}`,
    );
  }

  let fallback: string[] | undefined;
  if (options.fallback !== undefined && options.fallback !== false) {
    const f = options.fallback;
    const decoded =
      typeof f === "string" && !f.startsWith("/") ? decodePath(encodeURI(f)) : undefined;
    if (
      decoded === undefined ||
      !decoded.ok ||
      decoded.segments.length === 0 ||
      decoded.trailingSlash
    ) {
      throw new TypeError(
        `${fn}: fallback must be the path of a file inside the directory, such as "index.html", got ${describe(f)}`,
      );
    }
    fallback = decoded.segments;
  }

  const maxPathLength = options.maxPathLength;
  if (maxPathLength !== undefined && (!Number.isSafeInteger(maxPathLength) || maxPathLength < 1)) {
    throw new TypeError(
      `${fn}: maxPathLength must be a positive whole number of characters, got ${describe(maxPathLength)}`,
    );
  }

  return {
    index,
    extensions,
    dotfiles,
    precompressed: bool("precompressed", true),
    compressor,
    cacheControl: cacheControlValue(fn, options.cacheControl),
    acceptRanges: bool("acceptRanges", true),
    etag: bool("etag", true),
    lastModified: bool("lastModified", true),
    setHeaders,
    fallthrough: bool("fallthrough", false),
    fallback,
    maxPathLength,
  };
}

function fileName(fn: string, option: string, name: unknown): string {
  if (
    typeof name !== "string" ||
    name === "" ||
    name === "." ||
    name === ".." ||
    /[/\\\0-\x1f\x7f]/.test(name)
  ) {
    throw new TypeError(
      `${fn}: ${option} must be plain file names such as "index.html" (no /, \\, . or ..), got ${describe(name)}`,
    );
  }
  return name;
}

function cacheControlValue(fn: string, option: unknown): string | undefined {
  if (option === undefined || option === true) return "public, max-age=0";
  if (option === false) return undefined;
  if (typeof option === "string") {
    if (option === "" || !isValidHeaderValue(option)) {
      throw new TypeError(
        `${fn}: cacheControl must be a header value without controls, got ${describe(option)}`,
      );
    }
    return option;
  }
  if (typeof option !== "object" || option === null) {
    throw new TypeError(
      `${fn}: cacheControl must be a string, { maxAge, immutable } or false, got ${describe(option)}`,
    );
  }
  const { maxAge, immutable, ...rest } = option as { maxAge?: unknown; immutable?: unknown };
  const extra = Object.keys(rest);
  if (extra.length > 0) {
    throw new TypeError(`${fn}: cacheControl takes maxAge and immutable, not ${extra.join(", ")}`);
  }
  if (typeof maxAge !== "number" || !Number.isSafeInteger(maxAge) || maxAge < 0) {
    throw new TypeError(
      `${fn}: cacheControl.maxAge must be a whole number of seconds, got ${describe(maxAge)}`,
    );
  }
  if (immutable !== undefined && typeof immutable !== "boolean") {
    throw new TypeError(
      `${fn}: cacheControl.immutable must be true or false, got ${describe(immutable)}`,
    );
  }
  return `public, max-age=${maxAge}${immutable ? ", immutable" : ""}`;
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "function") return "a function";
  if (Array.isArray(value)) return "a list";
  if (value === null) return "null";
  if (typeof value === "object") return "an object";
  return String(value);
}
