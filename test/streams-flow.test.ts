/**
 * How a stream flows, through both engines: backpressure and bounded memory (behaviour 3),
 * batching without latency (behaviour 4), disconnects (behaviour 5), and a fast stream that
 * leaves the rest of the server answered.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import type { IncomingMessage } from "node:http";
import { describe, it } from "node:test";
import { setTimeout as sleep, setImmediate as tick } from "node:timers/promises";
import { App, NDJSONResponse, SSEResponse, StreamingResponse } from "../src/index.ts";
import { serve } from "../src/node/index.ts";
import { chunks, events, ndjson, testClient } from "../src/testing/index.ts";
import { BOUND, MODES, nodeGet } from "./helpers/app.ts";
import { dechunk, rawExchange } from "./helpers/raw-http.ts";
import { gate, settled, until, within } from "./helpers/wait.ts";

const KiB = 1024;
const MiB = 1024 * KiB;

function quietApp(): App {
  return new App().onError(() => {});
}

/** An endless producer of `size`-byte chunks that counts how often it was pulled. */
function endless(size: number, state: { pulls: number; finallies: number }) {
  return (async function* () {
    try {
      for (;;) {
        state.pulls++;
        yield new Uint8Array(size);
      }
    } finally {
      state.finallies++;
    }
  })();
}

describe("3. backpressure", () => {
  it("does not pull the producer while an in-memory reader is paused", BOUND, async () => {
    const app = quietApp();
    const state = { pulls: 0, finallies: 0 };
    app.get("/endless", () => new StreamingResponse(endless(16 * KiB, state)));
    const res = await app.fetch(new Request("http://localhost/endless"));
    const reader = res.body!.getReader();
    try {
      const stalled = await settled(() => state.pulls, 100, 3000);
      // The stream's queue (64 KiB) plus one batch in hand, and a little slack.
      assert.ok(stalled * 16 * KiB <= 256 * KiB, `pulled ${stalled} chunks with nobody reading`);
      await reader.read();
      await until(() => state.pulls > stalled, 2000, "the producer to be pulled again");
    } finally {
      await reader.cancel();
    }
    await until(() => state.finallies === 1, 2000, "the producer's finally");
  });

  it("does not pull the producer while a node:http response is paused", BOUND, async () => {
    const app = quietApp();
    const state = { pulls: 0, finallies: 0 };
    app.get("/endless", () => new StreamingResponse(endless(64 * KiB, state)));
    const server = await serve(app, { port: 0 });
    let res: IncomingMessage | undefined;
    try {
      res = await nodeGet(`${server.url}/endless`);
      res.pause();
      const stalled = await settled(() => state.pulls, 200, 5000);
      // What the kernel's socket buffers and Node's hold, never an endless queue.
      assert.ok(stalled * 64 * KiB < 16 * MiB, `pulled ${stalled} chunks with nobody reading`);
      res.resume();
      await until(() => state.pulls > stalled + 10, 3000, "the producer to be pulled again");
    } finally {
      res?.destroy();
      await until(() => state.finallies === 1, 3000, "the producer's finally");
      await server.close();
    }
  });

  for (const mode of MODES) {
    it(
      `resumes a producer that paused after filling the consumer's buffer (${mode})`,
      BOUND,
      async () => {
        // The consumer drains while the producer waits on something else; the writer must not then
        // wait for a drain that already happened.
        const app = quietApp();
        const state = { yielded: 0, full: gate(), release: gate() };
        let socket: { writableNeedDrain: boolean } | undefined;
        app.get("/pausing", (req) => {
          socket = (req as unknown as { raw?: IncomingMessage }).raw?.socket;
          const isFull = () => (socket ? socket.writableNeedDrain : state.yielded >= 64 * KiB);
          return new StreamingResponse(
            (async function* () {
              // Small items a macrotask apart: each goes out in its own write, later than the pull.
              while (!isFull()) {
                state.yielded += 16 * KiB;
                yield new Uint8Array(16 * KiB);
                await tick();
              }
              state.full.resolve();
              await state.release.promise;
              yield "end";
            })(),
          );
        });
        const client = testClient(app, mode);
        try {
          const res = await client.fetch("/pausing");
          await within(state.full.promise, 5000, "the consumer's buffer to fill");
          let received = 0;
          let tail = "";
          const reading = (async () => {
            for await (const chunk of chunks(res)) {
              received += chunk.byteLength;
              tail = new TextDecoder().decode(chunk.subarray(-3));
            }
          })();
          await until(() => received >= state.yielded, 5000, "the client to read all of it");
          await until(() => !socket?.writableNeedDrain, 2000, "the socket to drain");
          state.release.resolve();
          await within(reading, 3000, "the rest of the stream after the producer resumed");
          assert.equal(received, state.yielded + 3);
          assert.equal(tail, "end");
        } finally {
          state.release.resolve();
          await client.close();
        }
      },
    );
  }

  it("keeps server memory bounded for a slow reader of an endless producer", {
    timeout: 20_000,
  }, async () => {
    const app = quietApp();
    const state = { pulls: 0, finallies: 0 };
    app.get("/endless", () => new StreamingResponse(endless(64 * KiB, state)));
    const server = await serve(app, { port: 0 });
    const samples: number[] = [];
    const baseline = process.memoryUsage().rss;
    let res: IncomingMessage | undefined;
    const throttle = { budget: 0, received: 0 };
    const refill = setInterval(() => {
      // About 1 MB/s: 50 kB every 50 ms.
      throttle.budget += 50_000;
      res?.resume();
      samples.push(process.memoryUsage().rss);
    }, 50);
    try {
      res = await nodeGet(`${server.url}/endless`);
      res.on("data", (chunk: Buffer) => {
        throttle.received += chunk.length;
        throttle.budget -= chunk.length;
        if (throttle.budget <= 0) res?.pause();
      });
      await sleep(3000);
      const growth = Math.max(...samples) - baseline;
      assert.ok(throttle.received > 1_000_000, `the client read ${throttle.received} bytes`);
      assert.ok(growth < 32 * MiB, `RSS grew by ${(growth / MiB).toFixed(1)} MiB`);
      // Far less was produced than an unbounded writer would have queued in 3 s.
      assert.ok(state.pulls * 64 * KiB < throttle.received + 16 * MiB, `${state.pulls} pulls`);
    } finally {
      clearInterval(refill);
      res?.destroy();
      await until(() => state.finallies === 1, 3000, "the producer's finally");
      await server.close();
    }
  });
});

describe("4. batching without latency", () => {
  function burstApp() {
    const app = quietApp();
    app.get(
      "/burst",
      () =>
        new NDJSONResponse(
          (async function* () {
            for (let i = 0; i < 100; i++) yield { i };
          })(),
        ),
    );
    app.get(
      "/big",
      () =>
        new StreamingResponse(
          (function* () {
            for (let i = 0; i < 1000; i++) yield "x".repeat(1023) + "\n";
          })(),
        ),
    );
    return app;
  }

  it("writes items produced back to back in one socket write", BOUND, async () => {
    const server = await serve(burstApp(), { port: 0 });
    try {
      // On a chunked body each write of the server is one chunk, whatever TCP did to it.
      const burst = await rawExchange(
        server.port,
        "GET /burst HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
      );
      const writes = countChunks(burst.body);
      assert.equal(writes, 1, `100 items went out in ${writes} writes`);
      assert.equal(dechunk(burst.body).data.toString().split("\n").length - 1, 100);
      const big = await rawExchange(
        server.port,
        "GET /big HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
      );
      const bigWrites = countChunks(big.body);
      assert.equal(dechunk(big.body).data.length, 1000 * 1024);
      // Batches are capped (64 KiB), so a big burst is neither one huge write nor one per item.
      assert.ok(bigWrites >= 10 && bigWrites <= 40, `1000 items went out in ${bigWrites} writes`);
    } finally {
      await server.close();
    }
  });

  it("hands items produced back to back to an in-memory reader as one chunk", BOUND, async () => {
    const res = await burstApp().fetch(new Request("http://localhost/burst"));
    const received = [];
    for await (const chunk of chunks(res)) received.push(chunk);
    assert.equal(received.length, 1);
  });

  for (const mode of MODES) {
    it(`sends an item produced after an idle moment at once (${mode})`, BOUND, async () => {
      // The producer yields its next item only after the client has seen the previous one: a
      // writer that held an item back until more came would deadlock here.
      const app = quietApp();
      const seen: PromiseWithResolvers<void>[] = Array.from({ length: 5 }, () => gate());
      app.get(
        "/tokens",
        () =>
          new NDJSONResponse(
            (async function* () {
              for (let i = 0; i < 5; i++) {
                yield { token: i };
                await seen[i]!.promise;
              }
            })(),
          ),
      );
      const client = testClient(app, mode);
      try {
        const got: number[] = [];
        await within(
          (async () => {
            for await (const item of ndjson<{ token: number }>(await client.fetch("/tokens"))) {
              got.push(item.token);
              seen[item.token]!.resolve();
            }
          })(),
          5000,
          "each token before the next is produced",
        );
        assert.deepEqual(got, [0, 1, 2, 3, 4]);
      } finally {
        for (const g of seen) g.resolve();
        await client.close();
      }
    });

    it(`sends SSE headers before the first event is produced (${mode})`, BOUND, async () => {
      const app = quietApp();
      const opened = gate();
      app.get(
        "/sse",
        () =>
          new SSEResponse(
            (async function* () {
              await opened.promise;
              yield "first";
            })(),
          ),
      );
      const client = testClient(app, mode);
      try {
        const res = await within(client.fetch("/sse"), 3000, "the status and headers");
        assert.equal(res.status, 200);
        assert.equal(res.headers.get("content-type"), "text/event-stream; charset=utf-8");
        opened.resolve();
        const got = [];
        for await (const ev of events(res)) got.push(ev.data);
        assert.deepEqual(got, ["first"]);
      } finally {
        opened.resolve();
        await client.close();
      }
    });
  }
});

/** How many chunks a chunked body holds (the terminating one not counted). */
function countChunks(body: Buffer): number {
  let n = 0;
  let at = 0;
  for (;;) {
    const eol = body.indexOf("\r\n", at);
    const size = Number.parseInt(body.subarray(at, eol).toString("latin1"), 16);
    if (eol === -1 || !(size > 0)) return n;
    n++;
    at = eol + 2 + size + 2;
  }
}

describe("5. disconnect", () => {
  function disconnectApp() {
    const app = quietApp();
    const state = {
      finallies: 0,
      pulls: 0,
      signals: [] as AbortSignal[],
    };
    app.get("/ticks", (req) => {
      state.signals.push(req.signal);
      return new NDJSONResponse(
        (async function* () {
          try {
            for (let i = 0; ; i++) {
              yield { i };
              await tick();
            }
          } finally {
            state.finallies++;
          }
        })(),
      );
    });
    app.get("/blocked", (req) => {
      state.signals.push(req.signal);
      return new NDJSONResponse(
        (async function* () {
          try {
            yield { i: 0 };
            // Blocked far longer than the test: only the signal can end this wait.
            await sleep(60_000, undefined, { signal: req.signal });
            yield { i: 1 };
          } finally {
            state.finallies++;
          }
        })(),
      );
    });
    app.get("/flood", (req) => {
      state.signals.push(req.signal);
      return new StreamingResponse(endless(64 * KiB, state));
    });
    return { app, state };
  }

  for (const mode of MODES) {
    it(
      `aborts the request signal and runs the producer's finally mid-stream (${mode})`,
      BOUND,
      async () => {
        const { app, state } = disconnectApp();
        const client = testClient(app, mode);
        try {
          for await (const item of ndjson<{ i: number }>(await client.fetch("/ticks"))) {
            if (item.i === 3) break;
          }
          await until(() => state.finallies === 1, 3000, "the producer's finally");
          assert.equal(state.signals[0]!.aborted, true);
          await until(() => app.stats.streams.active === 0, 2000, "the stream to end");
          assert.equal(app.stats.streams.aborted, 1);
        } finally {
          await client.close();
        }
      },
    );

    it(`ends a producer blocked on an await that honours the signal (${mode})`, BOUND, async () => {
      const { app, state } = disconnectApp();
      const client = testClient(app, mode);
      try {
        for await (const item of ndjson<{ i: number }>(await client.fetch("/blocked"))) {
          assert.equal(item.i, 0);
          break;
        }
        await until(() => state.finallies === 1, 3000, "the blocked producer's finally");
        assert.equal(state.signals[0]!.aborted, true);
        await until(() => app.stats.streams.active === 0, 2000, "the stream to end");
        assert.equal(app.stats.streams.aborted, 1);
      } finally {
        await client.close();
      }
    });
  }

  it("ends a producer while the writer waits for a paused in-memory reader", BOUND, async () => {
    const { app, state } = disconnectApp();
    const res = await app.fetch(new Request("http://localhost/flood"));
    await settled(() => state.pulls, 100, 3000);
    assert.equal(state.finallies, 0);
    await res.body!.cancel();
    await until(() => state.finallies === 1, 3000, "the producer's finally");
    assert.equal(state.signals[0]!.aborted, true);
    // The counters move once the teardown has run, just after the producer's finally.
    await until(() => app.stats.streams.aborted === 1, 2000, "an aborted stream");
  });

  it("ends a producer while the writer waits for a paused socket to drain", BOUND, async () => {
    const { app, state } = disconnectApp();
    const server = await serve(app, { port: 0 });
    try {
      const res = await nodeGet(`${server.url}/flood`);
      res.pause();
      await settled(() => state.pulls, 200, 5000);
      assert.equal(state.finallies, 0);
      res.destroy();
      await until(() => state.finallies === 1, 3000, "the producer's finally");
      assert.equal(state.signals[0]!.aborted, true);
      await until(() => app.stats.streams.active === 0, 2000, "the stream to end");
      assert.equal(app.stats.streams.aborted, 1);
    } finally {
      await server.close();
    }
  });
});

// A regression test from an adversarial review: it reproduces a break that was fixed.
describe("one fast stream does not starve the server", () => {
  it("a client reading an endless NDJSON-like stream leaves other requests answered", async () => {
    const app = new App();
    app.get("/json", () => ({ hello: "world" }));
    app.get(
      "/lines",
      (req) =>
        new StreamingResponse(
          (async function* () {
            for (let i = 0; !req.signal.aborted; i++) yield `{"i":${i},"sq":${i * i}}\n`;
          })(),
        ),
    );
    const c = testClient(app, "socket");
    const port = Number(new URL(await c.url()).port);
    // The fast reader must be another process: in this one it would share the starved loop.
    const reader = spawn(
      process.execPath,
      [
        "-e",
        `const s = require("node:net").connect(${port}, "127.0.0.1");
         s.on("error", () => {}); s.resume();
         s.write("GET /lines HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n");
         setTimeout(() => process.exit(0), 4000);`,
      ],
      { stdio: "ignore" },
    );
    try {
      // Give the reader time to connect, then see whether this process's own timers still run
      // on time: the server and the test share one event loop.
      const started = Date.now();
      await new Promise((r) => setTimeout(r, 500));
      const lag = Date.now() - started - 500;
      const { raw, error } = await rawExchange(
        port,
        "GET /json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        3000,
      );
      assert.ifError(error);
      assert.match(raw.toString("latin1"), /hello/);
      assert.ok(
        lag < 500,
        `the event loop was blocked for ${lag} ms while one client read a stream`,
      );
    } finally {
      reader.kill("SIGKILL");
      await c.close();
    }
  });
});
