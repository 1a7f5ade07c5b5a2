/**
 * The life of many streams: graceful shutdown (behaviour 9), nothing leaking (behaviour 10).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { describe, it } from "node:test";
import { setTimeout as sleep, setImmediate as tick } from "node:timers/promises";
import { gunzipSync } from "node:zlib";
import { createContractApp } from "../examples/contract/app.ts";
import { compress } from "../src/compress/index.ts";
import { App, NDJSONResponse, SSEResponse, StreamingResponse, sse } from "../src/index.ts";
import { serve } from "../src/node/index.ts";
import { events, lines, ndjson, testClient } from "../src/testing/index.ts";
import { MODES, nodeGet } from "./helpers/app.ts";
import { openFds } from "./helpers/fds.ts";
import { dechunk, RawConnection } from "./helpers/raw-http.ts";
import { gate, until, within } from "./helpers/wait.ts";

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
  it("ends open event streams cleanly at once, runs their teardown and counts them as aborted", {
    timeout: 15_000,
  }, async () => {
    const { app, counts } = endlessApp();
    const server = await serve(app, { port: 0, shutdownTimeout: 8000 });
    const readers = [];
    for (let k = 0; k < 3; k++) {
      const items = events(await fetch(`${server.url}/sse`));
      // Each stream has really started before the shutdown.
      assert.equal((await items.next()).done, false);
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
    // Not cut at the deadline: ended by close() itself, long before it.
    await within(server.close(), 2000, "close() to end the open event streams");
    assert.deepEqual(await within(Promise.all(readers), 2000, "the clients to see the end"), [
      "ended",
      "ended",
      "ended",
    ]);
    assert.equal(counts.teardowns, 3);
    assert.equal(counts.finallies, 3);
    assert.deepEqual(app.stats.streams, {
      started: 3,
      completed: 0,
      aborted: 3,
      errored: 0,
      active: 0,
    });
    assert.equal(app.stats.teardowns, 3);
  });

  it("sends the terminating chunk, also while the producer is stuck in an await that ignores the signal", {
    timeout: 10_000,
  }, async () => {
    const app = new App().onError(() => {});
    let teardowns = 0;
    app.get("/stuck", () =>
      new SSEResponse(
        (async function* () {
          yield sse({ id: 1, data: "one" });
          await new Promise(() => {});
        })(),
      ).teardown(() => {
        teardowns++;
      }),
    );
    const server = await serve(app, { port: 0, shutdownTimeout: 8000 });
    const conn = await RawConnection.open(server.port);
    try {
      conn.write("GET /stuck HTTP/1.1\r\nHost: t\r\n\r\n");
      const before = await conn.read((raw) => raw.includes("data: one\n\n"));
      await within(server.close(), 2000, "close() to end the stuck event stream");
      // Everything until the server closes the connection: the rest of the body, and its end.
      const raw = Buffer.concat([before, await conn.read()]);
      const body = dechunk(raw.subarray(raw.indexOf("\r\n\r\n") + 4));
      assert.equal(body.complete, true, "the terminating chunk was sent");
      assert.equal(body.data.toString(), "id: 1\ndata: one\n\n");
      assert.equal(teardowns, 1);
      assert.equal(app.stats.streams.aborted, 1);
      assert.equal(app.stats.streams.active, 0);
      await conn.waitClosed();
    } finally {
      conn.destroy();
    }
  });

  it("lets the client resume on another instance with Last-Event-ID", {
    timeout: 10_000,
  }, async () => {
    const makeApp = () =>
      new App().get("/ticks", (req) => {
        const from = Number(req.lastEventId ?? -1) + 1;
        return new SSEResponse(
          (async function* () {
            for (let i = from; ; i++) {
              yield sse({ id: i, data: { i } });
              await sleep(5, undefined, { signal: req.signal });
            }
          })(),
        );
      });
    const first = await serve(makeApp(), { port: 0, shutdownTimeout: 8000 });
    const second = await serve(makeApp(), { port: 0 });
    try {
      const seen: number[] = [];
      let last: string | undefined;
      const reading = (async () => {
        for await (const ev of events(await fetch(`${first.url}/ticks`))) {
          seen.push(JSON.parse(ev.data).i);
          last = ev.id;
        }
      })();
      await until(() => seen.length >= 3, 3000, "three events from the first instance");
      await within(first.close(), 2000, "the first instance to shut down");
      // The stream ended cleanly (an error would reject here): an EventSource reconnects now.
      await within(reading, 2000, "the first stream to end");
      const resumed = events(
        await fetch(`${second.url}/ticks`, { headers: { "last-event-id": last! } }),
      );
      const next = await resumed.next();
      await resumed.return(undefined);
      assert.equal(JSON.parse(next.value!.data).i, seen.at(-1)! + 1, "nothing lost or repeated");
      assert.deepEqual(
        seen,
        seen.map((_, k) => k),
      );
    } finally {
      await second.close();
      await first.close();
    }
  });

  it("ends a compressed event stream with its coding's trailer, so it decodes whole", {
    timeout: 10_000,
  }, async () => {
    const { app } = endlessApp();
    app.use(compress({ encodings: ["gzip"] }));
    const server = await serve(app, { port: 0, shutdownTimeout: 8000 });
    const res = await nodeGet(`${server.url}/sse`, { "accept-encoding": "gzip" });
    assert.equal(res.headers["content-encoding"], "gzip");
    const parts: Buffer[] = [];
    const ended = new Promise<string>((resolve) => {
      res.on("data", (d: Buffer) => parts.push(d));
      res.on("end", () => resolve(res.complete ? "ended" : "truncated"));
      res.on("error", () => resolve("truncated"));
    });
    await until(() => parts.length > 0, 3000, "the first compressed bytes");
    await within(server.close(), 2000, "close() to end the stream");
    assert.equal(await within(ended, 2000, "the client to see the end"), "ended");
    // A gzip stream cut before its trailer does not decode: this one does, in full.
    const text = gunzipSync(Buffer.concat(parts)).toString();
    assert.match(text, /^(id: \d+\ndata: \{"i":\d+\}\n\n)+$/);
  });

  const curl = ["/usr/bin/curl", "/usr/local/bin/curl", "/bin/curl"].find((p) => existsSync(p));
  it("makes curl report an event stream ended at shutdown as a complete transfer", {
    timeout: 10_000,
    skip: curl || process.env.CI ? false : "curl is not installed",
  }, async () => {
    const { app } = endlessApp();
    const server = await serve(app, { port: 0, shutdownTimeout: 8000 });
    try {
      const out: Buffer[] = [];
      const exit = new Promise<number | null>((resolve) => {
        const child = spawn(curl!, ["-sS", "-N", "--max-time", "8", `${server.url}/sse`]);
        child.stdout.on("data", (d: Buffer) => out.push(d));
        child.on("close", (code) => resolve(code));
      });
      await until(() => Buffer.concat(out).includes("data: "), 3000, "curl to receive an event");
      await within(server.close(), 2000, "close() to end the stream");
      assert.equal(await within(exit, 3000, "curl to exit"), 0);
    } finally {
      await server.close();
    }
  });

  it("gives a finite stream the shutdown timeout to finish, whole", {
    timeout: 10_000,
  }, async () => {
    const app = new App().onError(() => {});
    let teardowns = 0;
    app.get("/rows", (req) =>
      new NDJSONResponse(
        (async function* () {
          for (let i = 0; i < 20; i++) {
            yield { i };
            await sleep(20, undefined, { signal: req.signal });
          }
        })(),
      ).teardown(() => {
        teardowns++;
      }),
    );
    const server = await serve(app, { port: 0, shutdownTimeout: 5000 });
    const res = await fetch(`${server.url}/rows`);
    const rows = ndjson<{ i: number }>(res);
    assert.deepEqual((await rows.next()).value, { i: 0 });
    const closed = server.close();
    const rest: number[] = [];
    for await (const row of rows) rest.push(row.i);
    assert.deepEqual(
      rest,
      Array.from({ length: 19 }, (_, k) => k + 1),
    );
    await within(closed, 2000, "close() once the stream has finished");
    assert.equal(teardowns, 1);
    assert.deepEqual(app.stats.streams, {
      started: 1,
      completed: 1,
      aborted: 0,
      errored: 0,
      active: 0,
    });
  });

  it("truncates a stream that outlives the shutdown timeout, runs its teardown and counts it as aborted", {
    timeout: 10_000,
  }, async () => {
    const { app, counts } = endlessApp();
    const server = await serve(app, { port: 0, shutdownTimeout: 300 });
    const rows = ndjson(await fetch(`${server.url}/ndjson`));
    assert.equal((await rows.next()).done, false);
    const reading = (async () => {
      try {
        for await (const _ of rows);
        return "ended";
      } catch {
        return "truncated";
      }
    })();
    const started = Date.now();
    await within(server.close(), 3000, "close() to cut the stream at its deadline");
    assert.ok(Date.now() - started >= 250, "the stream had the shutdown timeout to finish");
    assert.equal(await within(reading, 2000, "the client to see the cut"), "truncated");
    assert.equal(counts.teardowns, 1);
    assert.equal(counts.finallies, 1);
    assert.equal(app.stats.streams.aborted, 1);
    assert.equal(app.stats.streams.active, 0);
  });

  it("ends an event stream that starts during the shutdown at once, cleanly", {
    timeout: 10_000,
  }, async () => {
    const app = new App().onError(() => {});
    const entered = gate();
    const release = gate();
    let teardowns = 0;
    let pulled = false;
    app.get("/late", async () => {
      entered.resolve();
      await release.promise;
      return new SSEResponse(
        (async function* () {
          pulled = true;
          yield "never sent";
        })(),
      ).teardown(() => {
        teardowns++;
      });
    });
    const server = await serve(app, { port: 0, shutdownTimeout: 8000 });
    const conn = await RawConnection.open(server.port);
    try {
      conn.write("GET /late HTTP/1.1\r\nHost: t\r\n\r\n");
      await within(entered.promise, 2000, "the handler to start");
      const closed = server.close();
      release.resolve();
      const res = await conn.response();
      assert.equal(res.status, 200);
      assert.equal(res.headers["content-type"], "text/event-stream; charset=utf-8");
      assert.equal(res.body.length, 0);
      await within(closed, 2000, "close() to resolve");
      assert.equal(pulled, false);
      assert.equal(teardowns, 1);
      assert.equal(app.stats.streams.started, 0);
    } finally {
      conn.destroy();
    }
  });
});

describe("11. a client that leaves a stalled producer", () => {
  const contract = { staticDir: "examples/contract/public", bigFile: "package.json" };

  for (const mode of MODES) {
    it(`ends the contract's /stall at once as aborted, with its teardown (${mode})`, {
      timeout: 10_000,
    }, async () => {
      const app = createContractApp(contract);
      const client = testClient(app, mode);
      try {
        const stats = async () =>
          (await (await client.fetch("/__stats")).json()) as {
            streams: { started: number; aborted: number; active: number };
            teardowns: number;
          };
        const before = await stats();
        const res = await client.fetch("/stall");
        assert.equal(res.headers.get("content-type"), "application/x-ndjson");
        const rows = ndjson(res);
        assert.deepEqual((await rows.next()).value, { i: 0 });
        assert.equal((await stats()).streams.active, before.streams.active + 1);
        const left = Date.now();
        await rows.return(undefined);
        await until(
          () => app.stats.streams.active === before.streams.active,
          1000,
          "the stalled stream to end within 1 s",
        );
        assert.ok(Date.now() - left < 1000);
        const after = await stats();
        assert.equal(after.streams.aborted, before.streams.aborted + 1);
        assert.equal(after.streams.started, before.streams.started + 1);
        assert.equal(after.teardowns, before.teardowns + 1);
      } finally {
        await client.close();
      }
    });

    it(`requests the generator's return() at once and runs teardown, though its finally waits for the await (${mode})`, {
      timeout: 10_000,
    }, async () => {
      const app = new App().onError(() => {});
      const stuck = gate();
      const seen = { teardowns: 0, finallies: 0 };
      app.get("/stall", () =>
        new NDJSONResponse(
          (async function* () {
            try {
              yield { i: 0 };
              await stuck.promise;
              yield { i: 1 };
            } finally {
              seen.finallies++;
            }
          })(),
        ).teardown(() => {
          seen.teardowns++;
        }),
      );
      const client = testClient(app, mode);
      try {
        const rows = ndjson(await client.fetch("/stall"));
        await rows.next();
        await rows.return(undefined);
        await until(
          () => seen.teardowns === 1 && app.stats.streams.active === 0,
          1000,
          "the teardown",
        );
        assert.deepEqual(app.stats.streams, {
          started: 1,
          completed: 0,
          aborted: 1,
          errored: 0,
          active: 0,
        });
        assert.equal(seen.finallies, 0, "the generator is still in its await");
        // Once the await settles, the requested return() goes through: no item is pulled any more.
        stuck.resolve();
        await until(() => seen.finallies === 1, 1000, "the generator's finally");
      } finally {
        await client.close();
      }
    });

    it(`cancels a ReadableStream whose pull never settles (${mode})`, {
      timeout: 10_000,
    }, async () => {
      const app = new App().onError(() => {});
      const seen = { cancelled: 0, teardowns: 0, pulls: 0 };
      app.get("/pull", () =>
        new StreamingResponse(
          new ReadableStream<Uint8Array>(
            {
              pull(controller) {
                seen.pulls++;
                if (seen.pulls === 1) controller.enqueue(new TextEncoder().encode("first\n"));
                else return new Promise<void>(() => {});
              },
              cancel() {
                seen.cancelled++;
              },
            },
            { highWaterMark: 0 },
          ),
        ).teardown(() => {
          seen.teardowns++;
        }),
      );
      const client = testClient(app, mode);
      try {
        const body = lines(await client.fetch("/pull"));
        assert.deepEqual((await body.next()).value, "first");
        await body.return(undefined);
        await until(
          () => seen.cancelled === 1 && seen.teardowns === 1 && app.stats.streams.active === 0,
          1000,
          () => `cancel and teardown (${JSON.stringify(seen)})`,
        );
        assert.equal(app.stats.streams.aborted, 1);
        assert.equal(app.stats.streams.active, 0);
      } finally {
        await client.close();
      }
    });

    it(`ends a stream whose first item never comes, before its head was sent (${mode})`, {
      timeout: 10_000,
    }, async () => {
      const app = new App().onError(() => {});
      let teardowns = 0;
      const pulled = gate();
      app.get("/never", () =>
        new NDJSONResponse(
          (async function* () {
            pulled.resolve();
            await new Promise<never>(() => {});
            yield { never: true };
          })(),
        ).teardown(() => {
          teardowns++;
        }),
      );
      if (mode === "memory") {
        // The response itself waits for the first item: the caller gives up on it.
        const controller = new AbortController();
        const res = app.fetch(new Request("http://localhost/never", { signal: controller.signal }));
        await within(pulled.promise, 2000, "the producer to be pulled");
        controller.abort();
        assert.equal((await res).type, "error");
      } else {
        const server = await serve(app, { port: 0 });
        try {
          const conn = await RawConnection.open(server.port);
          conn.write("GET /never HTTP/1.1\r\nHost: t\r\n\r\n");
          await within(pulled.promise, 2000, "the producer to be pulled");
          conn.destroy();
          await until(() => teardowns === 1, 1000, "the teardown before the shutdown");
        } finally {
          await server.close();
        }
      }
      await until(() => teardowns === 1 && app.stats.streams.active === 0, 1000, "the teardown");
      assert.equal(app.stats.streams.aborted, 1);
      assert.equal(app.stats.streams.active, 0);
    });
  }
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
    // A producer cancelled inside its await (the SSE one sleeps with the request's signal) runs
    // its finally when that await settles, just after the teardown: wait for it, bounded.
    await until(() => counts.finallies === total, 2000, `every finally (${counts.finallies})`);
    assert.equal(app.stats.streams.aborted, total);
  });
});
