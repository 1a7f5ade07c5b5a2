/**
 * The contract between responses and engines: the body a response describes, and the sink a
 * stream is written to. Only types; responses produce them, engines consume them.
 */

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
  /**
   * Keepalive: the writer sends `frame` whenever nothing was written for `intervalMs` (one idle
   * timer per stream, re-armed only when nothing was written).
   */
  readonly heartbeat?: { readonly intervalMs: number; readonly frame: Chunk };
  /**
   * End cleanly (terminating chunk) as soon as the server begins a graceful shutdown, instead of
   * running on until its shutdown timeout and then being truncated: for streams whose clients
   * resume elsewhere (SSE, with `Last-Event-ID`). It still counts as aborted.
   */
  readonly endAtShutdown?: boolean;
  /** The exact body length when it is known in advance (a file): sent as Content-Length. */
  readonly length?: number;
  /** Bytes sent before the first item, also when there is none (a CSV header row). */
  readonly prelude?: Chunk;
  /** Opt-in: the last bytes to send when the producer fails midway, before the connection closes. */
  readonly errorChunk?: (error: unknown) => Chunk | undefined;
  /** A content coding (`sluice/compress`) wrapped around the engine's sink when the stream starts. */
  readonly coding?: (sink: Sink) => SinkCoding;
}

/** Where a pump writes: a node:http response, or a web ReadableStream's controller. */
export interface Sink {
  /** Writes bytes; false when the consumer is full and `drained()` should be awaited. */
  write(chunk: Chunk): boolean;
  /** Resolves when the consumer can take more, or when the signal aborts. */
  drained(): Promise<void>;
  /**
   * True when the consumer can take more now. The keepalive asks it after a write answered false
   * while the producer was idle: a consumer that has drained since is idle, and gets its ping.
   */
  ready(): boolean;
  /**
   * Runs `fn(arg)` once pending I/O callbacks have run (setImmediate on Node). The argument lets a
   * caller pass one function for all its streams instead of a closure per stream.
   */
  defer<A>(fn: (arg: A) => void, arg: A): void;
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

/** A byte range of a file, both ends inclusive. */
export interface FileRange {
  readonly start: number;
  readonly end: number;
}

/**
 * A file body (DESIGN.md §1's third source): ranges of a file, and framing bytes between them
 * (multipart/byteranges), that an engine reads and writes itself — large reads into buffers it
 * reuses, no promise per chunk — or, where it has no such path (`app.fetch`, a content coding),
 * sends as the stream `stream()` gives. Runtime-neutral: the file is reached only through `read`.
 */
export interface FileBody {
  readonly kind: "file";
  /** The exact length of what is sent: Content-Length. */
  readonly length: number;
  /** In order: ranges of the file to send, and bytes to send as they are between them. */
  readonly pieces: readonly (FileRange | Uint8Array)[];
  /** Bytes per read the response asks for (the engine may read more at once, never less). */
  readonly chunkSize: number;
  /**
   * Reads up to `length` bytes of the file at `position` into `buffer` from `offset`, and calls
   * back with how many it read (0: the file ended there).
   */
  read(
    buffer: Uint8Array,
    offset: number,
    length: number,
    position: number,
    done: (error: Error | null, bytesRead: number) => void,
  ): void;
  /** The same bytes as a stream body of fresh chunks, for an engine or a coding that needs one. */
  stream(): StreamBody<Uint8Array>;
}

/**
 * What a response sends, as the engines see it. One of three body sources (DESIGN.md §1), plus
 * "empty" and a web Response passed through unchanged.
 */
export type Body =
  | { readonly kind: "empty" }
  | { readonly kind: "bytes"; readonly data: string | Uint8Array }
  | { readonly kind: "web"; readonly response: globalThis.Response }
  | StreamBody<any>
  | FileBody;
