/**
 * The typed client's streams: an NDJSON response as an async iterable of its items, an event stream
 * as an async iterable of its events, both resuming after a lost connection with `Last-Event-ID`.
 */

import { bodyChunks, LineSplitter, type ParsedEvent, SSEParser } from "../internal/event-stream.ts";
import { SchemaError, type StandardSchemaV1 } from "../internal/standard-schema.ts";
import { ProblemError, problemError, StreamError } from "./errors.ts";

/**
 * How a stream resumes after its connection is lost (or, for an event stream, ends): it waits,
 * then asks again with `Last-Event-ID`. The first wait is the stream's `retry:` time (or `delay`);
 * each failed attempt in a row doubles it up to `maxDelay`; every wait gets up to 50% more, at
 * random, so that many clients cut off at once do not come back at once.
 */
export interface ResumeOptions {
  /** The wait before the first attempt, in ms, until the server sets one with `retry:` (default 1000). */
  delay?: number;
  /** The longest wait between attempts, in ms, before jitter (default 30 000). */
  maxDelay?: number;
  /** Failed attempts in a row after which the stream stops with a StreamError (default: no limit). */
  maxAttempts?: number;
  /**
   * Told before each wait: a page can say "reconnecting…" (the next item says it is back). Its
   * errors are not caught: a hook that throws ends the stream with that error.
   */
  onReconnect?: (info: ReconnectInfo) => void;
}

/** What `onReconnect` is told. */
export interface ReconnectInfo {
  /** 1 for the first attempt after a cut or an end, counting up while attempts fail. */
  readonly attempt: number;
  /** How long the stream waits before it, in ms. */
  readonly wait: number;
  /** The id it resumes after. */
  readonly lastEventId: string | undefined;
  /** Why: the error that cut the connection or failed the last attempt; undefined after a clean end. */
  readonly cause: unknown;
}

/**
 * One event of an event stream, as the server sent it: its id (the last event ID in effect), its
 * name (`"message"` when it had none) and its data, parsed as JSON (a data that is not JSON, such
 * as a string the server sent as it is, arrives as that string).
 *
 * @example
 * for await (const ev of ticks) if (!ev.gap) console.log(ev.id, ev.event, ev.data.i);
 */
export interface StreamEvent<T, E extends string = string> {
  readonly gap: false;
  readonly id: string | undefined;
  readonly event: E;
  readonly data: T;
}

/**
 * The server could not replay everything after the last event ID the client sent (its history no
 * longer holds it): events between `lastEventId` and the next event were missed. A broadcast
 * channel says so with one `event: gap`; the client hands it on as this signal, never silently.
 *
 * @example
 * for await (const ev of feed) if (ev.gap) reloadEverything(); else apply(ev.data);
 */
export interface Gap {
  readonly gap: true;
  readonly event: "gap";
  /** The id the client resumed from, which the history no longer holds. */
  readonly lastEventId: string;
}

/**
 * Opens the stream again after `lastEventId`. It throws at once when the request cannot be built,
 * and returns a promise that rejects when it cannot be sent.
 */
export type Reconnect = (lastEventId: string | undefined, signal: AbortSignal) => Promise<Response>;

/** @internal what a stream is made of: its first response and how to open it again. */
export interface StreamSetup {
  readonly first: Response;
  readonly reconnect: Reconnect;
  /** Aborted when the stream is done with, whatever ended it; its signal goes with every request. */
  readonly controller: AbortController;
  /** The caller's signal (already linked to the controller): its abort ends the stream with its reason. */
  readonly signal: AbortSignal | undefined;
  readonly resume: ResumeOptions | false;
  readonly validate: StandardSchemaV1 | undefined;
  readonly lastEventId: string | undefined;
}

// Answers worth waiting out when resuming: a server restarting or overloaded behind a proxy.
const RETRYABLE = new Set([408, 425, 429, 500, 502, 503, 504]);
// A floor for the waits after a failed attempt, so that `retry: 0` cannot make a tight loop.
const MIN_FAILED_DELAY = 10;

/** A response's media type, lower case, without parameters. */
export function mediaTypeOf(res: Response): string {
  return (res.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
}

/**
 * What the NDJSON and SSE streams share: single iteration, cancellation, and resuming.
 * @internal
 */
abstract class ResumableStream<Item> implements AsyncIterable<Item> {
  #setup: StreamSetup;
  #lastEventId: string | undefined;
  #started = false;
  #closed = false;
  /** Attempts in a row without an item: what the wait before the next one grows with. */
  #failures = 0;

  constructor(setup: StreamSetup) {
    this.#setup = setup;
    this.#lastEventId = setup.lastEventId;
  }

  /** The id to resume after: the last event's id, or the id field of the last item. */
  get lastEventId(): string | undefined {
    return this.#lastEventId;
  }

  /** Moves the id to resume after ("" is no id, as for an EventSource). */
  protected moveTo(id: string | undefined): void {
    this.#lastEventId = id === "" ? undefined : id;
  }

  /** The media types this stream accepts when it reconnects. */
  protected abstract readonly mediaTypes: readonly string[];
  /** The items of one connection. */
  protected abstract items(res: Response): AsyncGenerator<Item, void, undefined>;
  /** Whether a cut connection can be resumed without losing or repeating anything. */
  protected abstract canResume(): boolean;
  /** Whether a clean end is a pause (reconnect) rather than the end. */
  protected abstract endIsPause(): boolean;
  /** The server's own reconnection time, if it set one. */
  protected retryTime(): number | undefined {
    return undefined;
  }

  /**
   * Stops the stream: the request is cancelled (the server sees the client go away), and an
   * iteration in progress ends as if the stream had ended. Breaking out of `for await` does the same.
   *
   * @example
   * const timer = setTimeout(() => stream.close(), 10_000);
   */
  close(): void {
    this.#closed = true;
    this.#setup.controller.abort(new DOMException("the stream was closed", "AbortError"));
  }

  [Symbol.asyncIterator](): AsyncIterator<Item> {
    if (this.#started) throw new TypeError("a stream can be iterated only once");
    this.#started = true;
    return this.#run();
  }

  async *#run(): AsyncGenerator<Item, void, undefined> {
    const { controller, resume } = this.#setup;
    let res: Response | null = this.#setup.first;
    try {
      for (;;) {
        if (this.#stopped()) return;
        let cut: unknown;
        try {
          for await (const item of this.items(res)) {
            this.#failures = 0;
            yield item;
          }
        } catch (err) {
          if (this.#stopped()) return;
          // A refusal or an item that fails its schema is not a lost connection.
          if (err instanceof SchemaError || ProblemError.is(err) || StreamError.is(err)) throw err;
          cut = err;
        }
        if (cut === undefined && !this.endIsPause()) return;
        if (resume === false || !this.canResume()) {
          if (cut === undefined) return;
          throw new StreamError(
            resume === false
              ? "the stream was cut and resuming is off"
              : "the stream was cut where it has no id to resume from",
            this.lastEventId,
            cut,
          );
        }
        res = await this.#reconnect(resume, cut);
        if (res === null) return;
      }
    } finally {
      controller.abort(new DOMException("the stream is done", "AbortError"));
    }
  }

  /** True when the caller closed the stream, or aborted it (then its reason is thrown). */
  #stopped(): boolean {
    const user = this.#setup.signal;
    if (user?.aborted) throw user.reason;
    return this.#closed || this.#setup.controller.signal.aborted;
  }

  /** The next connection after a cut or an end, or null when the server says there is no more. */
  async #reconnect(options: ResumeOptions, cause: unknown): Promise<Response | null> {
    const { controller, reconnect } = this.#setup;
    const signal = controller.signal;
    const maxAttempts = options.maxAttempts ?? Number.POSITIVE_INFINITY;
    let last: unknown = cause;
    let notBefore = 0;
    // A connection that delivered nothing before it ended counts as a failed attempt too, so a
    // server that answers and hangs up at once (with `retry: 0`, say) is not asked again at once.
    for (let attempt = ++this.#failures; ; attempt = ++this.#failures) {
      if (attempt > maxAttempts) {
        throw new StreamError(
          `gave up resuming the stream after ${maxAttempts} failed attempts`,
          this.lastEventId,
          last,
        );
      }
      const wait = Math.max(this.#wait(options, attempt), notBefore);
      options.onReconnect?.({ attempt, wait, lastEventId: this.lastEventId, cause: last });
      try {
        await sleep(wait, signal);
      } catch (err) {
        if (this.#stopped()) return null;
        throw err;
      }
      notBefore = 0;
      // A request that cannot even be built throws here, at once: that is no network error, and
      // trying again would not help.
      const pending = reconnect(this.lastEventId, signal);
      let res: Response;
      try {
        res = await pending;
      } catch (err) {
        if (this.#stopped()) return null;
        last = err;
        continue;
      }
      // 204: the server has no more for this client and asks it not to come back (HTML §9.2.3).
      if (res.status === 204) {
        await res.body?.cancel().catch(() => {});
        return null;
      }
      if (res.ok) {
        const type = mediaTypeOf(res);
        if (this.mediaTypes.includes(type)) return res;
        await res.body?.cancel().catch(() => {});
        throw new StreamError(
          `the stream came back as ${type || "a body without a type"}, not ${this.mediaTypes[0]}`,
          this.lastEventId,
        );
      }
      const problem = await problemError(res);
      if (res.type === "error" || RETRYABLE.has(res.status)) {
        last = problem;
        // Retry-After (RFC 9110 §10.2.3) in seconds: waited out, within the longest wait.
        const after = Number(res.headers.get("retry-after"));
        if (Number.isFinite(after) && after > 0)
          notBefore = Math.min(after * 1000, options.maxDelay ?? 30_000);
        continue;
      }
      throw problem;
    }
  }

  /** The wait before an attempt: the retry time doubled per failed attempt, capped, jittered. */
  #wait(options: ResumeOptions, attempt: number): number {
    const base = this.retryTime() ?? options.delay ?? 1000;
    const cap = Math.max(options.maxDelay ?? 30_000, base);
    const first = attempt === 1 ? base : Math.max(base, MIN_FAILED_DELAY);
    const wait = Math.min(cap, first * 2 ** (attempt - 1));
    return wait * (1 + Math.random() / 2);
  }

  /** Whether the caller gave a validator. */
  protected get validates(): boolean {
    return this.#setup.validate !== undefined;
  }

  /** Checks one value against the caller's schema, if any. */
  protected async check(value: unknown, what: string, raw?: string): Promise<unknown> {
    const schema = this.#setup.validate;
    if (!schema) return value;
    const result = await schema["~standard"].validate(value);
    if (!result.issues) return result.value;
    // A string sent as it is may look like JSON ("42"): it may be the string that was meant.
    if (raw !== undefined && raw !== value) {
      const again = await schema["~standard"].validate(raw);
      if (!again.issues) return again.value;
    }
    throw new SchemaError(what, result.issues);
  }
}

/**
 * An NDJSON response as an async iterable of its items. When the route names an id field
 * (`ndjsonOf(Item, { id: "id" })`), a connection lost midway is resumed from the last item's id;
 * otherwise the loss is a StreamError, never a quiet end. Break out of the loop, call `close()`, or
 * abort the call's signal to cancel the request.
 *
 * @example
 * const movies = await api.get("/movies");
 * for await (const movie of movies) console.log(movie.title);
 */
export class ItemStream<T> extends ResumableStream<T> {
  protected readonly mediaTypes = ["application/x-ndjson", "application/jsonl"];
  #idField: string | null = null;

  protected async *items(res: Response): AsyncGenerator<T, void, undefined> {
    this.#idField = res.headers.get("sluice-item-id");
    const body = res.body;
    if (!body) return;
    // Lines are split per chunk and the items of a chunk yielded straight from this loop: one
    // generator between the socket and the caller, whatever the number of items.
    const decoder = new TextDecoder();
    const lines = new LineSplitter();
    let endsInLF = true;
    for await (const chunk of bodyChunks(body)) {
      if (chunk.byteLength > 0) endsInLF = chunk[chunk.byteLength - 1] === 0x0a;
      for (const line of lines.push(decoder.decode(chunk, { stream: true }))) {
        const item = this.#item(line);
        if (item !== SKIP)
          yield this.validates ? ((await this.check(item, "NDJSON item")) as T) : item;
      }
    }
    for (const line of [...lines.push(decoder.decode()), ...lines.end()]) {
      let item: T | typeof SKIP;
      try {
        item = this.#item(line);
      } catch (err) {
        // A last line without its LF was cut off with the connection: a loss, not a bad line.
        if (!endsInLF) throw new TypeError("the NDJSON stream ended inside a line", { cause: err });
        throw err;
      }
      if (item !== SKIP)
        yield this.validates ? ((await this.check(item, "NDJSON item")) as T) : item;
    }
  }

  #lineNumber = 0;

  /** One line's item (the id to resume after moved to it), or SKIP for an empty line. */
  #item(line: string): T | typeof SKIP {
    this.#lineNumber++;
    if (line === "") return SKIP;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (cause) {
      // The server's mistake, which asking again would repeat: not a lost connection.
      throw new StreamError(
        `NDJSON line ${this.#lineNumber} is not JSON: ${(cause as Error).message}`,
        this.lastEventId,
        cause,
      );
    }
    const field = this.#idField;
    const id = field === null ? undefined : (value as Record<string, unknown> | null)?.[field];
    // An id with a line break or NUL cannot go in a header: no resuming from such an item (a
    // resume from the id before it would repeat it), until an item with an id that can.
    if (typeof id === "number" || typeof id === "string")
      this.moveTo(/[\r\n\0]/.test(String(id)) ? undefined : String(id));
    return value as T;
  }

  protected canResume(): boolean {
    return this.#idField !== null && this.lastEventId !== undefined;
  }

  protected endIsPause(): boolean {
    return false;
  }
}

/**
 * An event stream as an async iterable of typed events (`id`, `event`, `data`) and gap signals.
 * Like an EventSource it keeps going: when the connection is lost, or the server ends the response,
 * it reconnects with `Last-Event-ID` after the `retry:` time, so a server that keeps a history
 * (a broadcast channel) delivers every event once, in order. A stream that never sent an id cannot
 * resume: its end is the end, and a lost connection is a StreamError. A 204 on reconnecting ends
 * it too. Break out of the loop, call `close()`, or abort the call's signal to cancel the request.
 *
 * @example
 * const ticks = await api.get("/ticks");
 * for await (const ev of ticks) {
 *   if (ev.gap) console.warn("missed events after", ev.lastEventId);
 *   else console.log(ev.id, ev.data.i);
 * }
 */
export class EventStream<T, E extends string = string> extends ResumableStream<
  StreamEvent<T, E> | Gap
> {
  protected readonly mediaTypes = ["text/event-stream"];
  readonly #parser = new SSEParser();

  protected async *items(res: Response): AsyncGenerator<StreamEvent<T, E> | Gap, void, undefined> {
    const body = res.body;
    if (!body) return;
    const parser = this.#parser;
    // ignoreBOM keeps a BOM in the text so that the parser strips exactly one, as the spec does.
    const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
    try {
      for await (const chunk of bodyChunks(body)) {
        for (const ev of parser.push(decoder.decode(chunk, { stream: true })))
          yield this.#event(ev);
      }
      for (const ev of parser.push(decoder.decode())) yield this.#event(ev);
    } catch (err) {
      // An event with an id and no data moves the id too, though it is not yielded. (Not when the
      // caller left midway: then the parser may be ahead of what the caller saw.)
      this.moveTo(parser.dispatchedId || this.lastEventId);
      throw err;
    } finally {
      parser.end();
    }
    this.moveTo(parser.dispatchedId || this.lastEventId);
  }

  /** One event as the caller gets it (the id to resume after moved to it), or a gap. */
  async #event(ev: ParsedEvent): Promise<StreamEvent<T, E> | Gap> {
    if (ev.event === "gap") {
      const gap = gapOf(ev);
      if (gap) return gap;
    }
    const parsed = parseData(ev.data);
    const data = (
      this.validates ? await this.check(parsed, "SSE event data", ev.data) : parsed
    ) as T;
    this.moveTo(ev.id);
    return { gap: false, id: ev.id === "" ? undefined : ev.id, event: ev.event as E, data };
  }

  protected canResume(): boolean {
    return this.lastEventId !== undefined;
  }

  protected endIsPause(): boolean {
    return this.lastEventId !== undefined;
  }

  protected override retryTime(): number | undefined {
    return this.#parser.retry;
  }
}

/** What an empty NDJSON line gives: nothing. */
const SKIP: unique symbol = Symbol("skip");

/** An event's data: its JSON, or the text itself when it is not JSON (a string sent as it is). */
function parseData(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** A channel's gap event (`event: gap`, data `{"lastEventId": ID}`) as a signal; null if it is not one. */
function gapOf(ev: ParsedEvent): Gap | null {
  try {
    const data: unknown = JSON.parse(ev.data);
    if (typeof data === "object" && data !== null && "lastEventId" in data) {
      const id = (data as { lastEventId: unknown }).lastEventId;
      if (typeof id === "string" || typeof id === "number")
        return { gap: true, event: "gap", lastEventId: String(id) };
    }
  } catch {
    // Not a gap after all: an event of the route's own that happens to be called "gap".
  }
  return null;
}

/** Waits `ms`, or rejects with the signal's reason when it aborts first. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const done = () => {
      signal.removeEventListener("abort", abort);
      resolve();
    };
    const abort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", abort, { once: true });
  });
}
