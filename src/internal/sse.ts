/**
 * Server-Sent Events framing (WHATWG HTML, "Server-sent events", §9.2.6 "Interpreting an event
 * stream"). Pure functions: an event goes in, the exact text of one frame comes out. Encoding the
 * text to UTF-8 is the stream pipeline's job (the spec mandates UTF-8, §9.2.5).
 */

/**
 * One event as a producer describes it. Every field is optional, but an event must carry at least
 * one of them.
 *
 * @example
 * const ev: SSEEvent<{ n: number }> = { event: "tick", id: 7, data: { n: 1 } };
 */
export type SSEEvent<T = unknown> = {
  /** A string is sent as is; anything else is sent as its JSON text. */
  data?: T;
  /** The event type; the client's default is "message". */
  event?: string;
  /** Becomes the client's last event ID, sent back as `Last-Event-ID` when it reconnects. */
  id?: string | number;
  /** The client's reconnection time in milliseconds. */
  retry?: number;
  /** Sent as `:` lines, which every client ignores. */
  comment?: string;
};

/**
 * Thrown when an event cannot be framed without changing its meaning on the wire.
 *
 * @example
 * try { formatEvent({ event: "a\nb" }); } catch (err) { err instanceof SSEFormatError; } // true
 */
export class SSEFormatError extends TypeError {
  override name = "SSEFormatError";
}

/**
 * A keepalive frame: a lone comment, which the client parses and ignores (§9.2.6), sent so that
 * proxies do not close an idle connection (§9.2.7 suggests a comment every 15 seconds or so).
 *
 * @example
 * socket.write(PING); // ": ping\n\n"
 */
export const PING = ": ping\n\n";

// The client ends a line at CRLF, LF or CR (§9.2.5 `end-of-line`), so each of these must start a
// new field line of our own, or the rest of the value would be read as a field of its own.
const LINE_BREAK = /\r\n|\r|\n/;
/**
 * True when a single-line field (`event`, `id`) holds CR, LF or NUL: a line break would start a
 * field of its own, and a NUL in `id` makes the client ignore the whole field. A loop rather than
 * a regular expression: it runs for every event, and field values are short.
 */
function forbiddenInField(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x0a || c === 0x0d || c === 0) return true;
  }
  return false;
}

/**
 * Returns what is wrong with an event, or undefined when it can be framed. Checks types, line
 * breaks and NUL in `event`/`id`, the range of `retry`, and that something is to be sent. Data is
 * only checked for the kinds of value JSON cannot carry at all (functions, symbols, bigints), so
 * that the check stays cheap; `formatEvent` still refuses a value whose JSON text is undefined.
 *
 * @example
 * validateSSEEvent({ id: "a\nb" }); // "SSE id must not contain CR, LF or NUL"
 */
export function validateSSEEvent(ev: unknown): string | undefined {
  if (typeof ev !== "object" || ev === null || Array.isArray(ev)) {
    return "an SSE event must be an object";
  }
  const { data, event, id, retry, comment } = ev as Record<string, unknown>;
  // Checked field by field, without closures or allocation: this runs for every event sent.
  if (
    data === undefined &&
    event === undefined &&
    id === undefined &&
    retry === undefined &&
    comment === undefined
  ) {
    return "an SSE event must have at least one of data, event, id, retry or comment";
  }
  if (typeof data === "function" || typeof data === "symbol" || typeof data === "bigint") {
    return `SSE data of type ${typeof data} cannot be sent as JSON`;
  }
  if (event !== undefined) {
    if (typeof event !== "string") return "SSE event must be a string";
    if (forbiddenInField(event)) return "SSE event must not contain CR, LF or NUL";
  }
  if (id !== undefined) {
    if (typeof id === "number") {
      if (!Number.isFinite(id)) return "SSE id must be a finite number or a string";
    } else if (typeof id !== "string") {
      return "SSE id must be a string or a number";
    } else if (forbiddenInField(id)) {
      return "SSE id must not contain CR, LF or NUL";
    }
  }
  if (retry !== undefined && !(Number.isSafeInteger(retry) && (retry as number) >= 0)) {
    // The client only accepts ASCII digits (§9.2.6), so no sign, fraction or exponent.
    return "SSE retry must be a non-negative safe integer";
  }
  if (comment !== undefined && typeof comment !== "string") {
    return "SSE comment must be a string";
  }
  return undefined;
}

/**
 * Frames one event: comment lines, then `event`, `id`, `retry`, then the data lines, then the
 * blank line that makes the client dispatch it. Throws SSEFormatError for anything
 * `validateSSEEvent` refuses and for data whose JSON text is undefined or that JSON cannot
 * serialise (a cycle, a bigint inside).
 *
 * Line breaks inside data split it into several `data` lines. The client joins them with LF, so
 * `"a\nb"` arrives unchanged, while CR and CRLF arrive as LF: the event stream format has no way to
 * carry them (§9.2.6).
 *
 * @example
 * formatEvent({ event: "tick", id: 1, data: { n: 1 } });
 * // 'event: tick\nid: 1\ndata: {"n":1}\n\n'
 */
export function formatEvent(ev: SSEEvent): string {
  const problem = validateSSEEvent(ev);
  if (problem !== undefined) throw new SSEFormatError(problem);
  const head = frameHead(ev);
  return ev.data === undefined ? head + "\n" : head + frameData(ev.data);
}

// The `event` line framed last, by its value.
let lastEvent: string | undefined;
let lastEventLine = "";

/**
 * The field lines of an event before its data (comment, `event`, `id`, `retry`), for an event
 * `validateSSEEvent` has accepted: framed without checking again. A ServerSentEvent frames these
 * once, when it is made.
 *
 * @example
 * frameHead({ event: "tick", id: 1 }); // "event: tick\nid: 1\n"
 */
export function frameHead(ev: SSEEvent): string {
  const { comment, event, id, retry } = ev;
  let frame = "";
  if (comment !== undefined) {
    for (const line of comment.split(LINE_BREAK)) frame += fieldLine("", line);
  }
  // One template per field rather than a helper's concatenations: this runs for every event. A
  // stream's events mostly share their type: its line is made once and reused.
  if (event !== undefined) {
    if (event !== lastEvent) {
      lastEvent = event;
      lastEventLine = event === "" ? "event:\n" : `event: ${event}\n`;
    }
    frame += lastEventLine;
  }
  if (id !== undefined) frame += id === "" ? "id:\n" : `id: ${id}\n`;
  if (retry !== undefined) frame += `retry: ${retry}\n`;
  return frame;
}

/**
 * The data lines of an event and the blank line that ends it; throws SSEFormatError for data that
 * has no JSON text.
 *
 * @example
 * frameData({ n: 1 }); // 'data: {"n":1}\n\n'
 */
export function frameData(data: unknown): string {
  if (typeof data === "string") {
    // Most data has no line break: skip the split.
    if (data.indexOf("\n") === -1 && data.indexOf("\r") === -1) {
      return data === "" ? "data:\n\n" : "data: " + data + "\n\n";
    }
    let lines = "";
    for (const line of data.split(LINE_BREAK)) lines += fieldLine("data", line);
    return lines + "\n";
  }
  // JSON text never holds a raw CR or LF (JSON.stringify escapes them), so it is one line, and
  // never empty.
  return "data: " + jsonText(data) + "\n\n";
}

/**
 * Frames a data-only event; the same as `formatEvent({ data })`.
 *
 * @example
 * formatData("hello\nworld"); // "data: hello\ndata: world\n\n"
 */
export function formatData(data: unknown): string {
  if (data === undefined)
    throw new SSEFormatError(
      "an SSE event must have at least one of data, event, id, retry or comment",
    );
  return frameData(data);
}

/**
 * Frames a comment on its own, for keepalives or debugging notes; each line becomes a `:` line.
 *
 * @example
 * formatComment("ping"); // ": ping\n\n"
 */
export function formatComment(text: string): string {
  return formatEvent({ comment: text });
}

// One space after the colon because the client strips exactly one (§9.2.6), so a value that
// itself starts with a space keeps it; an empty value needs no space at all.
function fieldLine(name: string, value: string): string {
  return value === "" ? name + ":\n" : name + ": " + value + "\n";
}

function jsonText(data: unknown): string {
  if (typeof data === "function" || typeof data === "symbol" || typeof data === "bigint") {
    throw new SSEFormatError(`SSE data of type ${typeof data} cannot be sent as JSON`);
  }
  let text: string | undefined;
  try {
    text = JSON.stringify(data);
  } catch (cause) {
    throw new SSEFormatError(`SSE data cannot be sent as JSON: ${(cause as Error).message}`, {
      cause,
    });
  }
  if (text === undefined) {
    throw new SSEFormatError("SSE data has no JSON text (JSON.stringify returned undefined)");
  }
  return text;
}
