import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { withHeartbeat } from "./heartbeat.ts";

const PING = Symbol("ping");
const INTERVAL = 20;
const BOUND = { timeout: 2000 };

function activeTimers(): number {
  return process.getActiveResourcesInfo().filter((kind) => kind === "Timeout").length;
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

// A source whose every `next()` waits until the test settles it by hand.
function manualSource<T>() {
  const calls: PromiseWithResolvers<IteratorResult<T>>[] = [];
  let returned = 0;
  const iterator: AsyncIterator<T> = {
    next() {
      const call = Promise.withResolvers<IteratorResult<T>>();
      calls.push(call);
      return call.promise;
    },
    async return() {
      returned++;
      return { done: true, value: undefined };
    },
  };
  return {
    iterable: { [Symbol.asyncIterator]: () => iterator },
    calls,
    returned: () => returned,
  };
}

describe("withHeartbeat", () => {
  it("passes a quick source through without pings", BOUND, async () => {
    async function* quick() {
      yield 1;
      yield 2;
      yield 3;
    }
    assert.deepEqual(await collect(withHeartbeat(quick(), INTERVAL, PING)), [1, 2, 3]);
    assert.deepEqual(await collect(withHeartbeat(["a", "b"], INTERVAL, PING)), ["a", "b"]);
  });

  it("yields a ping when the source is idle for the interval", BOUND, async () => {
    async function* slow() {
      yield "a";
      await sleep(INTERVAL * 4);
      yield "b";
    }
    const items = await collect(withHeartbeat(slow(), INTERVAL, PING));
    assert.equal(items[0], "a");
    assert.equal(items.at(-1), "b");
    const middle = items.slice(1, -1);
    assert.ok(middle.length >= 1, "at least one ping");
    assert.ok(
      middle.every((item) => item === PING),
      "only pings in between",
    );
  });

  it("pings again after every further interval of idleness", BOUND, async () => {
    const source = manualSource<string>();
    const it = withHeartbeat(source.iterable, INTERVAL, PING)[Symbol.asyncIterator]();
    for (let i = 0; i < 3; i++) assert.deepEqual(await it.next(), { done: false, value: PING });
    assert.equal(source.calls.length, 1, "the pending source next is reused, not repeated");
    await it.return?.();
  });

  it("keeps an item that arrives while the consumer handles a ping", BOUND, async () => {
    const source = manualSource<string>();
    const it = withHeartbeat(source.iterable, INTERVAL, PING)[Symbol.asyncIterator]();
    assert.deepEqual(await it.next(), { done: false, value: PING });
    source.calls[0]?.resolve({ done: false, value: "x" });
    await sleep(1);
    assert.deepEqual(await it.next(), { done: false, value: "x" });
    assert.equal(source.calls.length, 1);
    const next = it.next();
    source.calls[1]?.resolve({ done: true, value: undefined });
    assert.deepEqual(await next, { done: true, value: undefined });
    assert.equal(source.returned(), 0, "a finished source is not returned");
  });

  it("serves concurrent next() calls in order", BOUND, async () => {
    const it = withHeartbeat([1, 2, 3], INTERVAL, PING)[Symbol.asyncIterator]();
    const results = await Promise.all([it.next(), it.next(), it.next(), it.next()]);
    assert.deepEqual(
      results.map((r) => r.value),
      [1, 2, 3, undefined],
    );
    assert.equal(results[3]?.done, true);
  });

  it("returns the source unchanged when the interval is 0, negative or Infinity", () => {
    async function* gen() {
      yield 1;
    }
    const source = gen();
    assert.equal(withHeartbeat(source, 0, PING), source);
    assert.equal(withHeartbeat(source, -5, PING), source);
    assert.equal(withHeartbeat(source, Number.POSITIVE_INFINITY, PING), source);
  });

  it("wraps a sync source as an async one when heartbeats are off", async () => {
    const wrapped = withHeartbeat(new Set(["a", "b"]), 0, PING);
    assert.equal(Symbol.asyncIterator in wrapped, true);
    assert.deepEqual(await collect(wrapped), ["a", "b"]);
  });

  it("refuses a NaN interval", () => {
    assert.throws(() => withHeartbeat([], Number.NaN, PING), RangeError);
  });

  it("passes a source error to the consumer and leaves no timer", BOUND, async () => {
    const before = activeTimers();
    async function* failing() {
      yield 1;
      await sleep(INTERVAL * 2);
      throw new Error("boom");
    }
    const seen: unknown[] = [];
    await assert.rejects(async () => {
      for await (const item of withHeartbeat(failing(), INTERVAL, PING)) seen.push(item);
    }, /boom/);
    assert.equal(seen[0], 1);
    assert.equal(activeTimers(), before);
  });

  it("leaves no timer after the source ends", BOUND, async () => {
    const before = activeTimers();
    async function* gen() {
      await sleep(INTERVAL * 2);
      yield 1;
    }
    assert.ok((await collect(withHeartbeat(gen(), INTERVAL, PING))).includes(1));
    assert.equal(activeTimers(), before);
  });

  it("runs the producer's finally when the consumer stops at a yield", BOUND, async () => {
    const before = activeTimers();
    let cleanedUp = false;
    async function* producer() {
      try {
        yield 1;
        yield 2;
      } finally {
        await sleep(5);
        cleanedUp = true;
      }
    }
    for await (const item of withHeartbeat(producer(), INTERVAL, PING)) {
      assert.equal(item, 1);
      break;
    }
    assert.equal(cleanedUp, true, "return() waited for the cleanup");
    assert.equal(activeTimers(), before);
  });

  it("settles return() at once while the source is stuck in an await", BOUND, async () => {
    const before = activeTimers();
    const gate = Promise.withResolvers<void>();
    let cleanedUp = false;
    async function* producer() {
      try {
        yield 1;
        await gate.promise;
        yield 2;
      } finally {
        cleanedUp = true;
      }
    }
    const it = withHeartbeat(producer(), INTERVAL, PING)[Symbol.asyncIterator]();
    assert.deepEqual(await it.next(), { done: false, value: 1 });
    const waiting = it.next();
    assert.deepEqual(await it.return?.(), { done: true, value: undefined });
    assert.deepEqual(await waiting, { done: true, value: undefined });
    assert.deepEqual(await it.next(), { done: true, value: undefined });
    assert.equal(activeTimers(), before, "no timer while the source is still stuck");
    assert.equal(cleanedUp, false, "the producer is still awaiting");
    gate.resolve();
    await sleep(1);
    assert.equal(cleanedUp, true, "the queued return ran the producer's finally");
  });

  it("reports a cleanup error it could not wait for to onCleanupError", BOUND, async () => {
    const gate = Promise.withResolvers<void>();
    const reported: unknown[] = [];
    async function* producer() {
      try {
        await gate.promise;
        yield 1;
      } finally {
        // biome-ignore lint/correctness/noUnsafeFinally: the test needs a failing cleanup
        throw new Error("cleanup failed");
      }
    }
    const it = withHeartbeat(producer(), INTERVAL, PING, {
      onCleanupError: (error) => reported.push(error),
    })[Symbol.asyncIterator]();
    assert.deepEqual(await it.next(), { done: false, value: PING });
    await it.return?.();
    assert.equal(reported.length, 0);
    gate.resolve();
    await sleep(1);
    assert.equal(reported.length, 1);
    assert.match((reported[0] as Error).message, /cleanup failed/);
  });

  it("passes a cleanup error to the consumer when it could wait for it", BOUND, async () => {
    async function* producer() {
      try {
        yield 1;
      } finally {
        // biome-ignore lint/correctness/noUnsafeFinally: the test needs a failing cleanup
        throw new Error("cleanup failed");
      }
    }
    const it = withHeartbeat(producer(), INTERVAL, PING)[Symbol.asyncIterator]();
    await it.next();
    await assert.rejects(async () => it.return?.(), /cleanup failed/);
  });

  it("returns a source that was never started", BOUND, async () => {
    const source = manualSource<number>();
    const it = withHeartbeat(source.iterable, INTERVAL, PING)[Symbol.asyncIterator]();
    await it.return?.();
    assert.equal(source.returned(), 1);
    assert.equal(source.calls.length, 0);
    await it.return?.();
    assert.equal(source.returned(), 1, "a second return() does not return the source again");
  });

  it("returns a sync source when the consumer stops", BOUND, async () => {
    let cleanedUp = false;
    function* producer() {
      try {
        yield 1;
        yield 2;
      } finally {
        cleanedUp = true;
      }
    }
    for await (const item of withHeartbeat(producer(), INTERVAL, PING)) {
      assert.equal(item, 1);
      break;
    }
    assert.equal(cleanedUp, true);
  });
});
