export {
  type ParsedEvent,
  parseLines,
  parseNDJSON,
  parseSSE,
  SSEParser,
} from "../internal/event-stream.ts";
export {
  type ClientMode,
  chunks,
  events,
  lines,
  ndjson,
  type TestClient,
  testClient,
} from "./client.ts";
