import type { ContentfulStatus } from "../http/status.ts";
import { type ResponseInit, SluiceResponse } from "./base.ts";
import type { Chunk, Encoder, StreamBody, StreamSource } from "./body.ts";

export type { Chunk, Encoder, Sink, SinkCoding, StreamBody, StreamSource } from "./body.ts";

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

/** A raw stream's item: a string or bytes, sent as they are (one function for every stream). */
function rawChunk(item: unknown): Chunk {
  if (typeof item === "string" || item instanceof Uint8Array) return item;
  throw new TypeError(
    `a StreamingResponse chunk must be a string or a Uint8Array, got ${typeof item}`,
  );
}

/**
 * The base of every streaming response: a source of items, sent as they are produced with
 * chunked transfer (HTTP/1.1) or until close (HTTP/1.0), never with Content-Length. Subclasses add
 * only a media type and an encoder.
 *
 * The writer pulls the next item only when the socket can take more, batches items produced back to
 * back into one write, writes an item produced after an idle moment at once, and when the client
 * leaves stops at once — also while the producer is stuck in an await — runs the teardown hooks and
 * requests the iterator's `return()`. A generator's `finally` runs then, or, if it is in an await,
 * once that await settles: await with `req.signal` so it does. An error before the first item
 * becomes an error response; after it, the client sees a truncated body.
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
    return rawChunk as Encoder<T>;
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

  /** Whether the stream ends cleanly at once when the server shuts down (SSE does this). */
  protected get endAtShutdown(): boolean {
    return false;
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
      endAtShutdown: this.endAtShutdown,
      errorChunk: onError
        ? (error) => {
            const item = onError(error);
            return item === undefined ? undefined : encode(item);
          }
        : undefined,
    };
  }
}
