/// <reference types="node" preserve="true" />
// The declarations emitted for this module name Node's types: the directive keeps them resolvable in
// a consumer whose tsconfig lists no `types` (@types/node comes with the package).
import type { BigIntStats } from "node:fs";
import { constants, read as fsRead } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import { basename } from "node:path";
import mime from "mime-types";
import type { SluiceRequest } from "../http/request.ts";
import type { ContentfulStatus } from "../http/status.ts";
import {
  evaluatePreconditions,
  formatHttpDate,
  ifRangeAllowsRange,
  parseHttpDate,
  type Validators,
} from "../internal/conditional.ts";
import { contentDisposition } from "../internal/content-disposition.ts";
import { errnoStatus } from "../internal/errno.ts";
import { fileETag, suffixETag } from "../internal/etag.ts";
import { multipartByteranges } from "../internal/multipart.ts";
import { type ByteRange, contentRange, parseRange, unsatisfiedRange } from "../internal/range.ts";
import { type Body, type ResponseInit, SluiceResponse } from "./base.ts";
import type { FileBody } from "./body.ts";
import { EmptyResponse } from "./buffered.ts";
import { ProblemResponse } from "./problem.ts";

/**
 * Options of a FileResponse.
 *
 * @example
 * const init: FileInit = { filename: "report.pdf", headers: { "cache-control": "private" } };
 */
export interface FileInit extends ResponseInit<ContentfulStatus> {
  /** The media type, instead of the one guessed from the file's extension. */
  mediaType?: string;
  /** Offer the file under this name (`Content-Disposition`); defaults the disposition to attachment. */
  filename?: string;
  /** `inline` (show it) or `attachment` (save it); default attachment when `filename` is given. */
  disposition?: "inline" | "attachment";
  /** Send a strong `ETag` made from the file's identity (default true). */
  etag?: boolean;
  /** Send `Last-Modified` from the file's modification time (default true). */
  lastModified?: boolean;
  /**
   * Answer Range requests and say so with `Accept-Ranges: bytes` (default true). With false the
   * whole file answers every request, and no Accept-Ranges is sent (RFC 9110 §14.3).
   */
  acceptRanges?: boolean;
  /**
   * The content coding the file's bytes are already in (a precompressed `x.br` beside `x`): sent as
   * `Content-Encoding`, and appended to the ETag so each representation has its own
   * (RFC 9110 §8.8.3).
   */
  contentEncoding?: string;
  /** Bytes read from the file per chunk (default 256 KiB; the Node engine reads 1 MiB at once). */
  chunkSize?: number;
  /**
   * The `stat({ bigint: true })` of the FileHandle given instead of a path, when you have it
   * already (a static mount does): the file is not stat'ed again. Ignored with a path.
   */
  stat?: BigIntStats;
}

/**
 * Each chunk is one read on the thread pool and one socket write. Measured on loopback with a
 * 64 MiB file, 256 KiB is about twice as fast as 64 KiB and near raw `createReadStream().pipe()`;
 * larger gains little and costs memory per download.
 */
const DEFAULT_CHUNK = 256 * 1024;

// Opening a FIFO without O_NONBLOCK blocks a thread-pool thread until a writer appears; with it the
// open returns at once and the fstat below refuses anything but a regular file.
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

/** Representation metadata a 304 leaves out (RFC 9110 §15.4.5): no content, no description of it. */
const CONTENT_HEADERS = [
  "content-type",
  "content-length",
  "content-range",
  "content-encoding",
  "content-language",
  "content-disposition",
  "content-location",
  "transfer-encoding",
];

/**
 * What an error answer (404, 412, 416) in place of the file leaves out: the headers that describe
 * the file, which the problem body is not (its content headers, validators, ranges), and its
 * freshness: a cache policy meant for the file (`max-age=31536000, immutable`) must not keep a 404
 * for a year. Everything else given to the response (CORS, Vary, cookies, custom fields) stays.
 */
const FILE_ONLY_HEADERS = [
  ...CONTENT_HEADERS,
  "etag",
  "last-modified",
  "accept-ranges",
  "cache-control",
  "expires",
];

/**
 * A file from disk, sent through the streaming writer with backpressure: by path, or from a
 * `FileHandle` you opened (the response then owns it and closes it).
 *
 * Before it is sent, the file is opened and stat'ed once; a missing file, a directory or anything
 * but a regular file is a 404 problem. It answers with a media type from the extension (with
 * `charset=utf-8` for text), `Content-Length`, `Last-Modified`, a strong `ETag`
 * (`"<inode>-<size>-<mtime ns>"` in hex, see `fileETag`) and `Accept-Ranges: bytes`.
 *
 * With status 200 (the default) it also answers conditional and range requests (RFC 9110 §13,
 * §14): 304 or 412 from the preconditions, then for GET a single range as 206 with
 * `Content-Range`, several as 206 `multipart/byteranges` with an exact `Content-Length`, none
 * satisfiable as 416 with `Content-Range: bytes *\/LEN`; `If-Range` needs an exact strong
 * validator. HEAD answers the headers of GET, without Range, and never reads the file. The file
 * handle is closed once on every path: sent, client gone, error, HEAD, 304, 412, 416.
 *
 * @example
 * app.get("/report", () => new FileResponse("reports/q3.pdf", { filename: "Q3 report.pdf" }));
 */
export class FileResponse extends SluiceResponse {
  /** The path of the file, when it was given by path. */
  readonly path: string | undefined;
  readonly #init: FileInit;
  #handle: FileHandle | undefined;
  #closing: Promise<void> | undefined;
  #prepared: Promise<SluiceResponse> | undefined;
  #body: FileBody | undefined;

  constructor(file: string | FileHandle, init: FileInit = {}) {
    super(init);
    if (typeof file === "string") this.path = file;
    else this.#handle = file;
    this.#init = init;
    this.teardown(() => this.#close());
  }

  /** Opens and stats the file, and settles status, headers and body against the request. */
  override prepare(req: SluiceRequest<any>): Promise<SluiceResponse> {
    this.#prepared ??= this.#prepare(req);
    return this.#prepared;
  }

  body(): Body {
    if (this.#body === undefined) {
      throw new TypeError(
        "a FileResponse must be prepared before it is sent: return it from a route handler",
      );
    }
    return this.#body;
  }

  async #prepare(req: SluiceRequest<any>): Promise<SluiceResponse> {
    if (this.#handle === undefined) {
      try {
        // Open first, then fstat the handle: what is described is what is sent, and a file that
        // vanishes in between cannot be half-found.
        this.#handle = await open(this.path!, OPEN_FLAGS);
      } catch (error) {
        const status = errnoStatus(error);
        if (status === undefined) throw error;
        return this.#problem(status);
      }
    }
    try {
      const given = this.path === undefined ? this.#init.stat : undefined;
      const stat = given ?? (await this.#handle.stat({ bigint: true }));
      if (!stat.isFile()) {
        await this.#close();
        return this.#problem(404);
      }
      return await this.#select(req, stat);
    } catch (error) {
      await this.#close();
      throw error;
    }
  }

  async #select(req: SluiceRequest<any>, stat: BigIntStats): Promise<SluiceResponse> {
    const init = this.#init;
    const size = Number(stat.size);
    if (this.headers["content-type"] === undefined) {
      this.setHeader("content-type", init.mediaType ?? this.#guessType());
    }
    if (init.contentEncoding !== undefined) {
      this.setHeader("content-encoding", init.contentEncoding);
    }
    if (init.filename !== undefined || init.disposition !== undefined) {
      this.setHeader("content-disposition", contentDisposition(init.filename, init.disposition));
    }
    if (init.lastModified !== false && this.headers["last-modified"] === undefined) {
      try {
        this.setHeader("last-modified", formatHttpDate(Number(stat.mtimeMs)));
      } catch {
        // A modification time outside the years 0000-9999 has no HTTP-date: send none.
      }
    }
    if (init.etag !== false && this.headers.etag === undefined) {
      const tag = fileETag(stat);
      this.setHeader(
        "etag",
        init.contentEncoding === undefined ? tag : suffixETag(tag, init.contentEncoding),
      );
    }

    // Preconditions and ranges describe the file itself: a file sent as a 404 page or another
    // status is sent whole.
    if (this.status !== 200) return this.#send(size, undefined);
    const ranges = init.acceptRanges !== false;
    if (ranges) this.setHeader("accept-ranges", "bytes");
    const validators: Validators = {
      etag: this.getHeader("etag"),
      lastModified: lastModifiedOf(this.getHeader("last-modified")),
    };
    const headers = { get: (name: string) => req.header(name) };

    // Preconditions come before Range (RFC 9110 §13.2.2).
    const outcome = evaluatePreconditions(req.method, headers, validators);
    if (outcome === 304) return this.#notModified(size);
    if (outcome === 412) return this.#problem(412);

    // Range applies to GET only (RFC 9110 §14.2); HEAD with Range is the HEAD of the whole.
    const range = req.method === "GET" && ranges ? req.header("range") : undefined;
    if (range === undefined || !ifRangeAllowsRange(req.header("if-range"), validators)) {
      return this.#send(size, undefined);
    }
    const result = parseRange(range, size);
    if (result.kind === "full") return this.#send(size, undefined);
    if (result.kind === "unsatisfiable") {
      return this.#problem(416, {
        "content-range": unsatisfiedRange(size),
        "accept-ranges": "bytes",
      });
    }
    // Several ranges of already-encoded bytes cannot be framed honestly: a Content-Encoding on a
    // multipart body would claim the framing itself is encoded. RFC 9110 §14.2 lets us send it all.
    if (result.ranges.length > 1 && init.contentEncoding !== undefined) {
      return this.#send(size, undefined);
    }
    return this.#send(size, result.ranges);
  }

  #guessType(): string {
    const name = this.path ?? this.#init.filename;
    const type = name === undefined ? false : mime.contentType(basename(name));
    return type || "application/octet-stream";
  }

  /** Settles the body: the whole file, one range, or several as multipart/byteranges. */
  #send(size: number, ranges: ByteRange[] | undefined): SluiceResponse {
    const handle = this.#handle!;
    const chunkSize = this.#init.chunkSize ?? DEFAULT_CHUNK;
    let pieces: (ByteRange | Uint8Array)[];
    let length: number;
    if (ranges === undefined) {
      pieces = size === 0 ? [] : [{ start: 0, end: size - 1 }];
      length = size;
    } else if (ranges.length === 1) {
      const only = ranges[0]!;
      this.status = 206;
      this.setHeader("content-range", contentRange(only, size));
      pieces = [only];
      length = only.end - only.start + 1;
    } else {
      const multipart = multipartByteranges(ranges, size, this.getHeader("content-type") ?? "");
      this.status = 206;
      this.setHeader("content-type", multipart.contentType);
      pieces = [];
      for (const part of multipart.parts) pieces.push(part.head, part.range);
      pieces.push(multipart.tail);
      length = multipart.length;
    }
    // Reads go straight to the descriptor with a callback: no promise per chunk. The handle
    // stays open (and so the descriptor valid) until the teardown, which runs after the writer.
    const fd = handle.fd;
    this.#body = {
      kind: "file",
      length,
      pieces,
      chunkSize,
      read(buffer, offset, count, position, done) {
        fsRead(fd, buffer, offset, count, position, done);
      },
      stream: () => ({
        kind: "stream",
        source: readPieces(handle, pieces, chunkSize),
        encode: passThrough,
        headersFirst: false,
        length,
      }),
    };
    return this;
  }

  /** A 304 with the headers a 200 would have had, less the content ones (RFC 9110 §15.4.5). */
  async #notModified(size: number): Promise<SluiceResponse> {
    await this.#close();
    const res = new EmptyResponse({ status: 304 });
    const represents: Record<string, string> = {};
    for (const [name, value] of Object.entries(this.headers)) {
      if (!CONTENT_HEADERS.includes(name)) res.headers[name] = value;
      else if (typeof value === "string") represents[name] = value;
    }
    // Last-Modified only guides a cache that has no ETag to go by (§15.4.5: SHOULD NOT otherwise).
    if (res.headers.etag !== undefined) delete res.headers["last-modified"];
    res.represents = { headers: represents, length: size };
    return this.#handOver(res);
  }

  /**
   * An error answer in place of the file: the headers given to the response stay, less those that
   * describe the file (see FILE_ONLY_HEADERS).
   */
  async #problem(
    status: 403 | 404 | 412 | 416,
    headers?: Record<string, string>,
  ): Promise<SluiceResponse> {
    await this.#close();
    const res = new ProblemResponse(status);
    for (const [name, value] of Object.entries(this.headers)) {
      if (!FILE_ONLY_HEADERS.includes(name)) res.headers[name] = value;
    }
    if (headers) Object.assign(res.headers, headers);
    return this.#handOver(res);
  }

  /**
   * The replacement is what the engine sends, so it runs this response's teardown hooks and, once
   * it has gone out, its background tasks.
   */
  #handOver(res: SluiceResponse): SluiceResponse {
    res.teardowns.push(...this.teardowns.splice(0));
    res.tasks.push(...this.tasks.splice(0));
    return res;
  }

  #close(): Promise<void> {
    const handle = this.#handle;
    if (handle === undefined) return Promise.resolve();
    this.#closing ??= handle.close();
    return this.#closing;
  }
}

/**
 * Reads each byte range from the file in chunks, and passes framing bytes through. Every chunk is a
 * fresh buffer: the writer may still hold the previous one when the next read starts.
 */
async function* readPieces(
  handle: FileHandle,
  pieces: (ByteRange | Uint8Array)[],
  chunkSize: number,
): AsyncGenerator<Uint8Array> {
  for (const piece of pieces) {
    if (piece instanceof Uint8Array) {
      yield piece;
      continue;
    }
    let position = piece.start;
    const end = piece.end + 1;
    while (position < end) {
      const want = Math.min(chunkSize, end - position);
      const buffer = Buffer.allocUnsafe(want);
      const { bytesRead } = await handle.read(buffer, 0, want, position);
      // The file shrank since it was stat'ed: fail the stream so the client sees a truncated body
      // rather than a Content-Length that lies.
      if (bytesRead === 0) throw new Error(`file shrank while being sent (at byte ${position})`);
      position += bytesRead;
      yield bytesRead === want ? buffer : buffer.subarray(0, bytesRead);
    }
  }
}

function passThrough(chunk: Uint8Array): Uint8Array {
  return chunk;
}

function lastModifiedOf(value: string | undefined): number | undefined {
  return value === undefined ? undefined : parseHttpDate(value);
}
