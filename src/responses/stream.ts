import type { ContentfulStatus } from "../http/status.ts";
import { type ResponseInit, SluiceResponse } from "./base.ts";

/**
 * What a stream can be made from: any sync or async iterable (generators included), or a web
 * ReadableStream. A Node Readable is an async iterable, so it is a source too (and is destroyed,
 * not just left, when the stream ends early).
 */
export type StreamSource<T> = Iterable<T> | AsyncIterable<T> | ReadableStream<T>;

/** Bytes to send: a string (sent as UTF-8) or a Uint8Array. */
export type Chunk = string | Uint8Array;

/**
 * Item to bytes. Declared through a method so its parameter is bivariant: a response over `never`
 * items (`new CSVResponse([])`) is still a response.
 */
export type Encoder<T> = { encode(item: T): Chunk }["encode"];

/**
 * The stream body the engines write: a source, an encoder from item to bytes, and how it behaves.
 * One pipeline serves every streaming type (DESIGN.md §2).
 */
export interface StreamBody<T = unknown> {
  readonly kind: "stream";
  readonly source: StreamSource<T>;
  /** Item to bytes. Throwing here is a mid-stream error like a producer's. */
  encode(item: T): Chunk;
  /** Send the headers before the first item (SSE), instead of after it. */
  readonly headersFirst: boolean;
  /** Keepalive: send `frame` after `intervalMs` with no item. */
  readonly heartbeat?: { readonly intervalMs: number; readonly frame: Chunk };
  /** The exact body length when it is known in advance (a file): sent as Content-Length. */
  readonly length?: number;
  /** Bytes sent before the first item, also when there is none (a CSV header row). */
  readonly prelude?: Chunk;
  /** Opt-in: the last bytes to send when the producer fails midway, before the connection closes. */
  readonly errorChunk?: (error: unknown) => Chunk | undefined;
  /** A content coding (`sluice/compress`) wrapped around the engine's sink when the stream starts. */
  readonly coding?: (sink: Sink) => SinkCoding;
}

/** Options of a streaming response. */
export interface StreamInit<T> extends ResponseInit<ContentfulStatus> {
  /** The media type (default application/octet-stream for StreamingResponse). */
  mediaType?: string;
  /**
   * Opt-in mapping of a mid-stream error to a final item (an NDJSON error line, an SSE `error`
   * event), sent before the connection is closed. The client still sees a truncated response.
   */
  onError?: (error: unknown) => T | undefined;
}

/**
 * The base of every streaming response: a source of items, sent as they are produced with
 * chunked transfer (HTTP/1.1) or until close (HTTP/1.0), never with Content-Length. Subclasses add
 * only a media type and an encoder.
 *
 * The writer pulls the next item only when the socket can take more, batches items produced back to
 * back into one write, writes an item produced after an idle moment at once, and calls the
 * iterator's `return()` when the client leaves, so a generator's `finally` always runs. An error
 * before the first item becomes an error response; after it, the client sees a truncated body.
 *
 * @example
 * app.get("/bytes", () => new StreamingResponse(async function* () {
 *   yield "hello, ";
 *   yield new TextEncoder().encode("world");
 * }()));
 */
export class StreamingResponse<T = Chunk> extends SluiceResponse {
  readonly source: StreamSource<T>;
  readonly #onError: ((error: unknown) => T | undefined) | undefined;

  constructor(
    source: StreamSource<T>,
    init?: StreamInit<T>,
    defaultMediaType = "application/octet-stream",
  ) {
    super(init);
    if (typeof source === "string") {
      throw new TypeError("a stream source must be an iterable of chunks, not a string");
    }
    this.source = source;
    this.#onError = init?.onError;
    if (this.headers["content-type"] === undefined) {
      this.setHeader("content-type", init?.mediaType ?? defaultMediaType);
    }
  }

  /**
   * Makes the encoder for one sending of this response (item to bytes). Raw streams accept strings
   * and Uint8Arrays only; subclasses frame their items here.
   */
  protected encoder(): Encoder<T> {
    return (item) => {
      if (typeof item === "string" || item instanceof Uint8Array) return item;
      throw new TypeError(
        `a StreamingResponse chunk must be a string or a Uint8Array, got ${typeof item}`,
      );
    };
  }

  /** Whether the headers go out before the first item (SSE does this). */
  protected get headersFirst(): boolean {
    return false;
  }

  /** The exact body length when it is known in advance (a file): sent as Content-Length. */
  readonly length?: number;
  /** Bytes sent before the first item, if any. */
  protected prelude(): Chunk | undefined {
    return undefined;
  }

  /** The keepalive of this stream, if any. */
  protected get heartbeat(): StreamBody["heartbeat"] {
    return undefined;
  }

  body(): StreamBody<T> {
    const onError = this.#onError;
    const encode = this.encoder();
    return {
      kind: "stream",
      source: this.source,
      encode,
      prelude: this.prelude(),
      headersFirst: this.headersFirst,
      heartbeat: this.heartbeat,
      errorChunk: onError
        ? (error) => {
            const item = onError(error);
            return item === undefined ? undefined : encode(item);
          }
        : undefined,
    };
  }
}

/** Where a pump writes: a node:http response, or a web ReadableStream's controller. */
export interface Sink {
  /** Writes bytes; false when the consumer is full and `drained()` should be awaited. */
  write(chunk: Chunk): boolean;
  /** Resolves when the consumer can take more, or when the signal aborts. */
  drained(): Promise<void>;
  /** Runs `fn` once pending I/O callbacks have run (setImmediate on Node). */
  defer(fn: () => void): void;
}

/**
 * A sink wrapped around the engine's to transform what passes through (a content coding, see
 * `sluice/compress`). Each `write` is one batch of the pump and leaves the coding at once, so the
 * coded bytes go out at the same points as uncoded ones would.
 *
 * @example
 * const body: StreamBody = { ...plain, coding: (sink) => codingSink(sink, zlib.createGzip(), Z_SYNC_FLUSH) };
 */
export interface SinkCoding extends Sink {
  /** Resolves once everything written so far has reached the inner sink. */
  settle(): Promise<void>;
  /** Ends the coding (its trailer included) into the inner sink; false if the coding failed. */
  finish(): Promise<boolean>;
  /** Frees the coding; called on every path, also after `finish()`. */
  destroy(): void;
}
