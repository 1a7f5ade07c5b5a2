export { type ClientMode, chunks, type TestClient, testClient } from "./client.ts";
export { type ParsedEvent, parseLines, parseNDJSON, parseSSE, SSEParser } from "./sse-parser.ts";
