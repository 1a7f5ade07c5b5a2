/**
 * Incremental readers of streamed bodies, shared by the typed client (`sluice/client`) and the test
 * client (`sluice/testing`): an event-stream parser that follows WHATWG HTML §9.2.6 ("Interpreting
 * an event stream") to the letter, and line / NDJSON readers. They see a stream as a browser would,
 * so both observe what a real client gets, not what the server meant to send. Runtime-neutral: no
 * Node built-in, only TextDecoder.
 */

/**
 * One dispatched event, as an EventSource would deliver it.
 *
 * @example
 * const ev: ParsedEvent = { event: "message", data: "hi", id: "" };
 */
export type ParsedEvent = {
  /** The event type; "message" when the stream named none. */
  event: string;
  /** The data lines joined with LF. */
  data: string;
  /** The last event ID in effect at dispatch: it persists across events until an `id` resets it. */
  id: string;
  /** The reconnection time in effect at dispatch, if the stream ever set a valid one. */
  retry?: number;
};

const ASCII_DIGITS = /^[0-9]+$/;

/**
 * A push parser for `text/event-stream`. Feed it decoded text in chunks of any size; it returns the
 * events each chunk completes.
 *
 * @example
 * const parser = new SSEParser();
 * parser.push("data: a\n"); // []
 * parser.push("\n");        // [{ event: "message", data: "a", id: "" }]
 */
export class SSEParser {
  #started = false;
  #line = "";
  #afterCR = false;
  #data = "";
  #eventType = "";
  #lastEventId = "";
  #dispatchedId = "";
  #retry: number | undefined = undefined;

  /** The last event ID buffer, including an `id` seen in an event not dispatched yet. */
  get lastEventId(): string {
    return this.#lastEventId;
  }

  /**
   * The event source's "last event ID string" (§9.2.6): the buffer's value at the last blank line
   * that ended an event, with or without data. This is what a reconnecting client sends as
   * `Last-Event-ID`; an id in an event cut off before its blank line is not.
   */
  get dispatchedId(): string {
    return this.#dispatchedId;
  }

  /** The reconnection time the stream last set, in milliseconds. */
  get retry(): number | undefined {
    return this.#retry;
  }

  /** Consumes a chunk of text and returns the events it completes, in order. */
  push(chunk: string): ParsedEvent[] {
    const events: ParsedEvent[] = [];
    if (chunk === "") return events;
    let pos = 0;
    if (!this.#started) {
      this.#started = true;
      // UTF-8 decode drops one leading BOM (§9.2.6 via Encoding's "UTF-8 decode"); only one.
      if (chunk.charCodeAt(0) === 0xfeff) pos = 1;
    }
    if (this.#afterCR) {
      // A CR that ended the previous chunk and this LF are one CRLF line ending (§9.2.5).
      this.#afterCR = false;
      if (chunk.charCodeAt(pos) === 0x0a) pos++;
    }
    const length = chunk.length;
    // Each search restarts only once passed, so a chunk without CR is not rescanned for every line.
    let lf = -2;
    let cr = -2;
    while (pos < length) {
      if (lf !== -1 && lf < pos) lf = chunk.indexOf("\n", pos);
      if (cr !== -1 && cr < pos) cr = chunk.indexOf("\r", pos);
      const end = cr === -1 ? lf : lf === -1 ? cr : Math.min(cr, lf);
      if (end === -1) {
        this.#line += chunk.slice(pos);
        break;
      }
      const line = this.#line + chunk.slice(pos, end);
      this.#line = "";
      pos = end + 1;
      if (end === cr) {
        if (pos === length) this.#afterCR = true;
        else if (chunk.charCodeAt(pos) === 0x0a) pos++;
      }
      this.#processLine(line, events);
    }
    return events;
  }

  /**
   * Marks the end of the stream. An event still lacking its blank line is discarded, and so is an
   * unterminated last line (§9.2.6: "any pending data must be discarded"), so this always returns
   * an empty list; it exists so that callers need not know that. The parser is ready for a new
   * stream afterwards; the last event ID and reconnection time are kept, as a reconnecting client
   * keeps them.
   */
  end(): ParsedEvent[] {
    this.#started = false;
    this.#line = "";
    this.#afterCR = false;
    this.#data = "";
    this.#eventType = "";
    return [];
  }

  #processLine(line: string, events: ParsedEvent[]): void {
    if (line === "") {
      this.#dispatch(events);
      return;
    }
    const colon = line.indexOf(":");
    if (colon === 0) return;
    let field = line;
    let value = "";
    if (colon > 0) {
      field = line.slice(0, colon);
      value = line.charCodeAt(colon + 1) === 0x20 ? line.slice(colon + 2) : line.slice(colon + 1);
    }
    switch (field) {
      case "event":
        this.#eventType = value;
        break;
      case "data":
        this.#data += value + "\n";
        break;
      case "id":
        if (!value.includes("\0")) this.#lastEventId = value;
        break;
      case "retry":
        if (ASCII_DIGITS.test(value)) this.#retry = Number.parseInt(value, 10);
        break;
    }
  }

  #dispatch(events: ParsedEvent[]): void {
    // Step 1 of dispatch sets the last event ID string before the empty-data check, so an event
    // with an id and no data still moves it.
    this.#dispatchedId = this.#lastEventId;
    const data = this.#data;
    const type = this.#eventType;
    this.#data = "";
    this.#eventType = "";
    if (data === "") return;
    const event: ParsedEvent = {
      event: type === "" ? "message" : type,
      data: data.slice(0, -1),
      id: this.#lastEventId,
    };
    if (this.#retry !== undefined) event.retry = this.#retry;
    events.push(event);
  }
}

/**
 * Parses an event stream from text or UTF-8 bytes, yielding each event as it completes. Returning
 * early (a `break` in `for await`) returns the chunk source too (a response body is cancelled). Pass
 * the parser of a previous connection to carry its last event ID and reconnection time over, as a
 * reconnecting client does.
 *
 * @example
 * for await (const ev of parseSSE(response.body!)) console.log(ev.event, ev.data);
 */
export async function* parseSSE(
  chunks: AsyncIterable<string | Uint8Array> | ReadableStream<Uint8Array>,
  parser: SSEParser = new SSEParser(),
): AsyncGenerator<ParsedEvent, void, undefined> {
  // ignoreBOM keeps the BOM in the text so that the parser strips exactly one, as the spec does.
  const text = textOf(chunks instanceof ReadableStream ? bodyChunks(chunks) : chunks, true);
  for await (const chunk of text) yield* parser.push(chunk);
  yield* parser.end();
}

/**
 * Splits a stream into lines at LF, dropping one CR before it, and decodes UTF-8 across chunk
 * boundaries. A last line without LF is still yielded unless it is empty.
 *
 * @example
 * for await (const line of parseLines(response.body!)) console.log(line);
 */
export async function* parseLines(
  chunks: AsyncIterable<string | Uint8Array>,
): AsyncGenerator<string, void, undefined> {
  const lines = new LineSplitter();
  for await (const text of textOf(chunks, false)) yield* lines.push(text);
  yield* lines.end();
}

/**
 * A push splitter of text into lines at LF, dropping one CR before it: feed it text in chunks of
 * any size; it returns the lines each chunk completes. `end()` returns the last line if it had no
 * LF (and is not empty).
 *
 * @example
 * const lines = new LineSplitter();
 * lines.push("a\nb"); // ["a"]
 * lines.end();        // ["b"]
 */
export class LineSplitter {
  #rest = "";

  /** Consumes a chunk of text and returns the lines it completes, in order. */
  push(text: string): string[] {
    const out: string[] = [];
    let pos = 0;
    let lf = text.indexOf("\n");
    while (lf !== -1) {
      const line = this.#rest + text.slice(pos, lf);
      this.#rest = "";
      out.push(line.endsWith("\r") ? line.slice(0, -1) : line);
      pos = lf + 1;
      lf = text.indexOf("\n", pos);
    }
    this.#rest += text.slice(pos);
    return out;
  }

  /** Marks the end: the last line, if it had no LF and is not empty. */
  end(): string[] {
    const rest = this.#rest;
    this.#rest = "";
    return rest === "" ? [] : [rest.endsWith("\r") ? rest.slice(0, -1) : rest];
  }
}

/**
 * Parses newline-delimited JSON, one value per line, skipping empty lines. A line that is not JSON
 * throws a SyntaxError naming its line number, so a truncated stream fails visibly.
 *
 * @example
 * for await (const row of parseNDJSON<{ id: number }>(response.body!)) console.log(row.id);
 */
export async function* parseNDJSON<T = unknown>(
  chunks: AsyncIterable<string | Uint8Array>,
): AsyncGenerator<T, void, undefined> {
  let lineNumber = 0;
  for await (const line of parseLines(chunks)) {
    lineNumber++;
    if (line === "") continue;
    let value: T;
    try {
      value = JSON.parse(line) as T;
    } catch (cause) {
      throw new SyntaxError(`NDJSON line ${lineNumber} is not JSON: ${(cause as Error).message}`, {
        cause,
      });
    }
    yield value;
  }
}

/**
 * A body's chunks as they arrive, read with a reader (async iteration of a ReadableStream is not in
 * every browser yet). Leaving early (break, throw) cancels the body, which the server sees as the
 * client going away.
 *
 * @example
 * for await (const chunk of bodyChunks(response.body!)) console.log(chunk.byteLength);
 */
export async function* bodyChunks(
  body: ReadableStream<Uint8Array>,
): AsyncGenerator<Uint8Array, void, undefined> {
  const reader = body.getReader();
  let done = false;
  try {
    for (;;) {
      const r = await reader.read();
      if (r.done) {
        done = true;
        return;
      }
      yield r.value;
    }
  } finally {
    if (!done) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

// Decodes in streaming mode so that a code point split across chunks is decoded whole; string
// chunks pass through, after flushing any bytes left over from a previous byte chunk.
async function* textOf(
  chunks: AsyncIterable<string | Uint8Array>,
  ignoreBOM: boolean,
): AsyncGenerator<string, void, undefined> {
  const decoder = new TextDecoder("utf-8", { ignoreBOM });
  let pendingBytes = false;
  for await (const chunk of chunks) {
    if (typeof chunk === "string") {
      if (pendingBytes) {
        const flushed = decoder.decode();
        if (flushed !== "") yield flushed;
        pendingBytes = false;
      }
      yield chunk;
    } else {
      pendingBytes = true;
      const text = decoder.decode(chunk, { stream: true });
      if (text !== "") yield text;
    }
  }
  if (pendingBytes) {
    const flushed = decoder.decode();
    if (flushed !== "") yield flushed;
  }
}
