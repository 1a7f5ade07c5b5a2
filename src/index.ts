// The public surface of "sluice". Each export is listed by name; src/index.test.ts snapshots it.

// The app
export {
  App,
  type ErrorContext,
  type ErrorHook,
  type Handler,
  type HandlerResult,
  type Method,
  type Middleware,
  type Mountable,
  type PathParams,
  ProblemResponse,
  type RouteOptions,
  type StreamStats,
} from "./app.ts";
export { coerce } from "./coerce.ts";
// Engines
export { fetchApp } from "./engine/fetch/fetch.ts";
export type { FetchInfo } from "./engine/fetch/request.ts";
export { type RunningServer, type ServeOptions, serve } from "./engine/node/serve.ts";
// Errors and headers
export { HTTPError, type ProblemExtensions, problemBody } from "./errors.ts";
export { assertHeader, HeaderError, isValidHeaderName, isValidHeaderValue } from "./headers.ts";
export { SSEFormatError } from "./internal/sse.ts";
// Schemas
export {
  type InferOutput,
  SchemaError,
  type StandardSchemaV1,
} from "./internal/standard-schema.ts";
export { DEFAULT_BODY_LIMIT, SluiceRequest } from "./request.ts";
// Buffered responses
export {
  type BackgroundTask,
  type Body,
  type BufferedInit,
  BufferedResponse,
  type CookieOptions,
  type HeadersInit,
  type ResponseInit,
  SluiceResponse,
} from "./responses/base.ts";
export {
  EmptyResponse,
  encodeLocation,
  HTMLResponse,
  isLocalPath,
  JSONResponse,
  RedirectResponse,
  TextResponse,
} from "./responses/buffered.ts";
// Streaming responses
export { type CSVInit, CSVResponse, type CSVRow } from "./responses/csv.ts";
export { type NDJSONInit, NDJSONResponse } from "./responses/ndjson.ts";
export { ServerSentEvent, type SSEEvent, type SSEInit, SSEResponse, sse } from "./responses/sse.ts";
export {
  type Chunk,
  type StreamBody,
  type StreamInit,
  StreamingResponse,
  type StreamSource,
} from "./responses/stream.ts";
export { escapeHTML } from "./internal/html.ts";
// Status codes
export {
  type ContentfulStatus,
  type ContentlessStatus,
  type ErrorStatus,
  type RedirectStatus,
  STATUS_TEXT,
  type StatusCode,
  statusText,
} from "./status.ts";
