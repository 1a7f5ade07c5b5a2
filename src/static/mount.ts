import { type Stats, statSync } from "node:fs";
import { stat } from "node:fs/promises";
import { basename, resolve } from "node:path";
import mime from "mime-types";
import { type CompressOptions, compressResponse } from "../compress/compress.ts";
import type { Mountable } from "../core/routes.ts";
import { HTTPError } from "../http/errors.ts";
import type { SluiceRequest } from "../http/request.ts";
import { chooseEncoding } from "../internal/accept-encoding.ts";
import { errnoStatus } from "../internal/errno.ts";
import type { SluiceResponse } from "../responses/base.ts";
import { EmptyResponse, isLocalPath, RedirectResponse } from "../responses/buffered.ts";
import { FileResponse } from "../responses/file.ts";
import { type DotfilesPolicy, normalizeStaticPath, resolveInsideRoot } from "./path.ts";

/**
 * Options of a static mount (`app.mount(prefix, dir, options)`, `serveStatic`, `serveFile`).
 *
 * @example
 * const options: StaticOptions = { extensions: ["html"], cacheControl: { maxAge: 3600 } };
 */
export interface StaticOptions {
  /** The file served for a directory, or false for none (default `index.html`; no listings ever). */
  index?: string | false;
  /** Extensions tried for a path that names no file: `["html"]` serves `/about` from `about.html`. */
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
   * `Cache-Control` of the files: a field value, or `{ maxAge }` in seconds with `immutable` for
   * fingerprinted names (default `public, max-age=0`: caches revalidate, cheaply, with 304s).
   */
  cacheControl?: string | { maxAge: number; immutable?: boolean };
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
  const root = resolve(dir);
  const cacheControl = cacheControlValue(options.cacheControl);
  return {
    async dispatch(req) {
      const refused = refuseMethod(req);
      if (refused) return refused;
      const found = await locate(root, req, options);
      if (found.kind === "redirect") return found.response;
      return sendFile(req, found.path, found.segments, root, options, cacheControl);
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
  const file = resolve(path);
  const cacheControl = cacheControlValue(options.cacheControl);
  return {
    async dispatch(req) {
      const refused = refuseMethod(req);
      if (refused) return refused;
      // Only the prefix itself names the file: not "/favicon.ico/" nor anything below it.
      const exact = req.path === "/" && (req.basePath === "" || fullPath(req) === req.basePath);
      if (!exact) throw new HTTPError(404);
      return sendFile(req, file, undefined, undefined, options, cacheControl);
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
  if (info.isFile()) return serveFile(path, options);
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

type Located =
  | { kind: "file"; path: string; segments: string[] }
  | { kind: "redirect"; response: SluiceResponse };

async function locate(
  root: string,
  req: SluiceRequest<any>,
  options: StaticOptions,
): Promise<Located> {
  const norm = normalize(req.path, options);
  const segments = norm.segments;
  // Inside a mount "/static" and "/static/" both arrive as "/": the full path tells them apart.
  const trailingSlash = segments.length === 0 ? fullPath(req).endsWith("/") : norm.trailingSlash;
  const resolved = await resolveInsideRoot(root, segments);
  if (!resolved.ok) {
    if (resolved.status === 404 && !trailingSlash && segments.length > 0) {
      for (const ext of options.extensions ?? []) {
        const candidate = [...segments.slice(0, -1), `${segments.at(-1)}.${ext}`];
        const found = await resolveInsideRoot(root, candidate);
        if (found.ok && (await isFile(found.realPath))) {
          return { kind: "file", path: found.realPath, segments: candidate };
        }
      }
    }
    throw new HTTPError(resolved.status);
  }
  const info = await statOrNull(resolved.realPath);
  if (info === null) throw new HTTPError(404);
  if (info.isDirectory()) {
    if (!trailingSlash) return { kind: "redirect", response: directoryRedirect(req, segments) };
    const index = options.index ?? "index.html";
    if (index === false) throw new HTTPError(404);
    const candidate = [...segments, index];
    const found = await resolveInsideRoot(root, candidate);
    if (!found.ok || !(await isFile(found.realPath))) throw new HTTPError(404);
    return { kind: "file", path: found.realPath, segments: candidate };
  }
  // A file named like a directory ("/a.txt/") is not that file.
  if (!info.isFile() || trailingSlash) throw new HTTPError(404);
  return { kind: "file", path: resolved.realPath, segments };
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
  path: string,
  segments: string[] | undefined,
  root: string | undefined,
  options: StaticOptions,
  cacheControl: string,
): Promise<SluiceResponse> {
  const mediaType = mime.contentType(basename(path)) || "application/octet-stream";
  let file = path;
  let coding: string | undefined;
  let anyVariant = false;
  if (options.precompressed !== false) {
    const available: { coding: string; path: string }[] = [];
    for (const variant of VARIANTS) {
      const found = await variantPath(path, variant.suffix, segments, root);
      if (found !== undefined) available.push({ coding: variant.coding, path: found });
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
    }
  }
  const res = new FileResponse(file, {
    mediaType,
    contentEncoding: coding,
    headers: { "cache-control": cacheControl },
  });
  // The answer depends on Accept-Encoding whenever a variant exists (RFC 9110 §12.5.5).
  if (anyVariant) res.setHeader("vary", "Accept-Encoding");
  const prepared = await res.prepare(req);
  if (coding !== undefined || !options.compress) return prepared;
  return compressResponse(req, prepared, options.compress === true ? {} : options.compress);
}

/** A precompressed variant beside `path`, checked against the root like the file itself. */
async function variantPath(
  path: string,
  suffix: string,
  segments: string[] | undefined,
  root: string | undefined,
): Promise<string | undefined> {
  if (segments === undefined || root === undefined) {
    return (await isFile(path + suffix)) ? path + suffix : undefined;
  }
  const candidate = [...segments.slice(0, -1), `${segments.at(-1)}${suffix}`];
  const found = await resolveInsideRoot(root, candidate);
  return found.ok && (await isFile(found.realPath)) ? found.realPath : undefined;
}

function normalize(rawPath: string, options: Pick<StaticOptions, "dotfiles" | "maxPathLength">) {
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

function cacheControlValue(option: StaticOptions["cacheControl"]): string {
  if (option === undefined) return "public, max-age=0";
  if (typeof option === "string") return option;
  if (!Number.isSafeInteger(option.maxAge) || option.maxAge < 0) {
    throw new TypeError(`cacheControl.maxAge must be a whole number of seconds: ${option.maxAge}`);
  }
  return `public, max-age=${option.maxAge}${option.immutable ? ", immutable" : ""}`;
}
