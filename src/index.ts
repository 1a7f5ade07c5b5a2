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
  type ResultOf,
  type RouteInfo,
  type RouteOptions,
  type ShapeOf,
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
export { escapeHTML } from "./internal/html.ts";
export { SSEFormatError } from "./internal/sse.ts";
// Schemas
export {
  type InferOutput,
  SchemaError,
  type StandardSchemaV1,
} from "./internal/standard-schema.ts";
export {
  JSONRPC_ERRORS,
  JSONRPCError,
  JSONRPCErrorResponse,
  type JSONRPCFailure,
  type JSONRPCId,
  JSONRPCResponse,
  JSONRPCRouter,
  type JSONRPCSuccess,
} from "./jsonrpc.ts";
export {
  DEFAULT_BODY_LIMIT,
  type DefaultShape,
  type RequestShape,
  SluiceRequest,
} from "./request.ts";
// Typed routes, API responses and JSON-RPC
export { APIResponse } from "./responses/api.ts";
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
// Files
export { type FileInit, FileResponse } from "./responses/file.ts";
export { type NDJSONInit, NDJSONResponse } from "./responses/ndjson.ts";
export { ServerSentEvent, type SSEEvent, type SSEInit, SSEResponse, sse } from "./responses/sse.ts";
export {
  type Chunk,
  type StreamBody,
  type StreamInit,
  StreamingResponse,
  type StreamSource,
} from "./responses/stream.ts";
export {
  type AnySchema,
  type BodyDecl,
  type Input,
  isSchema,
  type NDJSONDecl,
  ndjsonOf,
  type Output,
  type ResponseDecl,
  type SSEDecl,
  sseOf,
  type ValidationIssue,
} from "./schema.ts";
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
