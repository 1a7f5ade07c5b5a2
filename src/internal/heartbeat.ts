/**
 * The keepalive combinator: it passes a source's items through and fills idle gaps with a ping
 * item, so that a writer never needs a timer of its own. Written as a plain async iterator, not an
 * async generator: a generator's `return()` waits behind its own pending `await`, and here
 * `return()` must settle while the source is still awaited.
 */

/**
 * Options of `withHeartbeat`.
 *
 * @example
 * const opts: HeartbeatOptions = { onCleanupError: (err) => app.reportError(err) };
 */
export type HeartbeatOptions = {
  /**
   * Hears about an error thrown by the source's `return()` when `return()` on the combinator has
   * already settled without waiting for it (see `withHeartbeat`). Without it such errors are
   * dropped, since nothing awaits them any more.
   */
  onCleanupError?: (error: unknown) => void;
};

// setTimeout turns a longer delay into 1 ms (HTML "timer initialisation steps" and Node alike),
// which would send a ping every millisecond; pinging a little early instead is harmless.
const MAX_DELAY = 2_147_483_647;

/**
 * Yields the source's items as they arrive and, whenever `intervalMs` passes while the consumer
 * waits for an item, yields `ping`; again after each further `intervalMs` of waiting. The idle clock
 * runs only while a `next()` is pending, so a consumer held up by backpressure gets no pings it
 * could not write anyway. An item the source produces during a ping is kept for the next call.
 * `intervalMs` of 0 or less, or Infinity, turns heartbeats off: the source comes back unchanged (a
 * sync iterable is wrapped as an async one). NaN throws RangeError.
 *
 * Lifecycle. When the source ends or throws, the timer is cleared and the end or the error reaches
 * the consumer. When the consumer calls `return()` (the client went away), the timer is cleared,
 * any waiting `next()` resolves as done, and the source's `return()` is called at once, so that the
 * producer's `finally` runs. If no source `next()` is in flight, `return()` waits for the source's
 * `return()` and passes its error on: cleanup is over when it settles. If one is in flight, the
 * source is busy (an async generator queues the return until it next yields, and its await may
 * never end), so `return()` settles at once and a later cleanup error goes to `onCleanupError`;
 * a late result or error of the abandoned `next()` is ignored. No timer outlives any of these.
 *
 * @example
 * for await (const item of withHeartbeat(events(), 15_000, PING_ITEM)) write(item);
 */
export function withHeartbeat<T, P>(
  source: AsyncIterable<T> | Iterable<T>,
  intervalMs: number,
  ping: P,
  opts?: HeartbeatOptions,
): AsyncIterable<T | P> {
  if (Number.isNaN(intervalMs))
    throw new RangeError("heartbeat interval must be a number, not NaN");
  if (intervalMs <= 0 || intervalMs === Number.POSITIVE_INFINITY) return toAsyncIterable(source);
  const delay = Math.min(intervalMs, MAX_DELAY);
  return {
    [Symbol.asyncIterator]: () =>
      new HeartbeatIterator<T, P>(iteratorOf(source), delay, ping, opts?.onCleanupError),
  };
}

type Outcome<T> = { ok: true; result: IteratorResult<T> } | { ok: false; error: unknown };

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

class HeartbeatIterator<T, P> implements AsyncIterableIterator<T | P> {
  #source: AsyncIterator<T>;
  #delay: number;
  #ping: P;
  #onCleanupError: ((error: unknown) => void) | undefined;
  #finished = false;
  #inFlight = false;
  // A source outcome that arrived while no `next()` was waiting (during a ping).
  #buffered: Outcome<T> | undefined = undefined;
  // The waiting `next()`'s promise functions; set while a step waits for the source or a ping.
  #resolve: ((result: IteratorResult<T | P>) => void) | undefined = undefined;
  #reject: ((error: unknown) => void) | undefined = undefined;
  // One timer for the whole stream, armed when a wait begins and none is armed, and re-armed
  // from its own callback. An item that arrives in time costs a clock read, not a set and a clear
  // of a timer: items come far more often than pings.
  #timer: ReturnType<typeof setTimeout> | undefined = undefined;
  // When the current wait began (performance.now()).
  #since = 0;
  // Calls to `next()` run one at a time, as with an async generator: one that comes while a step
  // is pending waits in this queue.
  #busy = false;
  #queue: (() => void)[] = [];

  constructor(
    source: AsyncIterator<T>,
    delay: number,
    ping: P,
    onCleanupError: ((error: unknown) => void) | undefined,
  ) {
    this.#source = source;
    this.#delay = delay;
    this.#ping = ping;
    this.#onCleanupError = onCleanupError;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<T | P>> {
    if (!this.#busy) {
      this.#busy = true;
      return this.#step();
    }
    return new Promise<IteratorResult<T | P>>((resolve) => {
      this.#queue.push(() => resolve(this.#step()));
    });
  }

  return(value?: unknown): Promise<IteratorResult<T | P>> {
    const result = { done: true, value } as IteratorReturnResult<T | P>;
    if (this.#finished) return Promise.resolve(result);
    this.#finished = true;
    this.#buffered = undefined;
    this.#clearTimer();
    const resolve = this.#take();
    resolve?.(DONE);
    const sourceReturn = this.#source.return;
    if (sourceReturn === undefined) return Promise.resolve(result);
    let cleanup: Promise<unknown>;
    try {
      cleanup = Promise.resolve(sourceReturn.call(this.#source));
    } catch (error) {
      cleanup = Promise.reject(error);
    }
    if (this.#inFlight) {
      const report = this.#onCleanupError;
      cleanup.then(ignore, (error: unknown) => report?.(error));
      return Promise.resolve(result);
    }
    return cleanup.then(() => result);
  }

  /** A step has settled: the next queued `next()`, if any, starts its own. */
  #release(): void {
    const queued = this.#queue.shift();
    if (queued === undefined) this.#busy = false;
    else queued();
  }

  #step(): Promise<IteratorResult<T | P>> {
    if (this.#finished) {
      this.#release();
      return Promise.resolve(DONE);
    }
    const buffered = this.#buffered;
    if (buffered !== undefined) {
      this.#buffered = undefined;
      this.#release();
      try {
        return Promise.resolve(this.#settle(buffered));
      } catch (error) {
        return Promise.reject(error);
      }
    }
    if (!this.#inFlight) this.#pull();
    this.#since = performance.now();
    if (this.#timer === undefined) this.#timer = setTimeout(this.#onTimer, this.#delay);
    return new Promise<IteratorResult<T | P>>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  /** Ends the waiting step: hands back its resolve function and lets the next queued step go. */
  #take(): ((result: IteratorResult<T | P>) => void) | undefined {
    const resolve = this.#resolve;
    if (resolve === undefined) return undefined;
    this.#resolve = undefined;
    this.#reject = undefined;
    this.#release();
    return resolve;
  }

  #onTimer = (): void => {
    this.#timer = undefined;
    // Nobody waits (the consumer is busy writing): the next wait arms the timer again.
    if (this.#resolve === undefined || this.#finished) return;
    const idle = performance.now() - this.#since;
    if (idle + 1 < this.#delay) {
      // An item came since the timer was armed: wait out the rest of this idle period.
      this.#timer = setTimeout(this.#onTimer, this.#delay - idle);
      return;
    }
    this.#take()!({ done: false, value: this.#ping });
  };

  // One handler per source promise, whatever the number of pings while it is pending: racing the
  // same long-lived promise on every step would pile up reactions on it.
  #pull(): void {
    this.#inFlight = true;
    let pending: Promise<IteratorResult<T>>;
    try {
      pending = Promise.resolve(this.#source.next());
    } catch (error) {
      pending = Promise.reject(error);
    }
    pending.then(this.#onResult, this.#onError);
  }

  // The source's outcome goes straight to the waiting step; only one that comes during a ping is
  // wrapped and kept for the next call.
  #onResult = (result: IteratorResult<T>): void => {
    this.#inFlight = false;
    if (this.#finished) return;
    const resolve = this.#take();
    if (resolve === undefined) {
      this.#buffered = { ok: true, result };
      return;
    }
    if (result.done === true) {
      this.#finished = true;
      this.#clearTimer();
      resolve(DONE);
    } else resolve(result);
  };

  #onError = (error: unknown): void => {
    this.#inFlight = false;
    if (this.#finished) return;
    const reject = this.#reject;
    if (this.#take() === undefined) {
      this.#buffered = { ok: false, error };
      return;
    }
    this.#finished = true;
    this.#clearTimer();
    reject!(error);
  };

  #settle(outcome: Outcome<T>): IteratorResult<T> {
    if (!outcome.ok) {
      this.#finished = true;
      this.#clearTimer();
      throw outcome.error;
    }
    if (outcome.result.done === true) {
      this.#finished = true;
      this.#clearTimer();
      return DONE;
    }
    return outcome.result;
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }
}

function ignore(): void {}

function iteratorOf<T>(source: AsyncIterable<T> | Iterable<T>): AsyncIterator<T> {
  if (Symbol.asyncIterator in source) return source[Symbol.asyncIterator]();
  const iterator = source[Symbol.iterator]();
  return {
    next: async () => iterator.next(),
    return: async (value?: unknown) =>
      iterator.return === undefined
        ? { done: true, value: value as T }
        : (iterator.return(value) as IteratorResult<T>),
  };
}

function toAsyncIterable<T>(source: AsyncIterable<T> | Iterable<T>): AsyncIterable<T> {
  if (Symbol.asyncIterator in source) return source;
  return { [Symbol.asyncIterator]: () => iteratorOf(source) };
}
