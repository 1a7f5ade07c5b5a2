import { encodeNDJSON } from "../internal/ndjson.ts";
import { type StandardSchemaV1, validateSync } from "../internal/standard-schema.ts";
import type { Encoder, StreamInit, StreamSource } from "./stream.ts";
import { StreamingResponse } from "./stream.ts";

/** Options of an NDJSON response. */
export interface NDJSONInit<T> extends Omit<StreamInit<T>, "mediaType"> {
  /** `application/x-ndjson` (default) or `application/jsonl`. */
  mediaType?: "application/x-ndjson" | "application/jsonl";
  /** Each item is validated against it before it is sent; a failure is a mid-stream error. */
  schema?: StandardSchemaV1<unknown, T>;
}

/**
 * A stream of JSON values, one compact value per line (`application/x-ndjson`). Items go out as
 * they are produced, batched when they come back to back.
 *
 * @example
 * app.get("/export", () => new NDJSONResponse(async function* () {
 *   for (let i = 0; i < 3; i++) yield { i, sq: i * i };
 * }()));
 */
export class NDJSONResponse<T = unknown> extends StreamingResponse<T> {
  /** Each item is validated against it before it is sent. */
  schema: StandardSchemaV1<unknown, T> | undefined;
  /** Tells an NDJSON stream from other streams, also in types. */
  readonly format = "ndjson" as const;

  constructor(source: StreamSource<T>, init?: NDJSONInit<T>) {
    super(source, init, "application/x-ndjson");
    this.schema = init?.schema;
  }

  protected override encoder(): Encoder<T> {
    const schema = this.schema;
    if (!schema) return encodeNDJSON;
    return (item) => encodeNDJSON(validateSync(schema, item, "NDJSON item"));
  }
}
