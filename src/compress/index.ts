// The public surface of "sluice/compress": content codings negotiated from Accept-Encoding.

export {
  availableEncodings,
  type CompressionLevels,
  type Encoding,
} from "./codings.ts";
export {
  type CompressOptions,
  compress,
  compressResponse,
  isCompressible,
} from "./compress.ts";
