// The public surface of "sluice/client": a typed client of a Sluice app. Runtime-neutral and
// without dependencies: it uses only web APIs, so it runs in browsers, Node, Bun, Deno and Workers
// (src/index.test.ts bundles it for a browser and fails on any Node built-in or package import).
// Each export is listed by name; src/index.test.ts snapshots the list.

export type { RoutesOf } from "../core/routes.ts";
export { type ParsedEvent, parseSSE } from "../internal/event-stream.ts";
export { SchemaError } from "../internal/standard-schema.ts";
export { type ClientOptions, client } from "./client.ts";
export { type Problem, ProblemError, StreamError } from "./errors.ts";
export {
  EventStream,
  type Gap,
  ItemStream,
  type ReconnectInfo,
  type ResumeOptions,
  type StreamEvent,
} from "./stream.ts";
export type {
  CallInput,
  CallOptions,
  CallResult,
  Client,
  ClientOf,
  QueryValue,
  Scalar,
} from "./types.ts";
