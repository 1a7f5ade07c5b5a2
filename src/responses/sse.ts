import {
  formatData,
  formatEvent,
  frameData,
  frameHead,
  PING,
  type SSEEvent,
  SSEFormatError,
  validateSSEEvent,
} from "../internal/sse.ts";
import { type StandardSchemaV1, validateSync } from "../internal/standard-schema.ts";
import type { Chunk, Encoder, StreamBody, StreamInit, StreamSource } from "./stream.ts";
import { StreamingResponse } from "./stream.ts";

const EVENT = Symbol.for("sluice.ServerSentEvent");
// Shared by every event stream, not made for each: an idle stream should hold little.
const SSE_METHODS: readonly string[] = Object.freeze(["GET", "HEAD"]);
const DEFAULT_KEEPALIVE: NonNullable<StreamBody["heartbeat"]> = Object.freeze({
  intervalMs: 15000,
  frame: PING,
});
const utf8 = new TextEncoder();

// The field lines a ServerSentEvent framed when it was made. A module-private symbol rather than
// a #private field, so that the type stays structural as before (an object with the same fields
// still type-checks where an event is expected, and is sent as plain data).
const HEAD = Symbol("sluice.ServerSentEvent.head");

/**
 * One event with its fields (`event`, `id`, `retry`, `comment`) besides `data`. Yield it from an SSE
 * producer where a bare value would only set `data`. Build with `new ServerSentEvent({...})` or
 * `sse({...})`.
 *
 * Its fields are checked and framed once, when it is made: sending it only adds the data lines.
 *
 * @example
 * yield new ServerSentEvent({ event: "tick", id: 7, data: { n: 1 } });
 */
export class ServerSentEvent<T = unknown> {
  readonly data?: T;
  readonly event?: string;
  readonly id?: string | number;
  readonly retry?: number;
  readonly comment?: string;

  // The brand lives on the prototype: one property for all events, none set per event.
  static {
    Object.defineProperty(ServerSentEvent.prototype, EVENT, { value: true });
  }

  /** Throws an SSEFormatError naming the problem when a field cannot be framed (CR/LF/NUL in event or id, a non-integer retry). */
  constructor(fields: SSEEvent<T>) {
    const problem = validateSSEEvent(fields);
    if (problem !== undefined) throw new SSEFormatError(problem);
    // Every field set, in one order, so all events share one shape (fast to create and read).
    this.data = fields.data;
    this.event = fields.event;
    this.id = fields.id;
    this.retry = fields.retry;
    this.comment = fields.comment;
    // What is sent is what was checked: later changes to the fields above do not reach the wire.
    (this as unknown as Record<symbol, string>)[HEAD] = frameHead(fields);
  }

  /**
   * True for a ServerSentEvent, also one made by another copy of Sluice.
   *
   * @example
   * ServerSentEvent.is(sse({ data: 1 })); // true
   */
  static is(value: unknown): value is ServerSentEvent {
    return (
      typeof value === "object" &&
      value !== null &&
      (value as Record<symbol, unknown>)[EVENT] === true
    );
  }
}

/**
 * Shorthand for `new ServerSentEvent(fields)`.
 *
 * @example
 * yield sse({ event: "done", data: "[DONE]" });
 */
export function sse<T>(fields: SSEEvent<T>): ServerSentEvent<T> {
  return new ServerSentEvent(fields);
}

/**
 * An event framed and encoded to UTF-8 once, to be sent as it is by any number of SSE responses:
 * a broadcast encodes each event once and every subscriber's stream writes the same bytes (a lone
 * chunk goes to the socket without a copy). Checked like a ServerSentEvent when it is made; a
 * response's `schema` does not see it again.
 *
 * @example
 * const frame = new EncodedEvent({ id: 7, event: "tick", data: { n: 1 } });
 * for (const subscriber of subscribers) subscriber.push(frame); // each yields it to its SSEResponse
 */
export class EncodedEvent<T = unknown> {
  /** The frame's bytes: field lines, data lines and the blank line that dispatches it. */
  readonly bytes: Uint8Array;
  declare readonly "~data"?: T;

  /** Throws an SSEFormatError naming the problem when a field cannot be framed. */
  constructor(fields: SSEEvent<T>) {
    this.bytes = utf8.encode(formatEvent(fields));
  }
}

/**
 * Frames one item of an event stream: a ServerSentEvent (its fields framed when it was made), an
 * EncodedEvent (its bytes), or plain data; `check` validates the data when a schema applies.
 */
function encodeItem(item: unknown, check?: (data: unknown) => unknown): Chunk {
  if (typeof item === "object" && item !== null) {
    if (item instanceof ServerSentEvent) {
      // Checked and its fields framed when it was made: only the data lines are added here.
      const data = item.data;
      const head = (item as unknown as Record<symbol, string>)[HEAD]!;
      if (data === undefined) return head + "\n";
      return head + frameData(check === undefined ? data : check(data));
    }
    if (item instanceof EncodedEvent) return item.bytes;
    if (ServerSentEvent.is(item)) {
      // Made by another copy of Sluice: checked again here.
      const data = (item as ServerSentEvent).data;
      return formatEvent(
        check === undefined || data === undefined ? item : { ...item, data: check(data) },
      );
    }
  }
  // Plain data: framed straight from the value, no event object made for it.
  return formatData(check === undefined ? item : check(item));
}

/** Options of an SSE response. */
export interface SSEInit<T>
  extends Omit<StreamInit<T | ServerSentEvent<T> | EncodedEvent<T>>, "mediaType"> {
  /**
   * Milliseconds without an event after which a `: ping` comment is sent, so proxies keep the
   * connection open. Default 15000; 0 or false turns it off.
   */
  keepalive?: number | false;
  /** Each event's data is validated against it before it is sent; a failure is a mid-stream error. */
  schema?: StandardSchemaV1<unknown, T>;
}

/**
 * A Server-Sent Events stream (`text/event-stream`). Items are the data of each event, or
 * `ServerSentEvent`s with more fields. Object data is sent as JSON; data with line breaks becomes
 * several `data:` lines; CR, LF or NUL in `event` or `id` is refused, never framed. The headers
 * go out at once, so an EventSource opens before the first event. Only GET (and HEAD) may answer
 * with it: another method gets a 405.
 *
 * @example
 * app.get("/ticks", (req) => new SSEResponse(async function* () {
 *   let i = Number(req.lastEventId ?? -1) + 1; // resume after a reconnect
 *   for (;; i++) {
 *     yield sse({ id: i, event: "tick", data: { i } });
 *     await setTimeout(1000, undefined, { signal: req.signal });
 *   }
 * }()));
 */
export class SSEResponse<T = unknown> extends StreamingResponse<
  T | ServerSentEvent<T> | EncodedEvent<T>
> {
  readonly keepalive: number;
  /** Each event's data is validated against it before it is sent. */
  schema: StandardSchemaV1<unknown, T> | undefined;
  /** Tells an event stream from other streams, also in types. */
  get format(): "sse" {
    return "sse";
  }

  /** The methods that may answer with an event stream. */
  get allowedMethods(): readonly string[] {
    return SSE_METHODS;
  }

  constructor(source: StreamSource<T | ServerSentEvent<T> | EncodedEvent<T>>, init?: SSEInit<T>) {
    super(source, init, "text/event-stream; charset=utf-8");
    this.keepalive = init?.keepalive === false ? 0 : (init?.keepalive ?? 15000);
    this.schema = init?.schema;
    // Caches and buffering proxies (nginx) must pass events through as they come.
    if (this.headers["cache-control"] === undefined) this.setHeader("cache-control", "no-cache");
    if (this.headers["x-accel-buffering"] === undefined) this.setHeader("x-accel-buffering", "no");
  }

  protected override encoder(): Encoder<T | ServerSentEvent<T> | EncodedEvent<T>> {
    const schema = this.schema;
    // Without a schema, one function for every stream: no closure held per stream.
    if (schema === undefined) return encodeItem;
    const check = (data: unknown) => validateSync(schema, data, "SSE event data");
    return (item) => encodeItem(item, check);
  }

  protected override get headersFirst(): boolean {
    return true;
  }

  // An EventSource reconnects (with Last-Event-ID) when the stream ends cleanly: at shutdown it
  // resumes on another instance, where a truncated stream would only be an error to it.
  protected override get endAtShutdown(): boolean {
    return true;
  }

  protected override get heartbeat(): StreamBody["heartbeat"] {
    if (this.keepalive === DEFAULT_KEEPALIVE.intervalMs) return DEFAULT_KEEPALIVE;
    return this.keepalive > 0 ? { intervalMs: this.keepalive, frame: PING } : undefined;
  }
}

export type { SSEEvent };
