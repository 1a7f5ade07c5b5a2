export {
  type ClientMode,
  chunks,
  events,
  lines,
  ndjson,
  type TestClient,
  testClient,
} from "./client.ts";
export { type ParsedEvent, parseLines, parseNDJSON, parseSSE, SSEParser } from "./sse-parser.ts";
