/**
 * The typed client (issue 14) against running apps: buffered calls, problems, NDJSON and SSE
 * streams, cancellation seen by the server, and resuming after cuts, refusals and server restarts
 * with nothing lost or repeated. Each case runs in memory (the client's fetch is `app.fetch`) and
 * over a loopback socket; restarts need a socket.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { z } from "zod";
import {
  client,
  type Gap,
  ProblemError,
  type ReconnectInfo,
  SchemaError,
  StreamError,
  type StreamEvent,
} from "../src/client/index.ts";
import {
  App,
  HTMLResponse,
  HTTPError,
  NDJSONResponse,
  ndjsonOf,
  SSEResponse,
  sse,
  sseOf,
} from "../src/index.ts";
import { type RunningServer, serve } from "../src/node/index.ts";
import { type ClientMode, testClient } from "../src/testing/index.ts";
import { BOUND, MODES } from "./helpers/app.ts";
import { until, within } from "./helpers/wait.ts";

const Movie = z.object({ id: z.number(), title: z.string() });
const ItemIn = z.object({ name: z.string().min(1).max(100), qty: z.number().int().min(1) });
const Item = ItemIn.extend({ id: z.number() });
const Row = z.object({ i: z.number(), sq: z.number() });
const Note = z.object({ n: z.number() });

/** A log with a history, as a broadcast channel keeps one: ids count up; the oldest may be trimmed. */
class Log {
  events: { id: number; data: { n: number } }[] = [];
  next = 0;
  #waiters = new Set<() => void>();

  publish(): number {
    const id = this.next++;
    this.events.push({ id, data: { n: id } });
    for (const w of this.#waiters) w();
    this.#waiters.clear();
    return id;
  }

  trim(keep: number): void {
    this.events = this.events.slice(-keep);
  }

  changed(signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      const done = () => {
        signal.removeEventListener("abort", abort);
        resolve();
      };
      const abort = () => {
        this.#waiters.delete(done);
        reject(signal.reason);
      };
      this.#waiters.add(done);
      signal.addEventListener("abort", abort, { once: true });
    });
  }
}

/** What the app's handlers saw and did, for the assertions. */
interface Seen {
  lastEventIds: (string | undefined)[];
  headers: Record<string, string>[];
  finallies: number;
  teardowns: number;
  cutRowsOnce: boolean;
  refuseNext: number[];
  /** Cut the next feed connection after this many events (0: never). */
  cutFeedAfter: number;
}

function testApp(log: Log, seen: Seen) {
  return new App()
    .onError(() => {})
    .get(
      "/movies/:id",
      { params: z.object({ id: z.coerce.number() }), responses: { 200: Movie } },
      (req) => {
        if (req.params.id === 404) throw new HTTPError(404, `no movie ${req.params.id}`);
        return { id: req.params.id, title: `movie ${req.params.id}` };
      },
    )
    .get(
      "/wrong-shape",
      { responses: { 200: Movie } },
      () =>
        new Response('{"id":"one"}', {
          headers: { "content-type": "application/json" },
        }) as never,
    )
    .post("/items", { body: ItemIn, responses: { 201: Item } }, (req) => ({
      id: 1,
      ...req.body,
    }))
    .get("/echo/*", (req) => ({
      path: req.path,
      star: req.params["*"],
      query: [...req.searchParams],
      key: req.header("x-key") ?? null,
      team: req.header("x-team") ?? null,
    }))
    .get("/echo-params/:a/:b", (req) => ({ a: req.params.a, b: req.params.b }))
    .get("/teapot", () => new HTMLResponse("<h1>no</h1>", { status: 502 }))
    .get("/text", () => "plain words")
    .get("/nothing", () => undefined)
    .get(
      "/rows",
      {
        query: z.object({ n: z.coerce.number(), cutAt: z.coerce.number().optional() }),
        responses: { 200: ndjsonOf(Row, { id: "i" }) },
      },
      (req) => {
        seen.lastEventIds.push(req.lastEventId);
        const { n, cutAt } = req.query;
        const from = req.lastEventId === undefined ? 0 : Number(req.lastEventId) + 1;
        return new NDJSONResponse(
          (async function* () {
            try {
              for (let i = from; i < n; i++) {
                if (i === cutAt && !seen.cutRowsOnce) {
                  seen.cutRowsOnce = true;
                  throw new Error("the database went away");
                }
                yield { i, sq: i * i };
                await sleep(1);
              }
            } finally {
              seen.finallies++;
            }
          })(),
        ).teardown(() => {
          seen.teardowns++;
        });
      },
    )
    .get(
      "/labels",
      { responses: { 200: ndjsonOf(z.object({ label: z.string() }), { id: "label" }) } },
      (req) => {
        // Ids that are not ASCII, and one that no header can carry (a line break).
        seen.lastEventIds.push(req.lastEventId);
        const labels = ["a ☃", "b 𝄞", "c\nd", "e é", "f"];
        const from = req.lastEventId === undefined ? 0 : labels.indexOf(req.lastEventId) + 1;
        const cutAfter = seen.cutFeedAfter;
        seen.cutFeedAfter = 0;
        return new NDJSONResponse(
          (async function* () {
            let sent = 0;
            for (const label of labels.slice(from)) {
              if (cutAfter > 0 && sent === cutAfter) throw new Error("cut");
              sent++;
              yield { label };
              await sleep(2);
            }
          })(),
        );
      },
    )
    .get(
      "/rows-noid",
      { responses: { 200: ndjsonOf(Row) } },
      () =>
        new NDJSONResponse(
          (async function* () {
            yield { i: 0, sq: 0 };
            await sleep(5);
            throw new Error("cut");
          })(),
        ),
    )
    .get("/endless", { responses: { 200: ndjsonOf(Row, { id: "i" }) } }, (req) => {
      const from = req.lastEventId === undefined ? 0 : Number(req.lastEventId) + 1;
      return new NDJSONResponse(
        (async function* () {
          try {
            for (let i = from; ; i++) {
              yield { i, sq: i * i };
              await sleep(2, undefined, { signal: req.signal });
            }
          } finally {
            seen.finallies++;
          }
        })(),
      ).teardown(() => {
        seen.teardowns++;
      });
    })
    .get("/feed", { responses: { 200: sseOf(Note, { events: ["note"] }) } }, (req) => {
      seen.lastEventIds.push(req.lastEventId);
      seen.headers.push({ ...req.headers });
      const refusal = seen.refuseNext.shift();
      if (refusal !== undefined) throw new HTTPError(refusal as 503, "come back later");
      const cutAfter = seen.cutFeedAfter;
      seen.cutFeedAfter = 0;
      return new SSEResponse(
        (async function* () {
          let sent = 0;
          try {
            let after = req.lastEventId === undefined ? log.next - 1 : Number(req.lastEventId);
            const oldest = log.events[0]?.id ?? log.next;
            if (after < oldest - 1) {
              // A channel's gap event: its data is not a Note, which the route's types know nothing of.
              yield sse({ event: "gap", data: { lastEventId: req.lastEventId } as never });
              after = oldest - 1;
            }
            for (;;) {
              for (const e of log.events) {
                if (e.id > after) {
                  if (cutAfter > 0 && sent === cutAfter) throw new Error("cut");
                  after = e.id;
                  sent++;
                  yield sse({ id: e.id, event: "note", data: e.data, retry: 20 });
                }
              }
              await log.changed(req.signal);
            }
          } finally {
            seen.finallies++;
          }
        })(),
        { keepalive: false },
      ).teardown(() => {
        seen.teardowns++;
      });
    })
    .get(
      "/answer",
      { responses: { 200: sseOf(z.string()) } },
      () => new SSEResponse(["Hello", "42", "[DONE]"]),
    )
    .get(
      "/answer-cut",
      { responses: { 200: sseOf(z.string()) } },
      () =>
        new SSEResponse(
          (async function* () {
            yield "partial";
            await sleep(5);
            throw new Error("the model fell over");
          })(),
        ),
    )
    .get("/batches", { responses: { 200: sseOf(Note) } }, (req) => {
      // Three events per response, then a clean end: an endless stream in pieces.
      const from = req.lastEventId === undefined ? 0 : Number(req.lastEventId) + 1;
      seen.lastEventIds.push(req.lastEventId);
      if (from >= 9) return new Response(null, { status: 204 }) as never;
      return new SSEResponse(
        [0, 1, 2].map((k) => sse({ id: from + k, data: { n: from + k }, retry: 10 })),
      );
    });
}

function newSeen(): Seen {
  return {
    lastEventIds: [],
    headers: [],
    finallies: 0,
    teardowns: 0,
    cutRowsOnce: false,
    refuseNext: [],
    cutFeedAfter: 0,
  };
}

type TestApp = ReturnType<typeof testApp>;

/**
 * A client of the app in memory, over a socket (then `server` is the running server), or on
 * HTTP/2 (through the test client's h2 fetch: the runtime's fetch speaks HTTP/1.1 only).
 */
async function connect(mode: ClientMode, app: TestApp) {
  if (mode === "memory") {
    return {
      api: client<TestApp>("http://localhost", { fetch: app.fetch }),
      close: async () => {},
    };
  }
  if (mode === "h2") {
    const h2 = testClient(app, "h2");
    return {
      api: client<TestApp>(await h2.url(), { fetch: (request) => h2.fetch(request) }),
      close: () => h2.close(),
    };
  }
  const server = await serve(app, { port: 0, host: "127.0.0.1" });
  return { api: client<TestApp>(server.url), close: () => server.close(), server };
}

async function collect<T>(
  iterable: AsyncIterable<T>,
  limit = Number.POSITIVE_INFINITY,
): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) {
    out.push(item);
    if (out.length >= limit) break;
  }
  return out;
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => from + k);

for (const mode of MODES) {
  describe(`the typed client (${mode})`, () => {
    it("resolves a JSON route with its body, params filled and encoded", BOUND, async () => {
      const { api, close } = await connect(mode, testApp(new Log(), newSeen()));
      try {
        assert.deepEqual(await api.get("/movies/:id", { params: { id: 7 } }), {
          id: 7,
          title: "movie 7",
        });
        const odd = await api.get("/echo-params/:a/:b", {
          params: { a: "a b/c?d#e", b: "☃%" },
        });
        assert.deepEqual(odd, { a: "a b/c?d#e", b: "☃%" });
        const star = (await api.get("/echo/*", {
          params: { "*": "dir/a b.txt" },
          query: { q: ["x", "y z"], n: 1, none: undefined, flag: true },
        })) as { path: string; star: string; query: string[][] };
        assert.equal(star.path, "/echo/dir/a%20b.txt");
        assert.equal(star.star, "dir/a b.txt");
        assert.deepEqual(star.query, [
          ["q", "x"],
          ["q", "y z"],
          ["n", "1"],
          ["flag", "true"],
        ]);
        assert.equal(await api.get("/text"), "plain words");
        assert.equal(await api.get("/nothing"), undefined);
      } finally {
        await close();
      }
    });

    it("sends a JSON body and answers with the created item", BOUND, async () => {
      const { api, close } = await connect(mode, testApp(new Log(), newSeen()));
      try {
        assert.deepEqual(await api.post("/items", { body: { name: "lamp", qty: 2 } }), {
          id: 1,
          name: "lamp",
          qty: 2,
        });
      } finally {
        await close();
      }
    });

    it("rejects an error answer with a ProblemError carrying the problem", BOUND, async () => {
      const { api, close } = await connect(mode, testApp(new Log(), newSeen()));
      try {
        const notFound = await api
          .get("/movies/:id", { params: { id: 404 } })
          .catch((e: unknown) => e);
        assert.ok(ProblemError.is(notFound));
        assert.equal(notFound.status, 404);
        assert.equal(notFound.problem.detail, "no movie 404");
        assert.equal(notFound.problem.title, "Not Found");
        const invalid = await api
          .post("/items", { body: { name: "", qty: 0 } })
          .catch((e: unknown) => e);
        assert.ok(invalid instanceof ProblemError);
        assert.equal(invalid.status, 422);
        assert.deepEqual(invalid.problem.errors?.map((e) => e.path).sort(), ["/name", "/qty"]);
        // An error answer that is not a problem (a proxy's page) gets the one its status stands for.
        const bad = await api.get("/teapot").catch((e: unknown) => e);
        assert.ok(bad instanceof ProblemError);
        assert.deepEqual(bad.problem, { type: "about:blank", title: "Bad Gateway", status: 502 });
        const missing = await api.get("/nope" as "/text").catch((e: unknown) => e);
        assert.ok(ProblemError.is(missing) && missing.status === 404);
      } finally {
        await close();
      }
    });

    it("sends the client's headers and a call's own, the call's winning", BOUND, async () => {
      const app = testApp(new Log(), newSeen());
      const server =
        mode === "socket" ? await serve(app, { port: 0, host: "127.0.0.1" }) : undefined;
      const h2 = mode === "h2" ? testClient(app, "h2") : undefined;
      let calls = 0;
      const api = client<TestApp>(server?.url ?? (await h2?.url()) ?? "http://localhost", {
        fetch: server ? undefined : h2 ? (request) => h2.fetch(request) : app.fetch,
        headers: () => {
          calls++;
          return { "x-key": "default", "x-team": "blue" };
        },
      });
      try {
        const a = (await api.get("/echo/*", { params: { "*": "a" } })) as Record<string, unknown>;
        assert.equal(a.key, "default");
        const b = (await api.get("/echo/*", {
          params: { "*": "b" },
          headers: { "x-key": "mine" },
        })) as Record<string, unknown>;
        assert.deepEqual([b.key, b.team], ["mine", "blue"]);
        assert.equal(calls, 2, "the header function runs per request");
      } finally {
        await server?.close();
        await h2?.close();
      }
    });

    it("checks a body against the validator it is given", BOUND, async () => {
      const { api, close } = await connect(mode, testApp(new Log(), newSeen()));
      try {
        await assert.rejects(api.get("/wrong-shape", { validate: Movie }), (e: unknown) => {
          assert.ok(e instanceof SchemaError);
          assert.match(e.message, /\/id/);
          return true;
        });
        // Without one, what came is what you get.
        assert.deepEqual(await api.get("/wrong-shape"), { id: "one" });
      } finally {
        await close();
      }
    });

    it("iterates an NDJSON route's items as they arrive", BOUND, async () => {
      const seen = newSeen();
      const { api, close } = await connect(mode, testApp(new Log(), seen));
      try {
        const rows = await api.get("/rows", { query: { n: 50 } });
        const got = await collect(rows);
        assert.deepEqual(
          got,
          range(0, 50).map((i) => ({ i, sq: i * i })),
        );
        assert.equal(rows.lastEventId, "49");
      } finally {
        await close();
      }
    });

    it(
      "cancels the request when the loop breaks: the server runs its teardown",
      BOUND,
      async () => {
        const seen = newSeen();
        const app = testApp(new Log(), seen);
        const { api, close } = await connect(mode, app);
        try {
          const got = await collect(await api.get("/endless"), 5);
          assert.deepEqual(
            got.map((r) => r.i),
            [0, 1, 2, 3, 4],
          );
          await until(
            () => seen.teardowns === 1 && seen.finallies === 1 && app.stats.streams.active === 0,
            3000,
            "the teardown",
          );
          assert.equal(app.stats.streams.aborted, 1);
          assert.equal(app.stats.streams.active, 0);
        } finally {
          await close();
        }
      },
    );

    it(
      "cancels the request when the caller's signal aborts, rejecting with its reason",
      BOUND,
      async () => {
        const seen = newSeen();
        const app = testApp(new Log(), seen);
        const { api, close } = await connect(mode, app);
        try {
          const controller = new AbortController();
          const rows = await api.get("/endless", { signal: controller.signal });
          let n = 0;
          const reason = new Error("the user went away");
          await assert.rejects(
            (async () => {
              for await (const _ of rows) if (++n === 3) controller.abort(reason);
            })(),
            (e) => e === reason,
          );
          await until(() => seen.teardowns === 1, 3000, "the teardown");
          assert.equal(app.stats.streams.active, 0);
        } finally {
          await close();
        }
      },
    );

    it(
      "ends the iteration quietly on close(), and the server sees the client go",
      BOUND,
      async () => {
        const seen = newSeen();
        const { api, close } = await connect(mode, testApp(new Log(), seen));
        try {
          const rows = await api.get("/endless");
          const got: number[] = [];
          for await (const row of rows) {
            got.push(row.i);
            if (got.length === 3) rows.close();
          }
          assert.ok(got.length >= 3 && got.length <= 4, `got ${got.length}`);
          await until(() => seen.teardowns === 1, 3000, "the teardown");
          // A stream closed before it is iterated never starts.
          const unread = await api.get("/endless");
          unread.close();
          assert.deepEqual(await collect(unread), []);
          await until(() => seen.teardowns === 2, 3000, "the second teardown");
        } finally {
          await close();
        }
      },
    );

    it(
      "resumes an NDJSON stream cut midway from the last item's id: nothing lost or repeated",
      BOUND,
      async () => {
        const seen = newSeen();
        const { api, close } = await connect(mode, testApp(new Log(), seen));
        try {
          const rows = await api.get("/rows", {
            query: { n: 40, cutAt: 17 },
            resume: { delay: 5 },
          });
          const got = await collect(rows);
          assert.deepEqual(
            got.map((r) => r.i),
            range(0, 40),
          );
          assert.deepEqual(seen.lastEventIds, [undefined, "16"]);
        } finally {
          await close();
        }
      },
    );

    it(
      "resumes after an id that is not ASCII: the handler reads it back as sent",
      BOUND,
      async () => {
        const seen = newSeen();
        const { api, close } = await connect(mode, testApp(new Log(), seen));
        try {
          seen.cutFeedAfter = 2;
          const labels = await collect(await api.get("/labels", { resume: { delay: 5 } }));
          assert.deepEqual(
            labels.map((l) => l.label),
            ["a ☃", "b 𝄞", "c\nd", "e é", "f"],
          );
          assert.deepEqual(seen.lastEventIds, [undefined, "b 𝄞"]);
        } finally {
          await close();
        }
      },
    );

    it(
      "does not resume from an item whose id no header can carry: the cut is an error",
      BOUND,
      async () => {
        const seen = newSeen();
        const { api, close } = await connect(mode, testApp(new Log(), seen));
        try {
          seen.cutFeedAfter = 3; // cut right after "c\nd"
          const got: string[] = [];
          await assert.rejects(
            (async () => {
              for await (const l of await api.get("/labels", { resume: { delay: 5 } }))
                got.push(l.label);
            })(),
            (e: unknown) => StreamError.is(e) && e.lastEventId === undefined,
          );
          assert.deepEqual(got, ["a ☃", "b 𝄞", "c\nd"]);
          assert.deepEqual(seen.lastEventIds, [undefined], "no second request");
        } finally {
          await close();
        }
      },
    );

    it("fails visibly when an NDJSON stream without an id field is cut", BOUND, async () => {
      const { api, close } = await connect(mode, testApp(new Log(), newSeen()));
      try {
        const rows = await api.get("/rows-noid", { resume: { delay: 5 } });
        const got: unknown[] = [];
        await assert.rejects(
          (async () => {
            for await (const row of rows) got.push(row);
          })(),
          (e: unknown) => StreamError.is(e) && /no id to resume from/.test(e.message),
        );
        assert.deepEqual(got, [{ i: 0, sq: 0 }]);
      } finally {
        await close();
      }
    });

    it("fails an item that does not pass the validator, and stops the stream", BOUND, async () => {
      const seen = newSeen();
      const { api, close } = await connect(mode, testApp(new Log(), seen));
      try {
        const rows = await api.get("/endless", {
          validate: Row.refine((r) => r.i < 3, "too far"),
        });
        const got: number[] = [];
        await assert.rejects(
          (async () => {
            for await (const row of rows) got.push(row.i);
          })(),
          (e: unknown) => e instanceof SchemaError && /too far/.test(e.message),
        );
        assert.deepEqual(got, [0, 1, 2]);
        await until(() => seen.teardowns === 1, 3000, "the teardown");
      } finally {
        await close();
      }
    });

    it(
      "yields an SSE route's typed events, and data that is not JSON as the string sent",
      BOUND,
      async () => {
        const { api, close } = await connect(mode, testApp(new Log(), newSeen()));
        try {
          // No ids: the end of the response is the end of the stream.
          const answer = await collect(await api.get("/answer"));
          assert.deepEqual(answer, [
            { gap: false, id: undefined, event: "message", data: "Hello" },
            { gap: false, id: undefined, event: "message", data: 42 },
            { gap: false, id: undefined, event: "message", data: "[DONE]" },
          ]);
          // A validator for strings gets the string that looked like JSON.
          const checked = await collect(await api.get("/answer", { validate: z.string() }));
          assert.deepEqual(
            checked.map((e) => !e.gap && e.data),
            ["Hello", "42", "[DONE]"],
          );
        } finally {
          await close();
        }
      },
    );

    it("fails visibly when an event stream without ids is cut", BOUND, async () => {
      const { api, close } = await connect(mode, testApp(new Log(), newSeen()));
      try {
        const stream = await api.get("/answer-cut");
        const got: unknown[] = [];
        await assert.rejects(
          (async () => {
            for await (const ev of stream) got.push(!ev.gap && ev.data);
          })(),
          (e: unknown) => StreamError.is(e) && e.cause !== undefined,
        );
        assert.deepEqual(got, ["partial"]);
      } finally {
        await close();
      }
    });

    it("goes on across the clean ends of an endless event stream, until a 204", BOUND, async () => {
      const seen = newSeen();
      const { api, close } = await connect(mode, testApp(new Log(), seen));
      try {
        const told: ReconnectInfo[] = [];
        const events = await collect(
          await api.get("/batches", { resume: { onReconnect: (info) => told.push(info) } }),
        );
        assert.deepEqual(
          events.map((e) => !e.gap && e.data.n),
          range(0, 9),
        );
        assert.deepEqual(seen.lastEventIds, [undefined, "2", "5", "8"]);
        // Told before each wait: a clean end has no cause; the batches' retry: 10 sets the wait.
        assert.deepEqual(
          told.map((t) => [t.attempt, t.lastEventId, t.cause]),
          [
            [1, "2", undefined],
            [1, "5", undefined],
            [1, "8", undefined],
          ],
        );
        for (const t of told) assert.ok(t.wait >= 10 && t.wait <= 15, `waited ${t.wait}`);
      } finally {
        await close();
      }
    });

    it(
      "resumes a feed after a cut and a refusal it can wait out (503), sending Last-Event-ID",
      BOUND,
      async () => {
        const log = new Log();
        const seen = newSeen();
        const { api, close } = await connect(mode, testApp(log, seen));
        try {
          seen.cutFeedAfter = 1;
          const feed = await api.get("/feed", { lastEventId: "-1" });
          seen.refuseNext.push(503);
          const got: number[] = [];
          for (let k = 0; k < 3; k++) log.publish();
          for await (const ev of feed) {
            assert.ok(!ev.gap);
            got.push(ev.data.n);
            if (got.length === 3) break;
          }
          assert.deepEqual(got, [0, 1, 2]);
          // The feed's retry: 20 sets the waits, not the client's default of a second.
          assert.deepEqual(seen.lastEventIds, ["-1", "0", "0"]);
        } finally {
          await close();
        }
      },
    );
  });
}

describe("the typed client, resuming over a socket", () => {
  it("goes on across server restarts mid-stream: every event once, in order", {
    timeout: 30_000,
  }, async () => {
    const log = new Log();
    const seen = newSeen();
    const app = testApp(log, seen);
    let server: RunningServer = await serve(app, { port: 0, host: "127.0.0.1" });
    const port = server.port;
    const api = client<TestApp>(server.url, { resume: { delay: 20, maxDelay: 200 } });
    // A publisher that does not care about restarts: the history is what it writes to.
    const publisher = setInterval(() => log.publish(), 3);
    try {
      const feed = await api.get("/feed", { lastEventId: "-1" });
      const got: number[] = [];
      const gaps: Gap[] = [];
      const reading = (async () => {
        for await (const ev of feed) {
          if (ev.gap) gaps.push(ev);
          else got.push(Number(ev.id));
          if (got.length >= 300) break;
        }
      })();
      for (let restart = 0; restart < 3; restart++) {
        await until(() => got.length > 60 * (restart + 1), 10_000, "events before a restart");
        // Graceful shutdown ends the stream without its terminating chunk: a cut.
        await server.close();
        await sleep(30);
        server = await serve(app, { port, host: "127.0.0.1" });
      }
      await within(reading, 20_000, "300 events across 3 restarts");
      assert.deepEqual(gaps, []);
      assert.deepEqual(got, range(0, got.length), "no event lost or repeated");
      const resumes = seen.lastEventIds.slice(1);
      assert.ok(resumes.length >= 3, `resumed ${resumes.length} times`);
      for (const id of resumes) assert.match(String(id), /^\d+$/);
      await until(() => app.stats.streams.active === 0, 3000, "no stream left open");
    } finally {
      clearInterval(publisher);
      await server.close();
    }
  });

  it("tells the caller of a gap when the history no longer holds its id", BOUND, async () => {
    const log = new Log();
    const seen = newSeen();
    const app = testApp(log, seen);
    const server = await serve(app, { port: 0, host: "127.0.0.1" });
    const api = client<TestApp>(server.url);
    try {
      for (let k = 0; k < 10; k++) log.publish();
      log.trim(4); // ids 6..9 remain
      const feed = await api.get("/feed", { lastEventId: "2" });
      const got: (StreamEvent<{ n: number }, "note"> | Gap)[] = await collect(feed, 5);
      assert.deepEqual(got[0], { gap: true, event: "gap", lastEventId: "2" });
      assert.deepEqual(
        got.slice(1).map((e) => !e.gap && [e.id, e.event, e.data.n]),
        [
          ["6", "note", 6],
          ["7", "note", 7],
          ["8", "note", 8],
          ["9", "note", 9],
        ],
      );
    } finally {
      await server.close();
    }
  });

  it(
    "resumes an NDJSON stream across a server restart from the last item's id",
    BOUND,
    async () => {
      const seen = newSeen();
      const app = testApp(new Log(), seen);
      // The stream is cut at once on close: a finite one would otherwise get the shutdown
      // timeout to finish, and there would be nothing to resume.
      const options = { host: "127.0.0.1", shutdownTimeout: 0 };
      let server = await serve(app, { ...options, port: 0 });
      const port = server.port;
      const api = client<TestApp>(server.url, { resume: { delay: 10 } });
      try {
        const rows = await api.get("/rows", { query: { n: 300 } });
        const got: number[] = [];
        for await (const row of rows) {
          got.push(row.i);
          if (got.length === 100) {
            await server.close();
            server = await serve(app, { ...options, port });
          }
        }
        assert.deepEqual(got, range(0, 300));
        assert.equal(seen.lastEventIds.length, 2);
        assert.match(String(seen.lastEventIds[1]), /^\d+$/);
      } finally {
        await server.close();
      }
    },
  );

  it("stops with a StreamError after maxAttempts failed reconnections", BOUND, async () => {
    const log = new Log();
    const app = testApp(log, newSeen());
    const server = await serve(app, { port: 0, host: "127.0.0.1" });
    const api = client<TestApp>(server.url, { resume: { delay: 5, maxAttempts: 3 } });
    const feed = await api.get("/feed", { lastEventId: "-1" });
    log.publish();
    const got: number[] = [];
    await assert.rejects(
      (async () => {
        for await (const ev of feed) {
          if (!ev.gap) got.push(ev.data.n);
          // The server goes away for good.
          await server.close();
        }
      })(),
      (e: unknown) =>
        StreamError.is(e) && /after 3 failed attempts/.test(e.message) && e.lastEventId === "0",
    );
    assert.deepEqual(got, [0]);
  });

  it("rejects a refusal on reconnecting that waiting will not fix (403)", BOUND, async () => {
    const log = new Log();
    const seen = newSeen();
    const app = testApp(log, seen);
    const { api, close, server } = await connect("socket", app);
    try {
      const feed = await api.get("/feed", { lastEventId: "-1", resume: { delay: 5 } });
      log.publish();
      seen.refuseNext.push(503, 403);
      await assert.rejects(
        (async () => {
          for await (const _ of feed) {
            // Cut the connection under the stream: the next two attempts are refused.
            server!.server.closeAllConnections();
          }
        })(),
        (e: unknown) => ProblemError.is(e) && e.status === 403,
      );
      assert.deepEqual(seen.lastEventIds, ["-1", "0", "0"]);
    } finally {
      await close();
    }
  });
});

describe("the typed client's waits between attempts", () => {
  it("counts a connection that delivers nothing as a failed attempt: retry: 0 is no tight loop", {
    timeout: 15_000,
  }, async () => {
    // One event with `retry: 0`, then every connection answers an empty stream and hangs up.
    const times: number[] = [];
    const server = createServer((_req, res) => {
      times.push(performance.now());
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.end(times.length === 1 ? "retry: 0\nid: 1\ndata: {}\n\n" : "");
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const { port } = server.address() as AddressInfo;
    try {
      const stream = (await client(`http://127.0.0.1:${port}`).get("/", {
        resume: { maxAttempts: 5 },
      })) as AsyncIterable<unknown>;
      await assert.rejects(collect(stream), (e: unknown) => StreamError.is(e));
      assert.equal(times.length, 6, "the first connection and 5 attempts");
      // 0 after the event, then 20, 40, 80, 160 (a floor of 10 ms doubled per empty connection).
      const waits = times.slice(1).map((t, k) => t - times[k]!);
      [0, 20, 40, 80, 160].forEach((e, k) => {
        assert.ok(waits[k]! >= e - 2, `wait ${k + 1}: ${waits[k]!.toFixed(0)} ms < ${e}`);
      });
    } finally {
      server.close();
      server.closeAllConnections();
    }
  });

  it("honours retry:, doubles after each failed attempt up to maxDelay, with jitter on top", {
    timeout: 15_000,
  }, async () => {
    // A server that sends one event with `retry: 40`, then drops every connection.
    let connections = 0;
    const times: number[] = [];
    const server = createServer((req, res) => {
      times.push(performance.now());
      connections++;
      if (connections === 1) {
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.write("retry: 40\nid: 1\ndata: {}\n\n");
        setTimeout(() => res.socket?.destroy(), 5);
        return;
      }
      req.socket.destroy();
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const { port } = server.address() as AddressInfo;
    try {
      const stream = (await client(`http://127.0.0.1:${port}`).get("/", {
        resume: { maxDelay: 200, maxAttempts: 6 },
      })) as AsyncIterable<unknown>;
      await assert.rejects(collect(stream), (e: unknown) => StreamError.is(e));
      assert.equal(connections, 7);
      const waits = times.slice(1).map((t, k) => t - times[k]!);
      // 40, 80, 160, then capped at 200: each at least that, at most half as much again (+ slack).
      const expected = [40, 80, 160, 200, 200, 200];
      waits.forEach((w, k) => {
        const e = expected[k]!;
        assert.ok(w >= e - 2, `wait ${k + 1}: ${w.toFixed(0)} ms < ${e}`);
        assert.ok(w <= e * 1.5 + 100, `wait ${k + 1}: ${w.toFixed(0)} ms > ${e * 1.5}`);
      });
    } finally {
      server.close();
      server.closeAllConnections();
    }
  });
});
