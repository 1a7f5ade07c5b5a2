import type { Middleware } from "../core/routes.ts";
import type { SluiceRequest } from "../http/request.ts";
import { isContentless } from "../http/status.ts";
import { chooseEncoding } from "../internal/accept-encoding.ts";
import { parseETagList } from "../internal/conditional.ts";
import { parseEntityTag, suffixETag, weakETag } from "../internal/etag.ts";
import type { Body, SluiceResponse } from "../responses/base.ts";
import type { StreamBody } from "../responses/stream.ts";
import {
  availableEncodings,
  type Coding,
  type CompressionLevels,
  codingOf,
  type Encoding,
} from "./codings.ts";
import { codingSink } from "./sink.ts";

/**
 * Options of `compress` (and of a static mount's `compress`).
 *
 * @example
 * const options: CompressOptions = { encodings: ["gzip"], threshold: 2048 };
 */
export interface CompressOptions {
  /**
   * The codings on offer, in the server's order of preference: among codings the client rates
   * equally, the first wins (default `availableEncodings()`: br, zstd where Node has it, gzip).
   * A coding this Node lacks (zstd before Node 22.15) is left out; an unknown name is a TypeError.
   */
  encodings?: readonly Encoding[];
  /** Buffered bodies (and files) smaller than this many bytes go out as they are (default 1024). */
  threshold?: number;
  /** Which media types are worth compressing (default `isCompressible`). */
  compressible?: (mediaType: string) => boolean;
  /** Levels by coding (defaults: brotli 4, gzip 6, zstd 3): on-the-fly levels, not archival ones. */
  levels?: CompressionLevels;
  /**
   * How a compressed response's ETag differs from the identity one (RFC 9110 §8.8.3): `weak`
   * (default) makes `"x"` into `W/"x"`, so `If-None-Match` still matches it by weak comparison
   * (RFC 9110 §13.1.2) and revalidation keeps answering 304; `suffix` makes it `"x-br"`.
   */
  etag?: "weak" | "suffix";
}

interface Settings {
  readonly encodings: readonly Encoding[];
  readonly threshold: number;
  readonly compressible: (mediaType: string) => boolean;
  readonly levels: CompressionLevels;
  readonly etag: "weak" | "suffix";
}

const KNOWN: readonly string[] = ["br", "gzip", "zstd"];

function settle(options: CompressOptions): Settings {
  const wanted = options.encodings ?? availableEncodings();
  for (const name of wanted) {
    if (!KNOWN.includes(name)) throw new TypeError(`compress: unknown content coding "${name}"`);
  }
  const threshold = options.threshold ?? 1024;
  if (!Number.isSafeInteger(threshold) || threshold < 0) {
    throw new TypeError(`compress: threshold must be a whole number of bytes: ${threshold}`);
  }
  return {
    encodings: wanted.filter((name) => codingOf(name) !== undefined),
    threshold,
    compressible: options.compressible ?? isCompressible,
    levels: options.levels ?? {},
    etag: options.etag ?? "weak",
  };
}

/**
 * Middleware that compresses responses for clients that ask (`Accept-Encoding`, with q-values,
 * RFC 9110 §12.5.3) with brotli, gzip, or zstd where Node has it.
 *
 * A buffered body is compressed once and keeps a Content-Length (the compressed one); a stream is
 * compressed as it goes, chunked, flushed at the same points the uncompressed writer writes: SSE
 * events and NDJSON lines still arrive as they are produced, a fast export still compresses well,
 * and backpressure and disconnect teardown hold through the compressor.
 *
 * `Vary: Accept-Encoding` is added to every response it could have compressed, also when the
 * client asked for nothing (RFC 9110 §12.5.5), so caches keep the codings apart. Never compressed:
 * responses that already have a Content-Encoding, ranges (206, Content-Range), 204 and 304, bodies
 * under `threshold`, media types already compressed (images other than SVG, audio, video, archives,
 * fonts in WOFF), and responses marked `Cache-Control: no-transform`. HEAD answers the headers GET
 * would (Content-Encoding, Vary, ETag) but compresses nothing, and leaves out the Content-Length
 * of a buffered body, which only compressing it would tell (RFC 9110 §9.3.2).
 *
 * @example
 * import { compress } from "sluice/compress";
 * app.use(compress()); // everything compressible
 * app.use("/exports", compress({ encodings: ["gzip"] })); // or below a prefix
 */
export function compress(options: CompressOptions = {}): Middleware {
  const settings = settle(options);
  return async (req, next) => compressWith(req, await next(), settings);
}

/**
 * Marks one response to be compressed as `compress()` would, for the client of `req`; returns the
 * response. Use it in a handler or a mount of your own; the middleware calls it for you.
 *
 * @example
 * app.get("/report", (req) => compressResponse(req, new TextResponse(bigReport())));
 */
export function compressResponse<R extends SluiceResponse>(
  req: SluiceRequest<any>,
  res: R,
  options: CompressOptions = {},
): R {
  return compressWith(req, res, settle(options));
}

/**
 * `compressResponse` with its options checked once, up front (a TypeError for a bad one), for a
 * mount that compresses many responses.
 *
 * @example
 * const compressed = responseCompressor({ encodings: ["gzip"] });
 * return compressed(req, await file.prepare(req));
 * @internal
 */
export function responseCompressor(
  options: CompressOptions = {},
): <R extends SluiceResponse>(req: SluiceRequest<any>, res: R) => R {
  const settings = settle(options);
  return (req, res) => compressWith(req, res, settings);
}

function compressWith<R extends SluiceResponse>(
  req: SluiceRequest<any>,
  res: R,
  settings: Settings,
): R {
  // Another compressor (a route's, a mount's) has claimed it already.
  if (res.encodeBody !== undefined) return res;
  const accept = req.header("accept-encoding");
  const head = req.method === "HEAD";
  // Decided when the body is sent, not now: later middleware may still change status and headers,
  // and only the body tells a buffered response's size.
  res.encodeBody = (body) =>
    res.status === 304
      ? notModified(res, body, accept, req.header("if-none-match"), settings)
      : encode(res, body, accept, head, settings);
  return res;
}

/**
 * A 304 carries what the 200 it stands for would have (RFC 9110 §15.4.5): the Vary, and the ETag
 * of the representation this client would get — `W/"x"` when the 200 would be compressed, not the
 * identity `"x"`, or the client's cache would file the compressed bytes under the identity tag.
 */
function notModified(
  res: SluiceResponse,
  body: Body,
  accept: string | undefined,
  ifNoneMatch: string | undefined,
  settings: Settings,
): Body {
  const represents = res.represents;
  if (represents === undefined) {
    // Its media type is gone, so Vary is added whenever the 200 might have been compressed.
    if (res.getHeader("content-type") === undefined || eligible(res, settings)) addVary(res);
    // The validator the client holds names the representation; without a description of it, the
    // client's If-None-Match tells whether that was the compressed one.
    const coding = chooseCoding(accept, settings);
    const tag = res.getHeader("etag");
    if (coding !== undefined && tag !== undefined && ifNoneMatch !== undefined) {
      const derived = derivedETag(tag, coding, settings);
      if (derived !== undefined && derived !== tag && listsTag(ifNoneMatch, derived)) {
        res.setHeader("etag", derived);
      }
    }
    return body;
  }
  const type = represents.headers["content-type"];
  const wouldCompress =
    type !== undefined &&
    represents.headers["content-encoding"] === undefined &&
    !NO_TRANSFORM.test(res.getHeader("cache-control") ?? "") &&
    settings.compressible(type);
  if (!wouldCompress) return body;
  addVary(res);
  if (represents.length < settings.threshold) return body;
  const coding = chooseCoding(accept, settings);
  const tag = res.getHeader("etag");
  if (coding !== undefined && tag !== undefined) {
    const derived = derivedETag(tag, coding, settings);
    if (derived === undefined) res.deleteHeader("etag");
    else res.setHeader("etag", derived);
  }
  return body;
}

function chooseCoding(accept: string | undefined, settings: Settings): Encoding | undefined {
  const name = chooseEncoding(accept, settings.encodings);
  return name === undefined ? undefined : codingOf(name)?.name;
}

/** The compressed representation's ETag (RFC 9110 §8.8.3), or undefined when `tag` is none. */
function derivedETag(tag: string, coding: Encoding, settings: Settings): string | undefined {
  try {
    return settings.etag === "weak" ? weakETag(tag) : suffixETag(tag, coding);
  } catch {
    return undefined;
  }
}

/** Whether an If-None-Match field lists `tag` exactly (weakness included). */
function listsTag(field: string, tag: string): boolean {
  const list = parseETagList(field);
  const wanted = parseEntityTag(tag);
  if (list === undefined || list === "*" || wanted === undefined) return false;
  return list.some((t) => t.weak === wanted.weak && t.opaque === wanted.opaque);
}

function encode(
  res: SluiceResponse,
  body: Body,
  accept: string | undefined,
  head: boolean,
  settings: Settings,
): Body {
  // A web Response is sent as it is, its own headers included.
  if (body.kind === "web") return body;
  if (isContentless(res.status) || body.kind === "empty" || !eligible(res, settings)) return body;
  addVary(res);
  const size =
    body.kind === "bytes"
      ? typeof body.data === "string"
        ? Buffer.byteLength(body.data)
        : body.data.byteLength
      : body.length;
  if (size !== undefined && size < settings.threshold) return body;
  const name = chooseEncoding(accept, settings.encodings);
  const coding = name === undefined ? undefined : codingOf(name);
  if (coding === undefined) return body;
  describe(res, coding.name, settings);
  const level = settings.levels[coding.name];
  if (body.kind === "bytes") {
    if (head) return HEAD_BODY;
    return { kind: "bytes", data: coding.bytes(body.data, level) };
  }
  // A file is compressed as the stream of its chunks.
  return compressedStream(body.kind === "file" ? body.stream() : body, coding, level);
}

/** Whether the response is one a coding may be applied to, leaving its size aside. */
function eligible(res: SluiceResponse, settings: Settings): boolean {
  // Ranges are of the identity bytes; a coding would change what they point at (RFC 9110 §14).
  if (res.status === 206 || res.getHeader("content-range") !== undefined) return false;
  // Already coded (a precompressed file): a second coding would be one too many.
  if (res.getHeader("content-encoding") !== undefined) return false;
  // The sender asked that the content reach the client as it is (RFC 9111 §5.2.2.6).
  if (NO_TRANSFORM.test(res.getHeader("cache-control") ?? "")) return false;
  const type = res.getHeader("content-type");
  return type !== undefined && settings.compressible(type);
}

/** The headers of the compressed representation, in place of the identity one's. */
function describe(res: SluiceResponse, coding: Encoding, settings: Settings): void {
  res.setHeader("content-encoding", coding);
  const tag = res.getHeader("etag");
  if (tag !== undefined) {
    // Each representation has its own validator (RFC 9110 §8.8.3). Not an entity tag at all:
    // better none than one that names the identity bytes.
    const derived = derivedETag(tag, coding, settings);
    if (derived === undefined) res.deleteHeader("etag");
    else res.setHeader("etag", derived);
  }
  // Lengths, ranges and digests of the identity bytes say nothing true of the compressed ones.
  for (const name of STALE) res.deleteHeader(name);
}

const STALE = ["content-length", "accept-ranges", "content-md5", "content-digest", "repr-digest"];

/** A HEAD of a compressed buffered body: headers as for a stream, with no Content-Length. */
const HEAD_BODY: StreamBody<never> = {
  kind: "stream",
  source: [],
  encode: (chunk) => chunk,
  headersFirst: false,
};

function compressedStream(
  body: StreamBody<unknown>,
  coding: Coding,
  level: number | undefined,
): StreamBody<unknown> {
  return {
    ...body,
    // Compressed on the fly, the length is unknown until the end: chunked (RFC 9112 §7.1).
    length: undefined,
    coding: (sink) => codingSink(sink, coding.stream(level), coding.flush),
  };
}

function addVary(res: SluiceResponse): void {
  const vary = res.getHeader("vary");
  if (vary === undefined) {
    res.setHeader("vary", "Accept-Encoding");
    return;
  }
  const names = vary.split(",").map((name) => name.trim().toLowerCase());
  if (names.includes("*") || names.includes("accept-encoding")) return;
  res.setHeader("vary", `${vary}, Accept-Encoding`);
}

const NO_TRANSFORM = /(?:^|,)[ \t]*no-transform[ \t]*(?:,|$)/i;

/** Media types worth compressing besides `text/*`, `+json` and `+xml`. */
const COMPRESSIBLE = new Set([
  "application/json",
  "application/xml",
  "application/javascript",
  "application/ecmascript",
  "application/x-javascript",
  "application/x-ndjson",
  "application/ndjson",
  "application/jsonl",
  "application/x-jsonlines",
  "application/wasm",
  "application/yaml",
  "application/toml",
  "application/graphql",
  "application/x-www-form-urlencoded",
  "application/rtf",
  "application/postscript",
  "application/x-tar",
  "application/vnd.ms-fontobject",
  "font/ttf",
  "font/otf",
  "image/bmp",
  "image/x-icon",
  "image/vnd.microsoft.icon",
]);

/**
 * Whether a media type is worth compressing: text (`text/*`, `text/event-stream` included), JSON,
 * NDJSON and JSON Lines, XML and SVG (`+json`, `+xml`), JavaScript, WebAssembly, uncompressed fonts
 * and bitmaps. Formats that are compressed already (PNG, JPEG, WebP, video, audio, zip, gzip, PDF,
 * WOFF) are not: compressing them again costs CPU and saves nothing.
 *
 * @example
 * isCompressible("application/x-ndjson"); // true
 * isCompressible("image/svg+xml"); // true
 * isCompressible("image/png"); // false
 */
export function isCompressible(mediaType: string): boolean {
  const type = mediaType.split(";", 1)[0]!.trim().toLowerCase();
  if (type.startsWith("text/")) return true;
  if (type.endsWith("+json") || type.endsWith("+xml")) return true;
  return COMPRESSIBLE.has(type);
}
