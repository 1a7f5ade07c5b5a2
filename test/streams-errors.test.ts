/**
 * Errors and resource scoping of streams, through both engines: an error before the first item
 * (behaviour 2), teardown on every path (behaviour 6) and mid-stream errors (behaviour 7).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { describe, it } from "node:test";
import { setImmediate as tick } from "node:timers/promises";
import {
  App,
  type ErrorContext,
  HTTPError,
  NDJSONResponse,
  SSEResponse,
  StreamingResponse,
  sse,
} from "../src/index.ts";
import { serve } from "../src/node/index.ts";
import { chunks, events, ndjson, testClient } from "../src/testing/index.ts";
import { BOUND, MODES } from "./helpers/app.ts";
import { dechunk, headerFields, rawExchange } from "./helpers/raw-http.ts";
import { gate, until } from "./helpers/wait.ts";

interface Log {
  errors: { error: unknown; context: ErrorContext }[];
  /** What happened, in order: "open", "finally", "teardown", ... */
  steps: string[];
}

function errorApp(): { app: App; log: Log } {
  const log: Log = { errors: [], steps: [] };
  const app = new App().onError((error, context) => log.errors.push({ error, context }));
  const scoped = <R extends StreamingResponse<any>>(make: () => R): R => {
    log.steps.push("open");
    return make().teardown(() => {
      log.steps.push("teardown");
    });
  };
  app.get("/early", () =>
    scoped(
      () =>
        new NDJSONResponse(
          // biome-ignore lint/correctness/useYield: it fails before its first item, on purpose
          (async function* () {
            try {
              throw new Error("secret internals");
            } finally {
              log.steps.push("finally");
            }
          })(),
        ),
    ),
  );
  app.get("/early-http", () =>
    scoped(
      () =>
        new NDJSONResponse(
          // biome-ignore lint/correctness/useYield: it fails before its first item, on purpose
          (async function* () {
            throw new HTTPError(503, "the database is resting", { "retry-after": "5" });
          })(),
        ),
    ),
  );
  app.get("/midway", () =>
    scoped(
      () =>
        new NDJSONResponse(
          (async function* () {
            try {
              yield { n: 1 };
              yield { n: 2 };
              await tick();
              throw new Error("midway");
            } finally {
              log.steps.push("finally");
            }
          })(),
        ),
    ),
  );
  app.get("/midway-mapped", () =>
    scoped(
      () =>
        new NDJSONResponse<{ n: number } | { error: string }>(
          (async function* () {
            yield { n: 1 };
            await tick();
            throw new Error("midway");
          })(),
          { onError: (error) => ({ error: (error as Error).message }) },
        ),
    ),
  );
  app.get("/sse-mapped", () =>
    scoped(
      () =>
        new SSEResponse(
          (async function* () {
            yield "one";
            await tick();
            throw new Error("feed broke");
          })(),
          { onError: (error) => sse({ event: "error", data: (error as Error).message }) },
        ),
    ),
  );
  app.get("/sse-early", () =>
    scoped(
      () =>
        new SSEResponse(
          // biome-ignore lint/correctness/useYield: it fails before its first item, on purpose
          (async function* () {
            await tick();
            throw new Error("no events today");
          })(),
        ),
    ),
  );
  app.get("/ok", () => new NDJSONResponse([{ ok: true }]));
  return { app, log };
}

describe("2. an error before the first item", () => {
  for (const mode of MODES) {
    it(`becomes a problem+json 500 that tells nothing of the error (${mode})`, BOUND, async () => {
      const { app, log } = errorApp();
      const client = testClient(app, mode);
      try {
        const res = await client.fetch("/early");
        assert.equal(res.status, 500);
        assert.equal(res.headers.get("content-type"), "application/problem+json");
        const body = await res.text();
        assert.equal(Number(res.headers.get("content-length")), Buffer.byteLength(body));
        assert.equal(JSON.parse(body).status, 500);
        assert.doesNotMatch(body, /secret internals/);
        assert.equal(log.errors.length, 1);
        assert.equal((log.errors[0]!.error as Error).message, "secret internals");
        assert.equal(app.stats.streams.errored, 1);
      } finally {
        await client.close();
      }
    });

    it(`keeps an HTTPError's status, detail and headers (${mode})`, BOUND, async () => {
      const { app, log } = errorApp();
      const client = testClient(app, mode);
      try {
        const res = await client.fetch("/early-http");
        assert.equal(res.status, 503);
        assert.equal(res.headers.get("retry-after"), "5");
        assert.equal(res.headers.get("content-type"), "application/problem+json");
        const problem = await res.json();
        assert.equal(problem.status, 503);
        assert.equal(problem.detail, "the database is resting");
        await until(() => log.steps.includes("teardown"), 2000, "the teardown");
      } finally {
        await client.close();
      }
    });
  }
});

describe("6. scoping a resource to a stream", () => {
  for (const mode of MODES) {
    it(
      `runs the teardown after the producer for an error before the first item (${mode})`,
      BOUND,
      async () => {
        const { app, log } = errorApp();
        const client = testClient(app, mode);
        try {
          await (await client.fetch("/early")).text();
          await until(() => log.steps.includes("teardown"), 2000, "the teardown");
          assert.deepEqual(log.steps, ["open", "finally", "teardown"]);
        } finally {
          await client.close();
        }
      },
    );

    it(`runs the teardown for HEAD, without starting the producer (${mode})`, BOUND, async () => {
      const { app, log } = errorApp();
      const client = testClient(app, mode);
      try {
        const res = await client.fetch("/midway", { method: "HEAD" });
        assert.equal(res.status, 200);
        await res.text();
        await until(() => log.steps.includes("teardown"), 2000, "the teardown");
        assert.deepEqual(log.steps, ["open", "teardown"]);
      } finally {
        await client.close();
      }
    });

    it(
      `runs the teardown when the client leaves before the first pull (${mode})`,
      BOUND,
      async () => {
        const app = new App().onError(() => {});
        const steps: string[] = [];
        const entered = gate();
        const opened = gate();
        let signal: AbortSignal | undefined;
        app.get("/slow-open", async (req) => {
          signal = req.signal;
          entered.resolve();
          // Opening the resource takes a while; the client gives up meanwhile.
          await opened.promise;
          steps.push("open");
          const source = new ReadableStream<string>(
            {
              pull(c) {
                steps.push("pulled");
                c.enqueue("never");
              },
              cancel() {
                steps.push("cancelled");
              },
            },
            { highWaterMark: 0 },
          );
          return new StreamingResponse(source).teardown(() => {
            steps.push("teardown");
          });
        });
        const client = testClient(app, mode);
        const leaving = new AbortController();
        try {
          const pending = client.fetch("/slow-open", { signal: leaving.signal });
          pending.catch(() => {});
          await entered.promise;
          leaving.abort();
          await until(() => signal?.aborted === true, 2000, "the server to see the client leave");
          opened.resolve();
          await until(() => steps.includes("teardown"), 2000, "the teardown");
          assert.deepEqual(steps, ["open", "cancelled", "teardown"]);
        } finally {
          opened.resolve();
          await client.close();
        }
      },
    );
  }
});

describe("7. a mid-stream error", () => {
  for (const mode of MODES) {
    it(
      `truncates the body, reports phase "stream" and runs the teardown (${mode})`,
      BOUND,
      async () => {
        const { app, log } = errorApp();
        const client = testClient(app, mode);
        try {
          const res = await client.fetch("/midway");
          assert.equal(res.status, 200);
          const got: unknown[] = [];
          await assert.rejects(async () => {
            for await (const row of ndjson(res)) got.push(row);
          });
          assert.deepEqual(got, [{ n: 1 }, { n: 2 }], "what was sent before the error arrives");
          await until(() => log.steps.includes("teardown"), 2000, "the teardown");
          assert.deepEqual(log.steps, ["open", "finally", "teardown"]);
          assert.equal(log.errors.length, 1);
          assert.equal(log.errors[0]!.context.phase, "stream");
          assert.equal((log.errors[0]!.error as Error).message, "midway");
          assert.equal(app.stats.streams.errored, 1);
          // The server keeps serving.
          assert.deepEqual(await (await client.fetch("/ok")).json(), { ok: true });
        } finally {
          await client.close();
        }
      },
    );

    it(`sends the opt-in NDJSON error line before truncating (${mode})`, BOUND, async () => {
      const { app, log } = errorApp();
      const client = testClient(app, mode);
      try {
        const got: unknown[] = [];
        await assert.rejects(async () => {
          for await (const row of ndjson(await client.fetch("/midway-mapped"))) got.push(row);
        });
        assert.deepEqual(got, [{ n: 1 }, { error: "midway" }]);
        assert.equal(log.errors[0]?.context.phase, "stream");
      } finally {
        await client.close();
      }
    });

    it(`sends the opt-in SSE error event before truncating (${mode})`, BOUND, async () => {
      const { app } = errorApp();
      const client = testClient(app, mode);
      try {
        const got: unknown[] = [];
        await assert.rejects(async () => {
          for await (const ev of events(await client.fetch("/sse-mapped"))) {
            got.push([ev.event, ev.data]);
          }
        });
        assert.deepEqual(got, [
          ["message", "one"],
          ["error", "feed broke"],
        ]);
      } finally {
        await client.close();
      }
    });

    it(`truncates an event stream that fails before its first event (${mode})`, BOUND, async () => {
      const { app, log } = errorApp();
      const client = testClient(app, mode);
      try {
        const res = await client.fetch("/sse-early");
        // The headers went out before the producer ran, so the status cannot change any more.
        assert.equal(res.status, 200);
        await assert.rejects(async () => {
          for await (const _ of chunks(res));
        });
        assert.equal(log.errors[0]?.context.phase, "stream");
        await until(() => log.steps.includes("teardown"), 2000, "the teardown");
      } finally {
        await client.close();
      }
    });
  }

  it("ends the chunked body without its terminating chunk on the wire", BOUND, async () => {
    const { app } = errorApp();
    const server = await serve(app, { port: 0 });
    try {
      const { head, body } = await rawExchange(
        server.port,
        "GET /midway HTTP/1.1\r\nHost: t\r\n\r\n",
      );
      assert.deepEqual(headerFields(head).get("transfer-encoding"), ["chunked"]);
      const { data, complete } = dechunk(body);
      assert.equal(data.toString(), '{"n":1}\n{"n":2}\n');
      assert.equal(complete, false);
      assert.equal(body.includes("0\r\n\r\n"), false);
      const ok = await rawExchange(
        server.port,
        "GET /ok HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
      );
      assert.equal(dechunk(ok.body).complete, true, "the server keeps serving");
    } finally {
      await server.close();
    }
  });

  const curl = ["/usr/bin/curl", "/usr/local/bin/curl", "/bin/curl"].find((p) => existsSync(p));
  it("makes curl report a partial transfer (exit 18)", {
    ...BOUND,
    skip: curl ? false : "curl is not installed",
  }, async () => {
    const { app } = errorApp();
    const server = await serve(app, { port: 0 });
    try {
      const run = (path: string) =>
        new Promise<number>((resolve) => {
          execFile(
            curl!,
            ["-sS", "-o", "/dev/null", "--max-time", "5", `${server.url}${path}`],
            (error) => resolve(error ? Number((error as { code?: number }).code) : 0),
          );
        });
      assert.equal(await run("/midway"), 18);
      assert.equal(await run("/ok"), 0);
    } finally {
      await server.close();
    }
  });
});
