export {
  type ParsedEvent,
  parseLines,
  parseNDJSON,
  parseSSE,
  SSEParser,
} from "../internal/event-stream.ts";
export {
  type CertificateOptions,
  type SelfSignedCertificate,
  selfSignedCertificate,
} from "./cert.ts";
export {
  type ClientMode,
  chunks,
  events,
  lines,
  ndjson,
  type TestClient,
  testClient,
} from "./client.ts";
