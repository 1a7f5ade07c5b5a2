import { HTTPError } from "../http/errors.ts";
import type { SluiceRequest } from "../http/request.ts";
import { formatEvent, PING, SSEFormatError } from "../internal/sse.ts";
import { SchemaError, type StandardSchemaV1 } from "../internal/standard-schema.ts";
import type { Chunk, Encoder } from "../responses/body.ts";
import { SSEResponse } from "../responses/sse.ts";
import { type ChannelBackend, compareIds, isChannelId, type StoredEvent } from "./backend.ts";
import { MemoryBackend } from "./memory.ts";

/**
 * Broadcast channels (DESIGN.md §5): one log with many readers. `publish` appends to the history
 * and resolves with the id; a subscriber attaches to live events first, then replays the history
 * after its last id, dropping at the seam what it has already had, so nothing is lost or repeated;
 * an id the history no longer holds is told as a gap. Each event is framed once and the same bytes
 * go to every subscriber; each subscriber has a bounded queue, and one that falls further behind is
 * cut off (it resumes from the history). One keepalive timer per channel.
 */

/** Options of a set of channels. */
export interface ChannelsOptions {
  /** Where the logs live (default: a `MemoryBackend` with `history`). */
  backend?: ChannelBackend;
  /** Events each channel keeps for resuming, for the default in-memory backend (default 1000). */
  history?: number;
  /**
   * Events queued for one subscriber that is not reading (default 1024). A subscriber further
   * behind than that is cut off, and resumes from the history when it comes back.
   */
  queue?: number;
  /** Milliseconds without an event after which SSE subscribers get a `: ping` (default 15000; false: never). */
  keepalive?: number | false;
}

/** One event as a server-side consumer gets it. */
export interface ChannelEvent<T> {
  readonly id: string;
  /** The event name it was published with, if any. */
  readonly event: string | undefined;
  readonly data: T;
}

/** Told before what the history holds when the id to resume after is no longer held. */
export interface ChannelGap {
  readonly gap: true;
  /** The id the consumer asked to resume after. */
  readonly lastEventId: string;
}

/** Options of `Channel.subscribe`. */
export interface SubscribeOptions {
  /**
   * Resume after this id. Default: the request's `Last-Event-ID` header, or else its
   * `?lastEventId=` query parameter (for a first connection, which cannot send the header).
   */
  lastEventId?: string;
  /** End the response cleanly after this many events (a gap is not counted). */
  limit?: number;
  /**
   * A subscriber with no id to resume after starts with everything the history holds (a chat
   * room showing its recent messages), instead of with the next live event.
   */
  fromStart?: boolean;
  /** Sent first as `retry:`: how many ms the client waits before it reconnects. */
  retry?: number;
}

/** Options of `Channel.events`. */
export interface EventsOptions {
  /** Resume after this id: first what the history holds after it, then live events. */
  after?: string;
  /** Ends the iteration when it aborts. */
  signal?: AbortSignal;
  /** End the iteration after this many events (a gap is not counted). */
  limit?: number;
  /** Without `after`: start with everything the history holds, not with the next live event. */
  fromStart?: boolean;
}

/**
 * Thrown to a server-side consumer (and the reason a subscription's request is aborted with) when
 * it fell further behind than the queue allows. Resume with `after: error.lastEventId`.
 *
 * @example
 * try { for await (const e of chat.events()) await slowWork(e); }
 * catch (err) { if (err instanceof ChannelOverrunError) resumeAfter(err.lastEventId); }
 */
export class ChannelOverrunError extends Error {
  override name = "ChannelOverrunError";
  /** The id of the last event the consumer received, if any. */
  readonly lastEventId: string | undefined;
  constructor(limit: number, lastEventId: string | undefined) {
    super(
      `the subscriber fell more than ${limit} events behind and was cut off; resume after ${lastEventId ?? "the start"}`,
    );
    this.lastEventId = lastEventId;
  }
}

// Names are unreserved URL characters (RFC 3986 §2.3), so a name goes into a path as it is.
const NAME = /^[A-Za-z0-9._~-]{1,200}$/;
const FORBIDDEN_IN_EVENT = /[\r\n\0]/;
/** History read per round trip while replaying. */
const PAGE = 256;
const encoder = new TextEncoder();
const PING_FRAME = encoder.encode(PING);

/**
 * True for a valid channel name: 1–200 characters of `A–Z a–z 0–9 . _ ~ -`.
 *
 * @example
 * isChannelName("room-42"); // true
 * isChannelName("a/b"); // false
 */
export function isChannelName(name: string): boolean {
  return NAME.test(name);
}

/**
 * A set of broadcast channels over one backend: in memory by default, or Redis Streams
 * (`redisBackend` from `sluice/redis`) so that several processes serve the same channels.
 *
 * @example
 * const channels = new Channels({ history: 500 });
 * const chat = channels.channel("chat");
 * app.get("/chat", (req) => chat.subscribe(req));
 * app.post("/chat", async (req) => ({ id: await chat.publish(await req.json()) }));
 */
export class Channels {
  readonly backend: ChannelBackend;
  /** Events queued for one subscriber before it is cut off. */
  readonly queue: number;
  /** The keepalive interval in ms (0: none). */
  readonly keepalive: number;
  readonly #hubs = new Map<string, Hub>();
  #closed = false;

  constructor(options: ChannelsOptions = {}) {
    if (options.backend !== undefined && options.history !== undefined)
      throw new TypeError("history is an option of the backend when one is given");
    this.backend = options.backend ?? new MemoryBackend({ history: options.history });
    this.queue = options.queue ?? 1024;
    if (!Number.isSafeInteger(this.queue) || this.queue < 1)
      throw new RangeError("queue must be a positive integer");
    const keepalive = options.keepalive ?? 15_000;
    this.keepalive = keepalive === false ? 0 : keepalive;
    if (!(this.keepalive >= 0)) throw new RangeError("keepalive must be a number of ms or false");
  }

  /**
   * The channel `name` (made on first use). With a `schema` (any Standard Schema), published data
   * is validated, and transformed, before it goes into the history.
   *
   * @example
   * const ticks = channels.channel("ticks", { schema: z.object({ value: z.number() }) });
   */
  channel<T = unknown, In = T>(
    name: string,
    options: { schema?: StandardSchemaV1<In, T> } = {},
  ): Channel<T, In> {
    if (!isChannelName(name)) {
      throw new TypeError(
        `channel name ${JSON.stringify(name.slice(0, 50))} must be 1-200 characters of A-Z a-z 0-9 . _ ~ -`,
      );
    }
    return new Channel<T, In>(this, name, options.schema);
  }

  /** How many subscribers this process has on each channel that has any. */
  subscribers(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, hub] of this.#hubs) out[name] = hub.subscribers.size;
    return out;
  }

  /**
   * Ends every subscription (their iterations and responses end cleanly) and closes the backend.
   *
   * @example
   * await server.close(); await channels.close();
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const hub of [...this.#hubs.values()]) for (const sub of [...hub.subscribers]) sub.close();
    await this.backend.close();
  }

  /** Attaches a subscriber to its channel's hub; resolves once live events reach it. @internal */
  attach(name: string, sub: Subscription<unknown>): Promise<void> {
    if (this.#closed) return Promise.reject(new Error("the channels are closed"));
    let hub = this.#hubs.get(name);
    if (hub === undefined) {
      const made = new Hub(this, name);
      hub = made;
      this.#hubs.set(name, made);
      // Nothing follows the channel: the hub is useless, and the next subscriber makes another.
      made.ready.catch(() => {
        if (this.#hubs.get(name) === made) this.#hubs.delete(name);
        made.subscribers.clear();
        made.dispose();
      });
    }
    hub.add(sub);
    return hub.ready;
  }

  /** @internal */
  detach(name: string, sub: Subscription<unknown>): void {
    const hub = this.#hubs.get(name);
    if (hub === undefined || !hub.subscribers.delete(sub)) return;
    if (hub.subscribers.size === 0) {
      this.#hubs.delete(name);
      hub.dispose();
    } else if (sub.sse) hub.sseLeft();
  }
}

/**
 * One process's view of a channel: the backend follows it while it has subscribers here, and each
 * event the backend delivers is framed once and handed to every subscriber.
 */
class Hub {
  readonly subscribers = new Set<Subscription<unknown>>();
  readonly ready: Promise<void>;
  #stop: (() => void) | undefined;
  #disposed = false;
  #timer: ReturnType<typeof setInterval> | undefined;
  #sse = 0;
  /** Whether anything was delivered since the last keepalive tick. */
  #busy = false;
  readonly #channels: Channels;

  constructor(channels: Channels, name: string) {
    this.#channels = channels;
    this.ready = channels.backend.follow(name, this.#deliver, this.#lost).then((stop) => {
      if (this.#disposed) stop();
      else this.#stop = stop;
    });
  }

  add(sub: Subscription<unknown>): void {
    this.subscribers.add(sub);
    if (sub.sse && this.#sse++ === 0) this.#startTimer();
  }

  sseLeft(): void {
    if (--this.#sse === 0) this.#stopTimer();
  }

  dispose(): void {
    this.#disposed = true;
    this.#stopTimer();
    this.#stop?.();
  }

  readonly #deliver = (events: readonly StoredEvent[]): void => {
    this.#busy = true;
    for (const ev of events) {
      // Framed once: every subscriber writes these same bytes.
      ev.frame ??= frameOf(ev);
      for (const sub of this.subscribers) sub.push(ev);
    }
  };

  readonly #lost = (): void => {
    for (const sub of [...this.subscribers]) sub.overrun();
  };

  #startTimer(): void {
    const ms = this.#channels.keepalive;
    if (ms <= 0 || !Number.isFinite(ms)) return;
    // One timer for the channel, whatever the number of subscribers: when a whole period passed
    // without an event, each subscriber that waits gets a ping.
    this.#timer = setInterval(() => {
      if (this.#busy) this.#busy = false;
      else for (const sub of this.subscribers) sub.ping();
    }, ms);
    // A keepalive alone must not keep a process running (where the runtime can say so).
    (this.#timer as { unref?: () => void }).unref?.();
  }

  #stopTimer(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

/** The SSE frame of a stored event: `event`, `id`, then its JSON text as `data`. */
function frameOf(ev: StoredEvent): Uint8Array {
  return encoder.encode(formatEvent({ event: ev.event, id: ev.id, data: ev.json }));
}

/** The frame that tells a gap: `event: gap`, no id (the client keeps its own), the id asked for. */
function gapFrame(lastEventId: string): string {
  return formatEvent({ event: "gap", data: JSON.stringify({ lastEventId }) });
}

/** What a subscription yields: SSE frames for a response, events for a server-side consumer. */
type Output<Out> = {
  event(ev: StoredEvent): Out;
  gap(lastEventId: string): Out;
  ping: Out | undefined;
};

const SSE_OUTPUT: Output<Chunk> = {
  event: (ev) => {
    ev.frame ??= frameOf(ev);
    return ev.frame;
  },
  gap: gapFrame,
  ping: PING_FRAME,
};

const ATTACHED: Promise<void> = Promise.resolve();

/**
 * One subscriber: an async iterator that replays the history after its start and then goes on
 * live, with a bounded queue of live events. Plain iterator, not a generator, so that `return()`
 * settles at once even while a read of the history is in flight.
 */
class Subscription<Out> implements AsyncIterableIterator<Out> {
  readonly sse: boolean;
  /** Settles once attached; a shared settled promise afterwards, so an idle one holds none. */
  ready: Promise<void>;
  readonly #channels: Channels;
  readonly #name: string;
  readonly #output: Output<Out>;
  readonly #limit: number;
  /** An HTTP subscriber's request, aborted when it falls too far behind. */
  readonly #request: SluiceRequest<any> | undefined;
  /** Live events not yet taken, from `#head` on. */
  #queue: StoredEvent[] = [];
  #head = 0;
  /** The id of the last event handed out (or the one to resume after): later ones only. */
  #last: string | undefined;
  /** Replaying: the page read from the history, and how far into it. */
  #replaying: boolean;
  #page: StoredEvent[] = [];
  #pagePos = 0;
  #pageFull = true;
  #gap: string | undefined;
  #sent = 0;
  #closed = false;
  #error: ChannelOverrunError | undefined;
  #waiting: { resolve: (r: IteratorResult<Out>) => void; reject: (e: unknown) => void } | undefined;
  #cleanup: (() => void) | undefined;

  constructor(
    channels: Channels,
    name: string,
    output: Output<Out>,
    options: {
      after: string | undefined;
      fromStart: boolean | undefined;
      limit: number | undefined;
      sse: boolean;
      request?: SluiceRequest<any>;
    },
  ) {
    this.#channels = channels;
    this.#name = name;
    this.#output = output;
    this.sse = options.sse;
    this.#limit = options.limit ?? Number.POSITIVE_INFINITY;
    this.#request = options.request;
    this.#last = options.after;
    this.#replaying = options.after !== undefined || options.fromStart === true;
    this.ready = this.#start(this.#replaying);
    this.ready.catch(() => {});
  }

  /** Live first, then (for a fresh subscriber) where live begins: nothing before it is sent. */
  async #start(replaying: boolean): Promise<void> {
    const attached = this.#channels.attach(this.#name, this as Subscription<unknown>);
    // Asked for at once (before any await), so a local backend answers as of the attach.
    const last = replaying ? undefined : this.#channels.backend.last(this.#name);
    // Awaited only once attached: should attaching fail first, its failure must not go unhandled.
    last?.catch(() => {});
    try {
      await attached;
      if (last !== undefined) {
        const id = await last;
        // A live event may already be queued past it: only what is later than `id` counts.
        if (id !== undefined && (this.#last === undefined || compareIds(id, this.#last) > 0))
          this.#last = id;
      }
      this.ready = ATTACHED;
    } catch (error) {
      this.close();
      throw unavailable(error);
    }
  }

  /** Runs when the subscription ends, whatever ends it. */
  onClose(fn: () => void): void {
    this.#cleanup = fn;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<Out>> {
    if (this.#request !== undefined && this.#cleanup !== undefined) {
      // Pulled by the writer: from now on it ends the subscription when the client leaves (it
      // stops waiting and calls return()), so the abort listener that covered the time before
      // goes, and an idle subscriber holds none.
      const cleanup = this.#cleanup;
      this.#cleanup = undefined;
      cleanup();
    }
    if (this.#error !== undefined) {
      const error = this.#error;
      this.#error = undefined;
      return Promise.reject(error);
    }
    if (this.#closed || this.#sent >= this.#limit) return this.#done();
    if (this.#gap !== undefined) {
      const value = this.#output.gap(this.#gap);
      this.#gap = undefined;
      return Promise.resolve({ done: false, value });
    }
    if (this.#replaying) return this.#replay();
    while (this.#head < this.#queue.length) {
      const ev = this.#queue[this.#head++]!;
      if (this.#last !== undefined && compareIds(ev.id, this.#last) <= 0) continue;
      return Promise.resolve(this.#emit(ev));
    }
    this.#queue = [];
    this.#head = 0;
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<Out>> {
    this.close();
    return Promise.resolve({ done: true, value: undefined });
  }

  /** A live event from the hub. */
  push(ev: StoredEvent): void {
    if (this.#closed) return;
    const waiting = this.#waiting;
    if (waiting !== undefined && !this.#replaying) {
      // Waiting means the queue is empty: hand it over directly.
      if (this.#last !== undefined && compareIds(ev.id, this.#last) <= 0) return;
      this.#waiting = undefined;
      waiting.resolve(this.#emit(ev));
      return;
    }
    this.#queue.push(ev);
    if (this.#queue.length - this.#head > this.#channels.queue) this.overrun();
  }

  /** A keepalive tick: a subscriber that waits for an event gets a ping. */
  ping(): void {
    const ping = this.#output.ping;
    const waiting = this.#waiting;
    if (ping === undefined || waiting === undefined) return;
    this.#waiting = undefined;
    waiting.resolve({ done: false, value: ping });
  }

  /** Cut off: too far behind, or the backend lost track. */
  overrun(): void {
    if (this.#closed) return;
    const error = new ChannelOverrunError(this.#channels.queue, this.#last);
    const waiting = this.#waiting;
    this.#waiting = undefined;
    this.close();
    this.#request?.abort(error);
    if (this.sse) waiting?.resolve({ done: true, value: undefined });
    else if (waiting !== undefined) waiting.reject(error);
    else this.#error = error;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue = [];
    this.#page = [];
    this.#channels.detach(this.#name, this as Subscription<unknown>);
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.resolve({ done: true, value: undefined });
    const cleanup = this.#cleanup;
    this.#cleanup = undefined;
    cleanup?.();
  }

  #emit(ev: StoredEvent): IteratorResult<Out> {
    this.#last = ev.id;
    this.#sent++;
    return { done: false, value: this.#output.event(ev) };
  }

  #done(): Promise<IteratorResult<Out>> {
    this.close();
    return Promise.resolve({ done: true, value: undefined });
  }

  /** The next event from the history, reading a page when the last one is used up. */
  async #replay(): Promise<IteratorResult<Out>> {
    try {
      await this.ready;
      while (this.#pagePos >= this.#page.length) {
        if (!this.#pageFull) {
          this.#replaying = false;
          return this.next();
        }
        await this.#readPage();
        if (this.#closed) return this.#done();
        if (this.#gap !== undefined) return this.next();
      }
      return this.#emit(this.#page[this.#pagePos++]!);
    } catch (error) {
      if (this.#closed) return this.#done();
      this.close();
      throw unavailable(error);
    }
  }

  /**
   * Reads the history from the last id handed out, inclusive: when that id is held, what follows
   * it is complete (a history is only ever trimmed from the front); when it is not, the events
   * after it may be gone, so the gap is told and everything held is sent.
   */
  async #readPage(): Promise<void> {
    const backend = this.#channels.backend;
    const from = this.#last;
    // An id of another shape was never issued: no need to ask the store about it.
    let page =
      from === undefined || isChannelId(from)
        ? await backend.range(this.#name, from, PAGE + 1)
        : [];
    if (this.#closed) return;
    if (from === undefined) {
      this.#pageFull = page.length === PAGE + 1;
    } else if (page.length > 0 && page[0]!.id === from) {
      page = page.slice(1);
      this.#pageFull = page.length === PAGE;
    } else {
      this.#gap = from;
      this.#last = undefined;
      page = await backend.range(this.#name, undefined, PAGE + 1);
      this.#pageFull = page.length === PAGE + 1;
    }
    this.#page = page;
    this.#pagePos = 0;
  }
}

/** A backend failure, as the HTTP answer it calls for. */
function unavailable(error: unknown): unknown {
  if (error instanceof ChannelOverrunError || HTTPError.is(error)) return error;
  const e = new HTTPError(503, "the channel store is unavailable");
  (e as { cause?: unknown }).cause = error;
  return e;
}

/**
 * An SSE response over a subscription: the items are frames already encoded by the channel, so
 * the encoder passes them through, and the channel keeps the keepalive (one timer per channel).
 */
class ChannelResponse<T> extends SSEResponse<T> {
  readonly #first: Chunk | undefined;

  constructor(sub: Subscription<Chunk>, first: Chunk | undefined) {
    super(sub as unknown as AsyncIterable<T>, { keepalive: false });
    this.#first = first;
  }

  protected override prelude(): Chunk | undefined {
    return this.#first;
  }

  protected override encoder(): Encoder<T> {
    return passThrough as unknown as Encoder<T>;
  }
}

function passThrough(chunk: Chunk): Chunk {
  return chunk;
}

/** The id a request resumes after: `Last-Event-ID`, else `?lastEventId=`; empty means none. */
function resumeId(req: SluiceRequest<any>): string | undefined {
  const header = req.lastEventId;
  if (header !== undefined && header !== "") return header;
  // The query is parsed only when there is one (most subscribers send none).
  if (!req.url.includes("?")) return undefined;
  const query = req.searchParams.get("lastEventId");
  return query === null || query === "" ? undefined : query;
}

/**
 * One broadcast channel: publish into its history, subscribe as Server-Sent Events, or iterate its
 * events on the server. Get one from `Channels.channel(name)`.
 *
 * @example
 * const chat = channels.channel<{ text: string }>("chat");
 * await chat.publish({ text: "hello" }, { event: "message" });
 * app.get("/chat", { responses: { 200: sseOf(Message) } }, (req) => chat.subscribe(req));
 */
export class Channel<T = unknown, In = T> {
  readonly name: string;
  readonly schema: StandardSchemaV1<In, T> | undefined;
  readonly #channels: Channels;

  constructor(channels: Channels, name: string, schema?: StandardSchemaV1<In, T>) {
    this.#channels = channels;
    this.name = name;
    this.schema = schema;
  }

  /**
   * Appends one event and resolves with its id once it is in the history (every subscriber then
   * gets it). The data is validated by the channel's schema, if any, and stored as JSON. An
   * `event` name with CR, LF or NUL is refused (SSEFormatError); a store that cannot be reached is
   * a 503 HTTPError.
   *
   * @example
   * const id = await chat.publish({ text: "hi" }, { event: "message" });
   */
  async publish(data: In, options: { event?: string } = {}): Promise<string> {
    const event = options.event;
    if (event !== undefined) {
      if (typeof event !== "string") throw new SSEFormatError("SSE event must be a string");
      if (FORBIDDEN_IN_EVENT.test(event))
        throw new SSEFormatError("SSE event must not contain CR, LF or NUL");
    }
    let value: unknown = data;
    if (this.schema !== undefined) {
      const result = await this.schema["~standard"].validate(data);
      if (result.issues) throw new SchemaError("channel event data", result.issues);
      value = result.value;
    }
    const json = JSON.stringify(value);
    if (json === undefined) throw new TypeError("channel event data has no JSON text");
    try {
      return await this.#channels.backend.append(this.name, event, json);
    } catch (error) {
      throw unavailable(error);
    }
  }

  /**
   * Subscribes a request as Server-Sent Events. Resolves once live events reach the subscriber,
   * before any header is sent. With `Last-Event-ID` (or `?lastEventId=`) it first replays what
   * the history holds after that id, then goes on live, nothing lost or repeated between the two;
   * an id the history no longer holds is answered first with `event: gap` (no `id:`) and
   * `data: {"lastEventId": ID}`, then everything held. A subscriber further behind than the queue
   * allows is cut off (its request aborts; it resumes from the history).
   *
   * @example
   * app.get("/chat", (req) => chat.subscribe(req));
   */
  async subscribe(
    req: SluiceRequest<any>,
    options: SubscribeOptions = {},
  ): Promise<SSEResponse<T>> {
    // Framed (and so checked) before anything is attached.
    const retry = options.retry === undefined ? undefined : formatEvent({ retry: options.retry });
    const sub = new Subscription<Chunk>(this.#channels, this.name, SSE_OUTPUT, {
      after: options.lastEventId ?? resumeId(req),
      fromStart: options.fromStart,
      limit: options.limit,
      sse: true,
      request: req,
    });
    // The client may leave while the stream waits on something that does not end with it.
    const signal = req.signal;
    const onAbort = () => sub.close();
    signal.addEventListener("abort", onAbort, { once: true });
    sub.onClose(() => signal.removeEventListener("abort", onAbort));
    await sub.ready;
    return new ChannelResponse<T>(sub, retry);
  }

  /**
   * The channel's events as an async iterable, for consumers on the server: live events from now
   * on, or with `after` what the history holds after that id first. A gap is yielded as
   * `{ gap: true, lastEventId }`. A consumer further behind than the queue allows gets a
   * ChannelOverrunError (resume with its `lastEventId`).
   *
   * @example
   * for await (const item of chat.events({ signal })) {
   *   if ("gap" in item) console.warn("missed events after", item.lastEventId);
   *   else console.log(item.id, item.data);
   * }
   */
  events(options: EventsOptions = {}): AsyncIterableIterator<ChannelEvent<T> | ChannelGap> {
    const output: Output<ChannelEvent<T> | ChannelGap> = {
      event: (ev) => ({ id: ev.id, event: ev.event, data: JSON.parse(ev.json) as T }),
      gap: (lastEventId) => ({ gap: true, lastEventId }),
      ping: undefined,
    };
    const sub = new Subscription(this.#channels, this.name, output, {
      after: options.after,
      fromStart: options.fromStart,
      limit: options.limit,
      sse: false,
    });
    const signal = options.signal;
    if (signal !== undefined) {
      if (signal.aborted) sub.close();
      const onAbort = () => sub.close();
      signal.addEventListener("abort", onAbort, { once: true });
      sub.onClose(() => signal.removeEventListener("abort", onAbort));
    }
    return wrapReady(sub);
  }
}

/** A subscription whose first `next()` waits until it is attached (and throws what attaching threw). */
function wrapReady<Out>(sub: Subscription<Out>): AsyncIterableIterator<Out> {
  let ready: Promise<void> | undefined = sub.ready;
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    async next() {
      if (ready !== undefined) {
        const r = ready;
        ready = undefined;
        await r;
      }
      return sub.next();
    },
    return: () => sub.return(),
  };
}
