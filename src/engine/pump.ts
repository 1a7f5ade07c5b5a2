import { disposeSource, runTasks, runTeardowns } from "../core/lifecycle.ts";
import type { AppPort } from "../core/port.ts";
import type { SluiceRequest } from "../http/request.ts";
import { concatBytes } from "../internal/bytes.ts";
import type { SluiceResponse } from "../responses/base.ts";
import type { Chunk, Sink, SinkCoding, StreamBody, StreamSource } from "../responses/stream.ts";

/**
 * The streaming writer shared by every engine (DESIGN.md §2). The engine supplies a target (a sink,
 * how to send the head and how to end); the writer owns backpressure, batching, the keepalive, the
 * lifecycle and error classification, the same way everywhere.
 */

/** Largest batch of items produced back to back that goes out in one write. */
export const BATCH_BYTES = 64 * 1024;

/** How a stream ended: exactly one of these, once. */
export type StreamEnd = "completed" | "aborted" | "errored";

/** An iterator over a source, and whether its `next()` answers synchronously. */
export interface SourceIterator<T> {
  readonly iterator: Iterator<T> | AsyncIterator<T>;
  readonly sync: boolean;
}

/**
 * Makes an iterator for a stream source. Called only when the stream really starts (never for
 * HEAD), since getting an iterator may run user code.
 *
 * @example
 * const { iterator, sync } = openSource([1, 2, 3]); // sync === true
 */
export function openSource<T>(source: StreamSource<T>): SourceIterator<T> {
  if (source instanceof ReadableStream) return { iterator: readerIterator(source), sync: false };
  if (Symbol.asyncIterator in (source as object)) {
    return { iterator: (source as AsyncIterable<T>)[Symbol.asyncIterator](), sync: false };
  }
  if (Symbol.iterator in (source as object)) {
    return { iterator: (source as Iterable<T>)[Symbol.iterator](), sync: true };
  }
  throw new TypeError(
    "a stream source must be an iterable, an async iterable, a ReadableStream or a Readable",
  );
}

/**
 * An async iterator over a web ReadableStream that cancels the stream when it is left early.
 * @internal
 */
export function readerIterator<T>(stream: ReadableStream<T>): AsyncIterator<T> {
  const reader = stream.getReader();
  let failed = false;
  return {
    async next() {
      let r: ReadableStreamReadResult<T>;
      try {
        r = await reader.read();
      } catch (error) {
        failed = true;
        throw error;
      }
      return r.done ? { done: true, value: undefined } : { done: false, value: r.value };
    },
    async return() {
      // An errored stream has nothing left to cancel (cancelling would only repeat its error).
      // Otherwise cancel, also while a read() is pending (a pull that never settles): that settles
      // it as done and calls the source's cancel without waiting for the pull (WHATWG Streams,
      // ReadableStreamCancel).
      if (failed) reader.releaseLock();
      else await reader.cancel();
      return { done: true, value: undefined };
    },
  };
}

/**
 * A server's graceful shutdown, as the streams it serves see it: one per server, handed to the
 * writer in every `StreamTarget`. `close()` ends at once, cleanly (terminating chunk, teardown run,
 * counted as aborted), every stream whose body says it may end at shutdown (`endAtShutdown`: SSE,
 * whose client reconnects elsewhere with `Last-Event-ID`), also one whose producer is stuck in an
 * await, and every such stream that starts afterwards. Other streams run on: the engine gives them
 * its shutdown timeout and then aborts their signal, which truncates them.
 *
 * A Set, not an AbortSignal with a listener per stream: thousands of idle streams cost one entry
 * each, and ending one is O(1).
 *
 * @example
 * const closing = new Closing();
 * // each stream: runStream({ ..., closing });
 * // shutdown:    closing.close(); then, after the timeout, abort what is left
 */
export class Closing {
  #closed = false;
  readonly #runs = new Set<{ close(): void }>();

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Begins the shutdown: ends every stream that may end at shutdown, now and from now on. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const run of [...this.#runs]) run.close();
    this.#runs.clear();
  }

  /** @internal */
  add(run: { close(): void }): void {
    this.#runs.add(run);
  }

  /** @internal */
  delete(run: { close(): void }): void {
    this.#runs.delete(run);
  }
}

/** The engine-independent half of a `StreamTarget`: which stream of which exchange. */
export interface StreamExchange {
  readonly app: AppPort;
  readonly request: SluiceRequest<any>;
  readonly response: SluiceResponse;
  readonly body: StreamBody<unknown>;
  readonly head: boolean;
  /**
   * Aborts when the client leaves (or the engine cuts the stream, at its shutdown deadline): the
   * writer stops at once, also while the producer is stuck in an await, and truncates.
   */
  readonly signal: AbortSignal;
  /** The server's graceful shutdown, when the engine has one (see `Closing`). */
  readonly closing?: Closing | undefined;
  /**
   * Optional: have `watcher.handleEvent()` called when `signal` aborts (and stop with
   * `undefined`), in place of a listener on the signal — an engine that aborts the signal itself
   * does it for the cost of a field, where an AbortSignal listener costs a few objects per stream.
   */
  watch?(watcher: { handleEvent(): void } | undefined): void;
}

/**
 * Makes the engine-independent half of a stream's target, and sets the response's framing headers
 * for a stream: never both Transfer-Encoding and Content-Length (RFC 9112 §6.1), Content-Length only
 * when the body's length is known in advance (a file). Every engine starts a stream with it.
 *
 * @example
 * void runStream({ ...streamExchange(app, req, response, body, head, closing), sink, sendHead, ... });
 */
export function streamExchange(
  app: AppPort,
  request: SluiceRequest<any>,
  response: SluiceResponse,
  body: StreamBody<unknown>,
  head: boolean,
  closing?: Closing,
): StreamExchange {
  streamHeaders(response, body);
  return { app, request, response, body, head, signal: request.signal, closing };
}

/**
 * Sets a response's framing headers for a stream body: never both Transfer-Encoding and
 * Content-Length (RFC 9112 §6.1), Content-Length only when the body's length is known.
 *
 * @example
 * streamHeaders(response, body); // then write response.headers
 */
export function streamHeaders(response: SluiceResponse, body: StreamBody<unknown>): void {
  const headers = response.headers;
  delete headers["content-length"];
  delete headers["transfer-encoding"];
  if (body.length !== undefined) headers["content-length"] = String(body.length);
}

/**
 * What an engine gives `runStream`: the exchange (see `streamExchange`), a sink, how to write the
 * head and how to end. The HTTP/1.1 engine, the HTTP/2 engine and `app.fetch` each make one per
 * stream.
 */
export interface StreamTarget extends StreamExchange {
  readonly sink: Sink;
  /** Sends status and headers (no Content-Length). */
  sendHead(): void;
  /** Ends the body cleanly (the terminating chunk). */
  finish(): void;
  /** Ends the connection without the terminating chunk, after what was written has gone out. */
  truncate(): void;
  /** Answers with this error response instead: nothing has been sent yet. */
  replace(error: unknown): void;
}

/** Why the writer stopped waiting before the stream ended by itself. */
type Stop = "aborted" | "closed";

/** How the driving of a stream came out; "stopped" when the writer was stopped from outside. */
type Outcome = "completed" | "errored" | "stopped";

// setTimeout turns a longer delay into 1 ms (HTML "timer initialisation steps" and Node alike),
// which would send a ping every millisecond; pinging a little early instead is harmless.
const MAX_DELAY = 2_147_483_647;

/**
 * Runs one stream from start to teardown, the same way in every engine: HEAD never touches the
 * producer; an error before the first item becomes an error response; after it, truncation; a
 * client that leaves ends the stream at once, even while the producer is stuck in an await; the
 * iterator's `return()` is requested and the response's teardown hooks run exactly once on every
 * path; the app's stream counters record how it ended; background tasks run after a body that went
 * out whole. Resolves once all of that is over.
 *
 * @example
 * await runStream({ ...streamExchange(app, req, response, body, head, closing), sink, sendHead, finish, truncate, replace });
 */
export function runStream(t: StreamTarget): Promise<void> {
  return new Promise<void>((resolve) => startStream(t, resolve));
}

/**
 * `runStream` for an engine that needs no promise of the end (node:http): an idle stream then
 * holds no promise of its own besides its pending `next()`. `done` is called once it is all over.
 *
 * @example
 * startStream(new NodeStream(...));
 */
export function startStream(t: StreamTarget, done?: () => void): void {
  const { body, signal } = t;
  if (t.head) {
    // HEAD: the headers GET would send, and the producer is neither called nor iterated.
    t.sendHead();
    t.finish();
    void unstarted(t, true).then(done);
    return;
  }
  if (signal.aborted) {
    // The client left before the stream started (while the handler was still working): the
    // producer is closed unstarted, as for HEAD, and no stream is counted (none was pulled).
    t.truncate();
    void unstarted(t, false).then(done);
    return;
  }
  if (body.endAtShutdown && t.closing?.closed) {
    // Shutting down already: a stream that would be ended at once is not started; its client
    // (an EventSource) sees a clean, empty answer and reconnects elsewhere.
    t.sendHead();
    t.finish();
    void unstarted(t, false).then(() => {
      // The producer's own waits end (it was never pulled, but it may hold a subscription).
      t.request.abort(new Error("server shutting down"));
      done?.();
    });
    return;
  }
  new StreamRun(t, done).start();
}

/** A stream that never started: its source closed unstarted, its teardown run, tasks if sent. */
async function unstarted(t: StreamTarget, sent: boolean): Promise<void> {
  await disposeSource(t.body.source).catch((e) => report(t, e, "teardown"));
  await runTeardowns(t);
  if (sent) await runTasks(t);
}

/**
 * One stream being written. A class rather than closures, and one async function (the pump)
 * rather than a chain of them: an idle stream (an SSE client waiting for the next event) holds
 * this object, the pump's suspended frame on its pending `next()`, at most one timer, a field of the
 * engine's that points here (see `watch`; else one abort listener) and one entry in the server's
 * `Closing`.
 */
// The yes-or-no state of a stream, as bits of one field: an idle stream is kept small.
const SYNC = 1;
const SCHEDULED = 2;
const BLOCKED = 4;
const HEAD_SENT = 8;
const IN_FLIGHT = 16;
const ENDING = 32;
const SETTLED = 64;
const CLOSED = 128;

class StreamRun {
  readonly t: StreamTarget;
  readonly done: (() => void) | undefined;
  sink: Sink;
  coding: SinkCoding | undefined = undefined;
  iterator: Iterator<unknown> | AsyncIterator<unknown> | undefined = undefined;
  flags = 0;

  // The batch: text and bytes produced back to back, written together.
  text = "";
  parts: Chunk[] | undefined = undefined;
  size = 0;

  /** Set from outside (client gone, shutdown): the writer stops waiting for anything. */
  stop: Stop | undefined = undefined;

  // The keepalive: one timer per stream, re-armed only when nothing was written for the interval.
  readonly interval: number;
  timer: ReturnType<typeof setTimeout> | undefined = undefined;
  lastWrite = 0;

  /** The source answers `next()` synchronously. */
  get sync(): boolean {
    return (this.flags & SYNC) !== 0;
  }
  set sync(on: boolean) {
    this.flags = on ? this.flags | SYNC : this.flags & ~SYNC;
  }
  /** A flush of the batch is deferred already. */
  get scheduled(): boolean {
    return (this.flags & SCHEDULED) !== 0;
  }
  set scheduled(on: boolean) {
    this.flags = on ? this.flags | SCHEDULED : this.flags & ~SCHEDULED;
  }
  /** A write answered that the consumer is full. */
  get blocked(): boolean {
    return (this.flags & BLOCKED) !== 0;
  }
  set blocked(on: boolean) {
    this.flags = on ? this.flags | BLOCKED : this.flags & ~BLOCKED;
  }
  get headSent(): boolean {
    return (this.flags & HEAD_SENT) !== 0;
  }
  set headSent(on: boolean) {
    this.flags = on ? this.flags | HEAD_SENT : this.flags & ~HEAD_SENT;
  }
  /** A `next()` of the source is pending: its producer may be stuck in an await. */
  get inFlight(): boolean {
    return (this.flags & IN_FLIGHT) !== 0;
  }
  set inFlight(on: boolean) {
    this.flags = on ? this.flags | IN_FLIGHT : this.flags & ~IN_FLIGHT;
  }
  /** The end is being written (completion, error): a stop can no longer change it. */
  get ending(): boolean {
    return (this.flags & ENDING) !== 0;
  }
  set ending(on: boolean) {
    this.flags = on ? this.flags | ENDING : this.flags & ~ENDING;
  }
  /** How the stream came out is known: what is left is closing it down. */
  get settled(): boolean {
    return (this.flags & SETTLED) !== 0;
  }
  set settled(on: boolean) {
    this.flags = on ? this.flags | SETTLED : this.flags & ~SETTLED;
  }
  /** Everything is over: no write may happen any more. */
  get closed(): boolean {
    return (this.flags & CLOSED) !== 0;
  }
  set closed(on: boolean) {
    this.flags = on ? this.flags | CLOSED : this.flags & ~CLOSED;
  }

  constructor(t: StreamTarget, done: (() => void) | undefined) {
    this.t = t;
    this.done = done;
    this.sink = t.sink;
    const ms = t.body.heartbeat?.intervalMs ?? 0;
    this.interval = ms > 0 && Number.isFinite(ms) ? Math.min(ms, MAX_DELAY) : 0;
  }

  start(): void {
    const t = this.t;
    const stats = t.app.stats.streams;
    stats.started++;
    stats.active++;
    if (t.watch !== undefined) t.watch(this);
    else {
      this.onAbort = () => this.halted("aborted");
      t.signal.addEventListener("abort", this.onAbort);
    }
    if (t.body.endAtShutdown) t.closing?.add(this);
    const body = t.body;
    try {
      this.coding = body.coding?.(t.sink);
      if (this.coding) this.sink = this.coding;
      const opened = openSource(body.source);
      this.iterator = opened.iterator;
      this.sync = opened.sync;
      if (body.prelude !== undefined) this.add(body.prelude);
      if (body.headersFirst) this.sendHead();
    } catch (error) {
      // Opening the source (or sending the head) failed: nothing was sent.
      this.ending = true;
      if (this.headSent) {
        report(t, error, "stream");
        t.truncate();
      } else t.replace(error);
      this.settle("errored");
      return;
    }
    void this.pump();
  }

  /** The abort listener, when the engine has no `watch`. */
  onAbort: (() => void) | undefined = undefined;

  /** The request's signal aborted: the client left. */
  handleEvent(): void {
    this.halted("aborted");
  }

  /** The server began to shut down, and this stream may end then. */
  close(): void {
    this.halted("closed");
  }

  halted(why: Stop): void {
    if (this.stop !== undefined || this.ending || this.settled) return;
    this.stop = why;
    this.settle("stopped");
  }

  /** How the stream came out is known (first come, first served): close it down. */
  settle(outcome: Outcome): void {
    if (this.settled) return;
    this.settled = true;
    void this.shutDown(outcome);
  }

  /** Ends what a stop left open, then teardown, counters and tasks, whatever happened. */
  async shutDown(outcome: Outcome): Promise<void> {
    const t = this.t;
    let end: StreamEnd = outcome === "completed" ? "completed" : "errored";
    try {
      if (outcome === "stopped") end = await this.halt();
    } catch (error) {
      report(t, error, "stream");
    } finally {
      this.closed = true;
      this.clearTimer();
      if (t.watch !== undefined) t.watch(undefined);
      else if (this.onAbort !== undefined) t.signal.removeEventListener("abort", this.onAbort);
      t.closing?.delete(this);
      this.coding?.destroy();
      await this.closeSource();
      await runTeardowns(t);
      const stats = t.app.stats;
      stats.streams[end]++;
      stats.streams.active--;
      stats.teardowns++;
      // Background tasks run once the body has gone out in full, and only then.
      if (end === "completed") await runTasks(t);
      this.done?.();
    }
  }

  /** Ends a stream that was stopped from outside; it counts as aborted either way. */
  async halt(): Promise<StreamEnd> {
    const t = this.t;
    if (this.stop === "aborted" || t.signal.aborted) {
      t.truncate();
      return "aborted";
    }
    // Shutdown: what was produced goes out, then the terminating chunk, so the client sees a clean
    // end and reconnects elsewhere (an EventSource, with Last-Event-ID).
    if (!this.headSent) this.sendHead();
    this.flush();
    await this.complete();
    // The client has not left, so nothing else would abort the request's signal: abort it, so
    // that the producer's own waits end.
    t.request.abort(new Error("server shutting down"));
    return "aborted";
  }

  /** Requests the source's `return()`: awaited unless a `next()` is stuck, then only requested. */
  async closeSource(): Promise<void> {
    const iterator = this.iterator;
    if (iterator?.return === undefined) return;
    if (this.inFlight) {
      // An async generator runs a return() only once its pending await settles, which may be
      // never: request it, hear about its failure later, and do not wait for it.
      try {
        Promise.resolve(iterator.return()).catch((e: unknown) => report(this.t, e, "teardown"));
      } catch (error) {
        report(this.t, error, "teardown");
      }
      return;
    }
    try {
      await iterator.return();
    } catch (error) {
      report(this.t, error, "teardown");
    }
  }

  sendHead(): void {
    this.headSent = true;
    this.t.sendHead();
    if (this.interval > 0) {
      this.lastWrite = now();
      this.timer = setTimeout(onIdle, this.interval, this);
    }
  }

  /**
   * Pulls items, encodes them and writes them with backpressure and batching until the source
   * ends or fails, or the writer is stopped; settles the stream with how it came out. The first
   * item is pulled before the head goes out (unless the head goes first), so an early error is
   * still a proper error response. After every await, a stop ends it here: nothing more is
   * written, the stop's own path ends the stream.
   */
  async pump(): Promise<void> {
    const t = this.t;
    const sink = this.sink;
    const encode = t.body.encode;
    const sync = this.sync;
    const iterator = this.iterator!;
    if (!this.headSent) {
      let r: IteratorResult<unknown>;
      try {
        if (sync) r = (iterator as Iterator<unknown>).next();
        else {
          this.inFlight = true;
          r = await (iterator as AsyncIterator<unknown>).next();
          this.inFlight = false;
        }
        if (this.stop !== undefined) return;
        if (!r.done) this.add(encode(r.value));
      } catch (error) {
        this.inFlight = false;
        if (this.stop !== undefined) return;
        this.ending = true;
        t.replace(error);
        return this.settle("errored");
      }
      if (this.settled) return;
      try {
        this.sendHead();
      } catch (error) {
        this.ending = true;
        report(t, error, "stream");
        t.truncate();
        return this.settle("errored");
      }
      if (r.done) return this.settle(await this.end());
    }
    try {
      for (;;) {
        if (this.size >= BATCH_BYTES) {
          this.flush();
          // A producer that never waits would keep this loop going without a turn of the event
          // loop — also through backpressure, since a socket that takes a write at once emits its
          // "drain" from process.nextTick — and other requests, timers and shutdown would starve.
          // One turn per full batch (64 KiB) lets them in at a negligible cost.
          await new Promise<void>((resolve) => sink.defer(resolve, undefined));
          if (this.stop !== undefined) return;
        }
        if (this.blocked) {
          this.blocked = false;
          // Backpressure: the producer is not pulled again until the consumer drains.
          await sink.drained();
          if (this.stop !== undefined) return;
        }
        if (this.size > 0 && !this.scheduled) {
          // An item produced after an idle moment goes out at once; items produced back to back
          // (within the same turn of the event loop) join it first.
          this.scheduled = true;
          sink.defer(flushRun, this);
        }
        let r: IteratorResult<unknown>;
        if (sync) r = (iterator as Iterator<unknown>).next();
        else {
          this.inFlight = true;
          r = await (iterator as AsyncIterator<unknown>).next();
          this.inFlight = false;
        }
        if (this.stop !== undefined) return;
        if (r.done) break;
        this.add(encode(r.value));
      }
    } catch (error) {
      this.inFlight = false;
      if (this.stop !== undefined) return;
      this.ending = true;
      try {
        const last = t.body.errorChunk?.(error);
        if (last !== undefined) this.add(last);
        this.flush();
      } catch (failed) {
        // The error item itself could not be encoded or written: the cut says enough.
        report(t, failed, "stream");
      }
      report(t, error, "stream");
      try {
        // What was written (an error item included) leaves the coding before the cut.
        await this.coding?.settle();
        t.truncate();
      } catch (failed) {
        report(t, failed, "stream");
      }
      return this.settle("errored");
    }
    this.settle(await this.end());
  }

  /** The source is done: the last batch, then a clean end. */
  async end(): Promise<Outcome> {
    this.ending = true;
    try {
      this.flush();
      return (await this.complete()) ? "completed" : "errored";
    } catch (error) {
      report(this.t, error, "stream");
      this.t.truncate();
      return "errored";
    }
  }

  /** Ends the body cleanly, after its coding's last bytes; a coding that failed truncates it. */
  async complete(): Promise<boolean> {
    const t = this.t;
    if (this.coding !== undefined && !(await this.coding.finish())) {
      report(t, new Error("the content coding of the stream failed"), "stream");
      t.truncate();
      return false;
    }
    t.finish();
    return true;
  }

  add(chunk: Chunk): void {
    if (typeof chunk === "string") {
      this.text += chunk;
      this.size += chunk.length;
    } else if (chunk.byteLength > 0) {
      this.parts ??= [];
      if (this.text !== "") {
        this.parts.push(this.text);
        this.text = "";
      }
      this.parts.push(chunk);
      this.size += chunk.byteLength;
    }
  }

  flush(): void {
    this.scheduled = false;
    if (this.size === 0 || this.closed) return;
    let out: Chunk;
    const parts = this.parts;
    if (parts === undefined) out = this.text;
    else {
      if (this.text !== "") parts.push(this.text);
      // A lone chunk (a file's read buffer, a producer's Uint8Array, an event encoded once for
      // many subscribers) goes out as it is: copying it into a batch of one would only cost a
      // copy and garbage.
      out = parts.length === 1 ? parts[0]! : concatBytes(parts);
      this.parts = undefined;
    }
    this.text = "";
    this.size = 0;
    if (this.interval > 0) this.lastWrite = now();
    if (!this.sink.write(out)) this.blocked = true;
  }

  /** The keepalive timer fired: a ping if nothing was written for the interval, then re-arm. */
  idle(): void {
    this.timer = undefined;
    if (this.closed || this.stop !== undefined || this.ending) return;
    const quiet = now() - this.lastWrite;
    if (quiet + 1 < this.interval) {
      // Something was written since the timer was armed: wait out the rest of this idle period.
      this.timer = setTimeout(onIdle, this.interval - quiet, this);
      return;
    }
    // A write answered "full" while the producer went idle: the consumer may have drained since.
    if (this.blocked && this.sink.ready()) this.blocked = false;
    // Held up by backpressure, or a batch about to go out: the connection is not idle.
    if (!this.blocked && this.size === 0) {
      this.lastWrite = now();
      if (!this.sink.write(this.t.body.heartbeat!.frame)) this.blocked = true;
    }
    this.timer = setTimeout(onIdle, this.interval, this);
  }

  clearTimer(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }
}

/**
 * A clock for the keepalive, in whole milliseconds: a small integer that fits an object's field as
 * it is, where a fraction would be boxed (and allocated) on every write.
 */
function now(): number {
  return Math.floor(performance.now());
}

/** A batch's deferred flush: a plain function given its stream, no closure per stream. */
function flushRun(run: StreamRun): void {
  run.flush();
}

/** The keepalive timer's callback: a plain function given its stream, no closure per stream. */
function onIdle(run: StreamRun): void {
  run.idle();
}

function report(t: StreamTarget, error: unknown, phase: "stream" | "teardown"): void {
  t.app.report(error, { request: t.request, phase });
}

/**
 * The stream body of a web Response a handler returned: its bytes pass through the same writer as
 * any stream (backpressure, teardown, counting), headers first.
 *
 * @example
 * const body = webStreamBody(response.body);
 */
export function webStreamBody(stream: ReadableStream<Uint8Array>): StreamBody<Uint8Array> {
  return { kind: "stream", source: stream, encode: passThrough, headersFirst: true };
}

function passThrough(chunk: Uint8Array): Chunk {
  return chunk;
}
