// The public surface of "sluice": the runtime-neutral core. Nothing reachable from here imports a
// `node:` module or a package that does (src/index.test.ts checks it), so `app.fetch` runs on Node,
// Bun, Deno and Workers. Node-only parts are in "sluice/node". Each export is listed by name;
// src/index.test.ts snapshots the list.

// The app
export { App } from "./app.ts";
// Broadcast channels
export {
  type ChannelBackend,
  compareIds,
  isChannelId,
  type StoredEvent,
} from "./channels/backend.ts";
export {
  Channel,
  type ChannelEvent,
  type ChannelGap,
  ChannelOverrunError,
  Channels,
  type ChannelsOptions,
  type EventsOptions,
  isChannelName,
  type SubscribeOptions,
} from "./channels/channel.ts";
export { MemoryBackend, type MemoryBackendOptions } from "./channels/memory.ts";
export { AppCore } from "./core/app.ts";
export { coerce } from "./core/coerce.ts";
export type { AppPort, ErrorContext, ErrorHook, StreamStats } from "./core/port.ts";
export type {
  Handler,
  HandlerResult,
  Method,
  Middleware,
  Mountable,
  Mounted,
  PathParams,
  ResultOf,
  Route,
  RouteInfo,
  RouteOptions,
  Routes,
  RoutesOf,
  ShapeOf,
} from "./core/routes.ts";
export type { FetchInfo } from "./engine/fetch/request.ts";
// Errors and headers
export { HTTPError, type ProblemExtensions, problemBody } from "./http/errors.ts";
export {
  assertHeader,
  HeaderError,
  isValidHeaderName,
  isValidHeaderValue,
} from "./http/headers.ts";
// The request
export {
  DEFAULT_BODY_LIMIT,
  type DefaultShape,
  type RequestShape,
  SluiceRequest,
} from "./http/request.ts";
// Schemas
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
} from "./http/schema.ts";
// Status codes
export {
  type ContentfulStatus,
  type ContentlessStatus,
  type ErrorStatus,
  type RedirectStatus,
  STATUS_TEXT,
  type StatusCode,
  statusText,
} from "./http/status.ts";
export type {
  TemplateContext,
  TemplateEngine,
  TemplateRenderOptions,
} from "./http/templates.ts";
export { escapeHTML } from "./internal/html.ts";
export { SSEFormatError } from "./internal/sse.ts";
export {
  type InferOutput,
  SchemaError,
  type StandardSchemaV1,
} from "./internal/standard-schema.ts";
// JSON-RPC
export {
  JSONRPC_ERRORS,
  JSONRPCError,
  JSONRPCErrorResponse,
  type JSONRPCFailure,
  type JSONRPCId,
  JSONRPCResponse,
  JSONRPCRouter,
  type JSONRPCSuccess,
} from "./jsonrpc/jsonrpc.ts";
// Responses
export { APIResponse } from "./responses/api.ts";
export {
  type BackgroundTask,
  type Body,
  type BufferedInit,
  BufferedResponse,
  type CookieOptions,
  type FileBody,
  type FileRange,
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
export { type CSVInit, CSVResponse, type CSVRow } from "./responses/csv.ts";
export { type NDJSONInit, NDJSONResponse } from "./responses/ndjson.ts";
export { ProblemResponse } from "./responses/problem.ts";
export {
  EncodedEvent,
  ServerSentEvent,
  type SSEEvent,
  type SSEInit,
  SSEResponse,
  sse,
} from "./responses/sse.ts";
export {
  type Chunk,
  type Sink,
  type SinkCoding,
  type StreamBody,
  type StreamInit,
  StreamingResponse,
  type StreamSource,
} from "./responses/stream.ts";
