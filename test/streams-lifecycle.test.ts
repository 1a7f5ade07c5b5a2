/**
 * The life of many streams: graceful shutdown (behaviour 9) and nothing leaking (behaviour 10).
 */
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { describe, it } from "node:test";
import { setTimeout as sleep, setImmediate as tick } from "node:timers/promises";
import { App, NDJSONResponse, SSEResponse, sse } from "../src/index.ts";
import { serve } from "../src/node/index.ts";
import { events, ndjson, testClient } from "../src/testing/index.ts";
import { MODES } from "./helpers/app.ts";
import { openFds } from "./helpers/fds.ts";
import { until, within } from "./helpers/wait.ts";

/** An app with two endless streams; every response counts its teardown and producer's finally. */
function endlessApp() {
  const counts = { handled: 0, teardowns: 0, finallies: 0 };
  const app = new App().onError(() => {});
  app.get("/sse", (req) => {
    counts.handled++;
    return new SSEResponse(
      (async function* () {
        try {
          for (let i = 0; ; i++) {
            yield sse({ id: i, data: { i } });
            await sleep(1, undefined, { signal: req.signal });
          }
        } finally {
          counts.finallies++;
        }
      })(),
    ).teardown(() => {
      counts.teardowns++;
    });
  });
  app.get("/ndjson", () => {
    counts.handled++;
    return new NDJSONResponse(
      (async function* () {
        try {
          for (let i = 0; ; i++) {
            yield { i, pad: "x".repeat(200) };
            await tick();
          }
        } finally {
          counts.finallies++;
        }
      })(),
    ).teardown(() => {
      counts.teardowns++;
    });
  });
  return { app, counts };
}

describe("9. graceful shutdown", () => {
  it("ends open SSE and NDJSON streams and runs their teardown, well within the timeout", {
    timeout: 15_000,
  }, async () => {
    const { app, counts } = endlessApp();
    const server = await serve(app, { port: 0, shutdownTimeout: 8000 });
    const base = server.url;
    const readers = [];
    for (const path of ["/sse", "/sse", "/ndjson", "/ndjson"]) {
      const res = await fetch(base + path);
      const items = path === "/sse" ? events(res) : ndjson(res);
      // Each stream has really started before the shutdown.
      const first = await items.next();
      assert.equal(first.done, false);
      readers.push(
        (async () => {
          try {
            for await (const _ of items);
            return "ended";
          } catch {
            return "truncated";
          }
        })(),
      );
    }
    // Streams that never end on their own are ended by close(), not cut at its deadline.
    await within(server.close(), 4000, "close() to end the open streams");
    assert.equal(counts.teardowns, 4);
    assert.equal(counts.finallies, 4);
    assert.deepEqual(await within(Promise.all(readers), 2000, "the clients to see the end"), [
      "truncated",
      "truncated",
      "truncated",
      "truncated",
    ]);
    assert.equal(app.stats.streams.active, 0);
    assert.equal(app.stats.streams.aborted, 4);
  });
});

describe("10. nothing leaks", () => {
  for (const mode of MODES) {
    it(`counts started, completed, aborted and errored streams and teardowns (${mode})`, {
      timeout: 10_000,
    }, async () => {
      const app = new App().onError(() => {});
      let hooks = 0;
      const hook = () => {
        hooks++;
      };
      app.get("/done", () => new NDJSONResponse([1, 2, 3]).teardown(hook));
      app.get("/early", () =>
        new NDJSONResponse(
          // biome-ignore lint/correctness/useYield: it fails before its first item, on purpose
          (function* () {
            throw new Error("early");
          })(),
        ).teardown(hook),
      );
      app.get("/late", () =>
        new NDJSONResponse(
          (async function* () {
            yield 1;
            await tick();
            throw new Error("late");
          })(),
        ).teardown(hook),
      );
      app.get("/endless", () =>
        new NDJSONResponse(
          (async function* () {
            for (let i = 0; ; i++) {
              yield i;
              await tick();
            }
          })(),
        ).teardown(hook),
      );
      const client = testClient(app, mode);
      try {
        await (await client.fetch("/done")).text();
        await (await client.fetch("/early")).text();
        await (await client.fetch("/late")).text().catch(() => {});
        for await (const n of ndjson<number>(await client.fetch("/endless"))) if (n === 2) break;
        await until(() => app.stats.streams.active === 0, 3000, "every stream to end");
        assert.deepEqual(app.stats.streams, {
          started: 4,
          completed: 1,
          aborted: 1,
          errored: 2,
          active: 0,
        });
        assert.equal(app.stats.teardowns, 4);
        assert.equal(hooks, 4);
      } finally {
        await client.close();
      }
    });
  }

  it("tears down 1,000 streams disconnected at random points, back to baseline fds", {
    timeout: 40_000,
  }, async () => {
    const { app, counts } = endlessApp();
    const server = await serve(app, { port: 0 });
    // A fixed seed: a failure can be replayed.
    let seed = 0x5eed;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    /** One client: leaves before the response, after the head, or after some bytes. */
    const visit = (path: string, leaveAfter: number) =>
      new Promise<void>((resolve) => {
        const req = httpRequest(`${server.url}${path}`, { agent: false });
        req.on("error", () => resolve());
        req.on("close", () => resolve());
        if (leaveAfter < 0) {
          // Gone before the server has answered: as soon as the request is out.
          req.on("finish", () => setImmediate(() => req.destroy()));
        }
        req.on("response", (res) => {
          let received = 0;
          if (leaveAfter === 0) return req.destroy();
          res.on("data", (chunk: Buffer) => {
            received += chunk.length;
            if (received >= leaveAfter) req.destroy();
          });
        });
        req.end();
      });
    try {
      // Warm up once so lazily opened descriptors (timers, the loader) are in the baseline.
      await visit("/ndjson", 100);
      await until(() => app.stats.streams.active === 0, 3000, "the warm-up stream to end");
      const baseline = openFds();
      const total = 1000;
      const batch = 50;
      for (let done = 0; done < total; done += batch) {
        const clients = [];
        for (let i = 0; i < batch; i++) {
          const path = random() < 0.5 ? "/sse" : "/ndjson";
          const r = random();
          // Up to ~100 items of either stream.
          const most = path === "/sse" ? 2500 : 20_000;
          const leaveAfter = r < 0.1 ? -1 : r < 0.2 ? 0 : Math.floor(random() * most) + 1;
          clients.push(visit(path, leaveAfter));
        }
        await within(Promise.all(clients), 10_000, `batch ${done / batch + 1} of clients`);
      }
      await until(
        () => counts.handled === total + 1 && counts.teardowns === counts.handled,
        10_000,
        `every teardown (${counts.teardowns} of ${counts.handled} handled)`,
      );
      await until(() => app.stats.streams.active === 0, 5000, "no active stream");
      assert.equal(app.stats.streams.completed, 0);
      assert.equal(app.stats.streams.errored, 0);
      // Every stream that started was aborted; the rest never started and were torn down unstarted.
      assert.equal(app.stats.streams.started, app.stats.streams.aborted);
      assert.ok(app.stats.streams.started > total / 2, `${app.stats.streams.started} started`);
      await until(
        () => openFds() <= baseline + 5,
        5000,
        `fds back to ${baseline} (now ${openFds()})`,
      );
    } finally {
      await server.close();
    }
  });

  it("tears down 300 in-memory streams cancelled at random points", {
    timeout: 20_000,
  }, async () => {
    const { app, counts } = endlessApp();
    let seed = 42;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const total = 300;
    for (let done = 0; done < total; done += 50) {
      await Promise.all(
        Array.from({ length: 50 }, async () => {
          const res = await app.fetch(
            new Request(`http://localhost${random() < 0.5 ? "/sse" : "/ndjson"}`),
          );
          const reader = res.body!.getReader();
          const reads = Math.floor(random() * 5);
          for (let i = 0; i < reads; i++) await reader.read();
          await reader.cancel();
        }),
      );
    }
    await until(() => counts.teardowns === total, 5000, `every teardown (${counts.teardowns})`);
    await until(() => app.stats.streams.active === 0, 5000, "no active stream");
    assert.equal(counts.finallies, total);
    assert.equal(app.stats.streams.aborted, total);
  });
});
