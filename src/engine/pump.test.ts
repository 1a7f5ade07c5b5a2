import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { emptyStats } from "../core/port.ts";
import { SluiceRequest } from "../http/request.ts";
import { TextResponse } from "../responses/buffered.ts";
import type { Chunk, StreamBody, StreamSource } from "../responses/stream.ts";
import { Closing, runStream, type StreamTarget } from "./pump.ts";

const BOUND = { timeout: 5000 };

class FakeRequest extends SluiceRequest<any> {
  readonly method = "GET";
  readonly url = "/";
  readonly httpVersion = "1.1";
  readonly ip = undefined;
  readonly controller = new AbortController();
  readonly signal = this.controller.signal;
  onAbort: (() => void) | undefined;
  abort(reason: unknown): void {
    this.onAbort?.();
    this.controller.abort(reason);
  }
  header(): string | undefined {
    return undefined;
  }
  protected rawHeaders(): Readonly<Record<string, string>> {
    return {};
  }
  protected rawBody(): AsyncIterable<Uint8Array> | null {
    return null;
  }
}

/**
 * A target that records what the writer does to it; its sink takes everything at once unless
 * `full` says the consumer is full (then `drained()` waits until `drain()`).
 */
function target(
  body: Partial<StreamBody<unknown>> & { source: StreamSource<unknown> },
  closing?: Closing,
  full?: () => boolean,
) {
  let drain: (() => void) | undefined;
  const request = new FakeRequest();
  const events: string[] = [];
  const written: string[] = [];
  const reports: unknown[] = [];
  const stats = emptyStats();
  const t: StreamTarget = {
    app: {
      handle: () => Promise.reject(new Error("unused")),
      errorResponse: () => new TextResponse("error"),
      report: (error) => reports.push(error),
      stats,
    },
    request,
    response: new TextResponse(""),
    body: { kind: "stream", encode: (x) => x as Chunk, headersFirst: false, ...body },
    head: false,
    signal: request.signal,
    closing,
    sink: {
      write(chunk) {
        written.push(typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk));
        return !full?.();
      },
      ready: () => !full?.(),
      drained: () =>
        full?.()
          ? new Promise<void>((resolve) => {
              drain = resolve;
              request.signal.addEventListener("abort", () => resolve());
            })
          : Promise.resolve(),
      defer: (fn, arg) => setImmediate(fn, arg),
    },
    sendHead: () => events.push("head"),
    finish: () => events.push("finish"),
    truncate: () => events.push("truncate"),
    replace: () => events.push("replace"),
  };
  request.onAbort = () => events.push("abort");
  return { t, request, events, written, reports, stats, drain: () => drain?.() };
}

describe("the writer's shutdown (Closing)", () => {
  it(
    "ends a stream that may end at shutdown cleanly, at once, while its producer waits",
    BOUND,
    async () => {
      const closing = new Closing();
      let finalized = false;
      const { t, events, written, stats } = target(
        {
          headersFirst: true,
          endAtShutdown: true,
          source: (async function* () {
            try {
              yield "one\n";
              await new Promise(() => {});
            } finally {
              finalized = true;
            }
          })(),
        },
        closing,
      );
      const done = runStream(t);
      while (written.length === 0) await sleep(1);
      assert.deepEqual(written, ["one\n"]);
      closing.close();
      await done;
      assert.deepEqual(events, ["head", "finish", "abort"]);
      assert.equal(stats.streams.aborted, 1);
      assert.equal(stats.streams.active, 0);
      assert.equal(stats.teardowns, 1);
      // Its await never settles: the generator's own finally cannot run (see README).
      assert.equal(finalized, false);
    },
  );

  it("sends what was batched before the terminating chunk", BOUND, async () => {
    const closing = new Closing();
    const { t, events, written } = target(
      {
        headersFirst: true,
        endAtShutdown: true,
        source: (function* () {
          yield "a";
          yield "b";
          closing.close();
          yield "never";
        })(),
      },
      closing,
    );
    await runStream(t);
    assert.deepEqual(written, ["ab"]);
    assert.deepEqual(events, ["head", "finish", "abort"]);
  });

  it(
    "leaves other streams running until their signal aborts, then truncates them",
    BOUND,
    async () => {
      const closing = new Closing();
      const { t, request, events, stats } = target(
        {
          source: (async function* () {
            for (let i = 0; ; i++) {
              yield `${i}\n`;
              await sleep(1);
            }
          })(),
        },
        closing,
      );
      const done = runStream(t);
      await sleep(10);
      closing.close();
      await sleep(20);
      assert.deepEqual(events, ["head"], "still running after close()");
      request.controller.abort(new Error("deadline"));
      await done;
      assert.deepEqual(events, ["head", "truncate"]);
      assert.equal(stats.streams.aborted, 1);
    },
  );

  it("does not start a stream that may end at shutdown once closing", BOUND, async () => {
    const closing = new Closing();
    closing.close();
    let pulled = false;
    const { t, events, stats } = target(
      {
        headersFirst: true,
        endAtShutdown: true,
        source: (function* () {
          pulled = true;
          yield "x";
        })(),
      },
      closing,
    );
    await runStream(t);
    assert.equal(pulled, false);
    assert.deepEqual(events, ["head", "finish", "abort"]);
    assert.equal(stats.streams.started, 0);
  });
});

const INTERVAL = 25;
const PING = ": ping\n\n";

function activeTimers(): number {
  return process.getActiveResourcesInfo().filter((kind) => kind === "Timeout").length;
}

describe("the writer's keepalive", () => {
  it(
    "writes the frame after the interval without a write, and again after each further one",
    BOUND,
    async () => {
      const release = Promise.withResolvers<void>();
      const { t, written } = target({
        headersFirst: true,
        heartbeat: { intervalMs: INTERVAL, frame: PING },
        source: (async function* () {
          yield "a\n";
          await release.promise;
          yield "b\n";
        })(),
      });
      const done = runStream(t);
      await sleep(INTERVAL * 5);
      release.resolve();
      await done;
      assert.equal(written[0], "a\n");
      assert.equal(written.at(-1), "b\n");
      const pings = written.slice(1, -1);
      assert.ok(pings.length >= 2 && pings.length <= 5, `${pings.length} pings`);
      assert.ok(pings.every((p) => p === PING));
    },
  );

  it("sends no ping while items keep coming faster than the interval", BOUND, async () => {
    const { t, written } = target({
      headersFirst: true,
      heartbeat: { intervalMs: INTERVAL * 2, frame: PING },
      source: (async function* () {
        for (let i = 0; i < 15; i++) {
          yield `${i}\n`;
          await sleep(INTERVAL / 5);
        }
      })(),
    });
    await runStream(t);
    assert.equal(written.includes(PING), false);
    assert.equal(written.join(""), Array.from({ length: 15 }, (_, i) => `${i}\n`).join(""));
  });

  it(
    "sends no ping while the consumer is full, and pings again once it drains",
    BOUND,
    async () => {
      let full = true;
      const release = Promise.withResolvers<void>();
      const { t, written, drain } = target(
        {
          headersFirst: true,
          heartbeat: { intervalMs: INTERVAL, frame: PING },
          source: (async function* () {
            yield "a\n";
            await release.promise;
          })(),
        },
        undefined,
        () => full,
      );
      const done = runStream(t);
      await sleep(INTERVAL * 4);
      assert.deepEqual(written, ["a\n"], "held up by backpressure: not idle");
      full = false;
      drain();
      await sleep(INTERVAL * 3);
      assert.ok(written.slice(1).length >= 1 && written.slice(1).every((p) => p === PING));
      release.resolve();
      await done;
    },
  );

  for (const [name, source] of [
    [
      "completed",
      async function* () {
        yield "a";
      },
    ],
    [
      "errored",
      async function* () {
        yield "a";
        throw new Error("failed");
      },
    ],
  ] as const) {
    it(`leaves no timer behind once the stream has ${name}`, BOUND, async () => {
      const before = activeTimers();
      const { t, written } = target({
        headersFirst: true,
        heartbeat: { intervalMs: INTERVAL, frame: PING },
        source: source(),
      });
      await runStream(t);
      assert.equal(activeTimers(), before);
      await sleep(INTERVAL * 2);
      assert.equal(written.includes(PING), false);
    });
  }

  it("leaves no timer behind once the client has left", BOUND, async () => {
    const before = activeTimers();
    const { t, request } = target({
      headersFirst: true,
      heartbeat: { intervalMs: INTERVAL, frame: PING },
      source: (async function* () {
        yield "a";
        await new Promise(() => {});
      })(),
    });
    const done = runStream(t);
    await sleep(5);
    request.controller.abort(new Error("gone"));
    await done;
    assert.equal(activeTimers(), before);
  });

  it("turns off for an interval of 0 or Infinity", BOUND, async () => {
    for (const intervalMs of [0, Number.POSITIVE_INFINITY]) {
      const release = Promise.withResolvers<void>();
      const { t, written } = target({
        headersFirst: true,
        heartbeat: { intervalMs, frame: PING },
        source: (async function* () {
          yield "a";
          await release.promise;
        })(),
      });
      const done = runStream(t);
      await sleep(INTERVAL * 2);
      release.resolve();
      await done;
      assert.deepEqual(written, ["a"]);
    }
  });
});
