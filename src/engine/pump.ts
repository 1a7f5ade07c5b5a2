import { disposeSource, runTasks, runTeardowns } from "../core/lifecycle.ts";
import type { AppPort } from "../core/port.ts";
import type { SluiceRequest } from "../http/request.ts";
import { concatBytes } from "../internal/bytes.ts";
import { withHeartbeat } from "../internal/heartbeat.ts";
import type { SluiceResponse } from "../responses/base.ts";
import type { Chunk, Sink, SinkCoding, StreamBody, StreamSource } from "../responses/stream.ts";

/**
 * The streaming writer shared by both engines (DESIGN.md §2). The engine supplies a sink; the pump
 * owns backpressure, batching, lifecycle and error classification, the same way everywhere.
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
  return {
    async next() {
      const r = await reader.read();
      return r.done ? { done: true, value: undefined } : { done: false, value: r.value };
    },
    async return() {
      await reader.cancel();
      return { done: true, value: undefined };
    },
  };
}

/** Everything a pump run needs. */
export interface PumpRun<T> {
  readonly app: AppPort;
  readonly body: StreamBody<T>;
  readonly sink: Sink;
  readonly signal: AbortSignal;
  readonly iterator: Iterator<T> | AsyncIterator<T>;
  readonly sync: boolean;
  /** The first item's bytes, already pulled (and encoded) before the headers went out. */
  readonly first?: Chunk;
}

/**
 * Pulls items, encodes them and writes them with backpressure and batching until the source ends,
 * fails or the signal aborts. Resolves with how it ended; never rejects. On "errored" the caller
 * truncates the response; the error is returned for reporting.
 */
export async function pump<T>(run: PumpRun<T>): Promise<{ end: StreamEnd; error?: unknown }> {
  const { body, sink, signal, iterator, sync } = run;
  const encode = body.encode;
  let text = "";
  let parts: Chunk[] | undefined;
  let size = 0;
  let scheduled = false;
  let blocked = false;

  const flush = (): void => {
    scheduled = false;
    if (size === 0) return;
    let out: Chunk;
    if (parts === undefined) out = text;
    else {
      if (text !== "") parts.push(text);
      // A lone chunk (a file's read buffer, a producer's Uint8Array) goes out as it is: copying
      // it into a batch of one would only cost a copy and garbage.
      out = parts.length === 1 ? parts[0]! : concatBytes(parts);
      parts = undefined;
    }
    text = "";
    size = 0;
    if (!sink.write(out)) blocked = true;
  };
  const add = (chunk: Chunk): void => {
    if (typeof chunk === "string") {
      text += chunk;
      size += chunk.length;
    } else if (chunk.byteLength > 0) {
      parts ??= [];
      if (text !== "") {
        parts.push(text);
        text = "";
      }
      parts.push(chunk);
      size += chunk.byteLength;
    }
  };

  if (run.first !== undefined) add(run.first);
  try {
    for (;;) {
      if (size >= BATCH_BYTES) {
        flush();
        // A producer that never waits would keep this loop going without a turn of the event
        // loop — also through backpressure, since a socket that takes a write at once emits its
        // "drain" from process.nextTick — and other requests, timers and shutdown would starve.
        // One turn per full batch (64 KiB) lets them in at a negligible cost.
        await new Promise<void>((resolve) => sink.defer(resolve));
      }
      if (blocked) {
        blocked = false;
        // Backpressure: the producer is not pulled again until the consumer drains.
        await sink.drained();
      }
      if (signal.aborted) return { end: "aborted" };
      if (size > 0 && !scheduled) {
        // An item produced after an idle moment goes out at once; items produced back to back
        // (within the same turn of the event loop) join it first.
        scheduled = true;
        sink.defer(flush);
      }
      const r = sync
        ? (iterator as Iterator<T>).next()
        : await (iterator as AsyncIterator<T>).next();
      if (r.done) break;
      add(encode(r.value));
    }
    if (signal.aborted) return { end: "aborted" };
    flush();
    return { end: "completed" };
  } catch (error) {
    if (signal.aborted) return { end: "aborted" };
    const last = body.errorChunk?.(error);
    if (last !== undefined) add(last);
    flush();
    return { end: "errored", error };
  }
}

/** What an engine gives `runStream`: how to write the head, the sink, and how to end. */
export interface StreamTarget {
  readonly app: AppPort;
  readonly request: SluiceRequest<any>;
  readonly response: SluiceResponse;
  readonly body: StreamBody<unknown>;
  readonly head: boolean;
  readonly signal: AbortSignal;
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

const PING: unique symbol = Symbol("sluice.ping");

/**
 * Runs one stream from start to teardown, the same way in every engine: HEAD never touches the
 * producer; an error before the first item becomes an error response; after it, truncation; the
 * iterator's `return()` and the response's teardown hooks run exactly once on every path; the app's
 * stream counters record how it ended; background tasks run after a body that went out whole.
 */
export async function runStream(t: StreamTarget): Promise<void> {
  const { app, body, signal } = t;
  if (t.head) {
    // HEAD: the headers GET would send, and the producer is neither called nor iterated.
    t.sendHead();
    t.finish();
    await disposeSource(body.source).catch((e) => report(t, e, "teardown"));
    await runTeardowns(t);
    await runTasks(t);
    return;
  }
  if (signal.aborted) {
    // The client left before the stream started (while the handler was still working): the
    // producer is closed unstarted, as for HEAD, and no stream is counted (none was pulled).
    t.truncate();
    await disposeSource(body.source).catch((e) => report(t, e, "teardown"));
    await runTeardowns(t);
    return;
  }
  const stats = app.stats.streams;
  stats.started++;
  stats.active++;
  let end: StreamEnd = "errored";
  let iterator: Iterator<unknown> | AsyncIterator<unknown> | undefined;
  let coding: SinkCoding | undefined;
  try {
    coding = body.coding?.(t.sink);
    const sink = coding ?? t.sink;
    const opened = openSource(body.source);
    iterator = opened.iterator;
    let sync = opened.sync;
    let encode = body.encode;
    if (
      body.heartbeat &&
      body.heartbeat.intervalMs > 0 &&
      Number.isFinite(body.heartbeat.intervalMs)
    ) {
      const frame = body.heartbeat.frame;
      iterator = withHeartbeat(asIterable(iterator), body.heartbeat.intervalMs, PING, {
        onCleanupError: (error) => report(t, error, "teardown"),
      })[Symbol.asyncIterator]();
      sync = false;
      const inner = encode;
      encode = (item) => (item === PING ? frame : inner(item));
    }
    const run = { ...body, encode };
    let first: Chunk | undefined = body.prelude;
    if (body.headersFirst) {
      t.sendHead();
    } else {
      // The first item is pulled before the headers go out, so an early error is still a proper
      // error response.
      let r: IteratorResult<unknown>;
      try {
        r = sync
          ? (iterator as Iterator<unknown>).next()
          : await (iterator as AsyncIterator<unknown>).next();
        if (!r.done) first = join(first, encode(r.value));
      } catch (error) {
        if (signal.aborted) {
          end = "aborted";
          // Nothing was sent: end the exchange now (a shutdown must not wait for its deadline).
          t.truncate();
          return;
        }
        end = "errored";
        t.replace(error);
        return;
      }
      if (signal.aborted) {
        end = "aborted";
        t.truncate();
        return;
      }
      t.sendHead();
      if (r.done) {
        if (first !== undefined) sink.write(first);
        end = await complete(t, coding);
        return;
      }
    }
    const result = await pump({ app, body: run, sink, signal, iterator, sync, first });
    end = result.end;
    if (end === "completed") end = await complete(t, coding);
    else {
      if (end === "errored") {
        report(t, result.error, "stream");
        // What was written (an error item included) leaves the coding before the cut.
        await coding?.settle();
      }
      t.truncate();
    }
  } catch (error) {
    // Opening the source failed: nothing was sent.
    end = signal.aborted ? "aborted" : "errored";
    if (end === "errored") t.replace(error);
    else t.truncate();
  } finally {
    coding?.destroy();
    if (iterator) {
      try {
        await iterator.return?.();
      } catch (error) {
        report(t, error, "teardown");
      }
    }
    await runTeardowns(t);
    stats[end]++;
    stats.active--;
    app.stats.teardowns++;
    // Background tasks run once the body has gone out in full, and only then.
    if (end === "completed") await runTasks(t);
  }
}

/** Ends a stream cleanly, after its coding's last bytes; a coding that failed truncates it. */
async function complete(t: StreamTarget, coding: SinkCoding | undefined): Promise<StreamEnd> {
  if (coding !== undefined && !(await coding.finish())) {
    report(t, new Error("the content coding of the stream failed"), "stream");
    t.truncate();
    return "errored";
  }
  t.finish();
  return "completed";
}

function report(t: StreamTarget, error: unknown, phase: "stream" | "teardown"): void {
  t.app.report(error, { request: t.request, phase });
}

function join(a: Chunk | undefined, b: Chunk): Chunk {
  if (a === undefined) return b;
  if (typeof a === "string" && typeof b === "string") return a + b;
  return concatBytes([a, b]);
}

function asIterable<T>(iterator: Iterator<T> | AsyncIterator<T>): AsyncIterable<T> {
  return { [Symbol.asyncIterator]: () => iterator as AsyncIterator<T> };
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
