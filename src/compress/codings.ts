/// <reference types="node" preserve="true" />
// The declarations emitted for this module name Node's types: the directive keeps them resolvable in
// a consumer whose tsconfig lists no `types` (@types/node comes with the package).
import zlib from "node:zlib";

/**
 * A content coding Sluice can apply (RFC 9110 §8.4.1): brotli (RFC 7932), gzip (RFC 1952), or
 * zstd (RFC 8878) where the running Node has it.
 *
 * @example
 * const order: Encoding[] = ["br", "gzip"];
 */
export type Encoding = "br" | "gzip" | "zstd";

/**
 * Compression levels by coding: brotli quality 0-11, gzip level 0-9, zstd level 1-19.
 *
 * @example
 * const levels: CompressionLevels = { br: 5, gzip: 6 };
 */
export type CompressionLevels = Partial<Record<Encoding, number>>;

/**
 * A zlib stream as the coding sink drives it.
 *
 * @example
 * const stream: CodingStream = zlib.createGzip();
 */
export interface CodingStream {
  write(chunk: string | Uint8Array): boolean;
  flush(kind: number, callback: () => void): void;
  end(): void;
  destroy(): void;
  readonly destroyed: boolean;
  on(event: "data", listener: (chunk: Buffer) => void): unknown;
  on(event: "end" | "close", listener: () => void): unknown;
  on(event: "error", listener: (error: Error) => void): unknown;
}

/**
 * How one coding compresses: all at once (buffered bodies) or as a stream flushed per batch.
 *
 * @example
 * const gzipped = codingOf("gzip")!.bytes("hello", undefined);
 */
export interface Coding {
  readonly name: Encoding;
  /** Compresses a whole body at once. */
  bytes(data: string | Uint8Array, level: number | undefined): Buffer;
  /** A compressing stream for a body of unknown length. */
  stream(level: number | undefined): CodingStream;
  /** The flush that makes everything written so far decodable, without ending the stream. */
  readonly flush: number;
}

const C = zlib.constants;

// Quality 11 (brotli's default) is for precompressing files at build time: on the fly it costs
// tens of times the CPU for a few percent. 4 is the usual level for dynamic content.
const BROTLI_QUALITY = 4;

function brotliParams(level: number | undefined, size?: number): zlib.BrotliOptions {
  const params: Record<number, number> = { [C.BROTLI_PARAM_QUALITY]: level ?? BROTLI_QUALITY };
  if (size !== undefined) params[C.BROTLI_PARAM_SIZE_HINT] = size;
  return { params };
}

const br: Coding = {
  name: "br",
  bytes: (data, level) => zlib.brotliCompressSync(data, brotliParams(level, byteLength(data))),
  stream: (level) => zlib.createBrotliCompress(brotliParams(level)),
  flush: C.BROTLI_OPERATION_FLUSH,
};

const gzip: Coding = {
  name: "gzip",
  bytes: (data, level) => zlib.gzipSync(data, { level: level ?? C.Z_DEFAULT_COMPRESSION }),
  stream: (level) => zlib.createGzip({ level: level ?? C.Z_DEFAULT_COMPRESSION }),
  // A sync flush ends the deflate block on a byte boundary, so the client can decode all of it.
  flush: C.Z_SYNC_FLUSH,
};

/** zstd in node:zlib (Node ≥ 22.15 / 23.8), found by feature, not by version. */
const zstdApi = zlib as Partial<{
  createZstdCompress: (options?: { params?: Record<number, number> }) => CodingStream;
  zstdCompressSync: (
    data: string | Uint8Array,
    options?: { params?: Record<number, number> },
  ) => Buffer;
}>;
const ZSTD_LEVEL = (C as Record<string, number>).ZSTD_c_compressionLevel;
const ZSTD_FLUSH = (C as Record<string, number>).ZSTD_e_flush;

function zstdParams(level: number | undefined): { params: Record<number, number> } {
  // Levels above 19 use windows over 8 MiB, more than an HTTP client must accept (RFC 9659 §3).
  return level === undefined ? { params: {} } : { params: { [ZSTD_LEVEL!]: Math.min(level, 19) } };
}

const zstd: Coding | undefined =
  typeof zstdApi.createZstdCompress === "function" &&
  typeof zstdApi.zstdCompressSync === "function" &&
  ZSTD_LEVEL !== undefined &&
  ZSTD_FLUSH !== undefined
    ? {
        name: "zstd",
        bytes: (data, level) => zstdApi.zstdCompressSync!(data, zstdParams(level)),
        stream: (level) => zstdApi.createZstdCompress!(zstdParams(level)),
        flush: ZSTD_FLUSH,
      }
    : undefined;

const CODINGS: ReadonlyMap<Encoding, Coding> = new Map(
  [br, zstd, gzip].filter((c): c is Coding => c !== undefined).map((c) => [c.name, c]),
);

/**
 * The codings this Node can apply, in Sluice's default order of preference: brotli, then zstd
 * (when `node:zlib` has it), then gzip.
 *
 * @example
 * availableEncodings(); // ["br", "zstd", "gzip"] on Node 24
 */
export function availableEncodings(): Encoding[] {
  return [...CODINGS.keys()];
}

/**
 * The coding of a name, or undefined when this Node cannot apply it.
 *
 * @example
 * codingOf("br")?.flush; // zlib.constants.BROTLI_OPERATION_FLUSH
 * @internal
 */
export function codingOf(name: string): Coding | undefined {
  return CODINGS.get(name as Encoding);
}

function byteLength(data: string | Uint8Array): number {
  return typeof data === "string" ? Buffer.byteLength(data) : data.byteLength;
}
