/**
 * What a stream looks like on the wire, through both engines: framing (behaviour 1) and a failed
 * stream's truncation on HTTP/1.0, HEAD (behaviour 8), the SSE, NDJSON and CSV types, every kind
 * of source, and the test client's incremental readers.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { connect } from "node:net";
import { Readable } from "node:stream";
import { describe, it } from "node:test";
import {
  App,
  CSVResponse,
  EncodedEvent,
  type ErrorContext,
  NDJSONResponse,
  SchemaError,
  ServerSentEvent,
  SSEFormatError,
  SSEResponse,
  type StandardSchemaV1,
  StreamingResponse,
  sse,
} from "../src/index.ts";
import { serve } from "../src/node/index.ts";
import { chunks, events, lines, ndjson, testClient } from "../src/testing/index.ts";
import { BOUND, MODES } from "./helpers/app.ts";
import { chunkedEnd, dechunk, headerFields, rawExchange } from "./helpers/raw-http.ts";
import { gate, until, within } from "./helpers/wait.ts";

function quietApp(): { app: App; errors: { error: unknown; context: ErrorContext }[] } {
  const errors: { error: unknown; context: ErrorContext }[] = [];
  const app = new App().onError((error, context) => errors.push({ error, context }));
  return { app, errors };
}

async function text(res: Response): Promise<string> {
  const decoder = new TextDecoder();
  let out = "";
  for await (const chunk of chunks(res)) out += decoder.decode(chunk, { stream: true });
  return out + decoder.decode();
}

describe("1. transfer framing", () => {
  function framingApp() {
    const { app } = quietApp();
    app.get(
      "/stream",
      () =>
        new StreamingResponse(
          (async function* () {
            yield "alpha ";
            yield "beta";
          })(),
          // A length set by hand cannot turn a stream into a Content-Length body.
          { headers: { "content-length": "3" }, mediaType: "text/plain" },
        ),
    );
    return app;
  }

  it("sends a stream chunked on HTTP/1.1, without Content-Length", BOUND, async () => {
    const server = await serve(framingApp(), { port: 0 });
    try {
      const { head, body } = await rawExchange(
        server.port,
        "GET /stream HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
      );
      const fields = headerFields(head);
      assert.match(head, /^HTTP\/1\.1 200 /);
      assert.deepEqual(fields.get("transfer-encoding"), ["chunked"]);
      assert.equal(fields.has("content-length"), false);
      const { data, complete } = dechunk(body);
      assert.equal(data.toString(), "alpha beta");
      assert.equal(complete, true, "the body ends with the terminating chunk");
    } finally {
      await server.close();
    }
  });

  it("sends a stream close-delimited on HTTP/1.0, with neither framing header", BOUND, async () => {
    const server = await serve(framingApp(), { port: 0 });
    try {
      const { head, body } = await rawExchange(server.port, "GET /stream HTTP/1.0\r\n\r\n");
      const fields = headerFields(head);
      assert.match(head, /^HTTP\/1\.1 200 /);
      assert.equal(fields.has("transfer-encoding"), false);
      assert.equal(fields.has("content-length"), false);
      assert.equal(body.toString(), "alpha beta");
    } finally {
      await server.close();
    }
  });

  for (const mode of MODES) {
    it(`never sends Content-Length for a stream (${mode})`, BOUND, async () => {
      const client = testClient(framingApp(), mode);
      try {
        const res = await client.fetch("/stream");
        assert.equal(res.headers.get("content-length"), null);
        assert.equal(await text(res), "alpha beta");
      } finally {
        await client.close();
      }
    });
  }
});

// A regression test from an adversarial review: it reproduces a break that was fixed.
describe("a failing stream on HTTP/1.0 is visibly truncated", () => {
  it("the connection is not closed cleanly as if the body were complete", async () => {
    const app = new App();
    app.get(
      "/stream-error",
      () =>
        new StreamingResponse(
          (async function* () {
            for (let i = 0; i < 3; i++) yield `chunk ${i}\n`;
            throw new Error("the producer failed on purpose");
          })(),
        ),
    );
    app.onError(() => {});
    const c = testClient(app, "socket");
    const port = Number(new URL(await c.url()).port);
    try {
      // HTTP/1.0 has no chunked coding: the body is close-delimited, so a clean FIN reads as a
      // complete body. Only an abortive close (RST) can tell the client it was cut. curl says
      // which it saw in its exit code (0: a complete body; 56: the connection was reset). Node
      // 22's own socket client reports a reset after the data as a plain end, so it cannot tell.
      const exit = await new Promise<number | null>((resolve) => {
        const curl = spawn(
          "curl",
          [
            "-s",
            "--http1.0",
            "-o",
            "/dev/null",
            "--max-time",
            "5",
            `http://127.0.0.1:${port}/stream-error`,
          ],
          { stdio: "ignore" },
        );
        curl.on("error", () => resolve(null));
        curl.on("close", (code) => resolve(code));
      });
      if (exit === null) {
        // No curl here: a raw socket still sees the reset on Node 24.
        const outcome = await new Promise<"clean" | "reset">((resolve) => {
          const socket = connect(port, "127.0.0.1");
          socket.on("error", () => resolve("reset"));
          socket.on("end", () => resolve("clean"));
          socket.resume();
          socket.write("GET /stream-error HTTP/1.0\r\nHost: x\r\n\r\n");
        });
        assert.equal(outcome, "reset", "truncated HTTP/1.0 body ended with a clean close");
      } else {
        assert.notEqual(exit, 0, "curl read the truncated HTTP/1.0 body as complete");
      }
    } finally {
      await c.close();
    }
  });
});

describe("8. HEAD on a streaming route", () => {
  function headApp() {
    const { app } = quietApp();
    const seen = { called: false, iterated: false, teardowns: 0 };
    app.get("/gen", () =>
      new NDJSONResponse(
        (function* () {
          seen.called = true;
          yield { n: 1 };
        })(),
      ).teardown(() => {
        seen.teardowns++;
      }),
    );
    app.get(
      "/iterable",
      () =>
        new SSEResponse({
          [Symbol.asyncIterator]() {
            seen.iterated = true;
            return { next: async () => ({ done: true, value: undefined }) };
          },
        }),
    );
    return { app, seen };
  }

  for (const mode of MODES) {
    it(`sends the headers, no body, and never starts the producer (${mode})`, BOUND, async () => {
      const { app, seen } = headApp();
      const client = testClient(app, mode);
      try {
        const res = await client.fetch("/gen", { method: "HEAD" });
        assert.equal(res.status, 200);
        assert.equal(res.headers.get("content-type"), "application/x-ndjson");
        assert.equal(await res.text(), "");
        const sse = await client.fetch("/iterable", { method: "HEAD" });
        assert.equal(sse.headers.get("content-type"), "text/event-stream; charset=utf-8");
        assert.equal(await sse.text(), "");
        await until(() => seen.teardowns === 1, 2000, "the HEAD response's teardown");
        assert.equal(seen.called, false, "the generator's body never ran");
        assert.equal(seen.iterated, false, "the iterable was never iterated");
      } finally {
        await client.close();
      }
    });
  }

  it("sends no body bytes after the head on the wire", BOUND, async () => {
    const { app, seen } = headApp();
    const server = await serve(app, { port: 0 });
    try {
      const { head, body } = await rawExchange(
        server.port,
        "HEAD /gen HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
      );
      assert.match(head, /^HTTP\/1\.1 200 /);
      assert.equal(headerFields(head).has("content-length"), false);
      assert.equal(body.length, 0);
      assert.equal(seen.called, false);
    } finally {
      await server.close();
    }
  });
});

describe("SSE through the engines", () => {
  it("sends Connection: keep-alive on HTTP/1.1 only", BOUND, async () => {
    const { app } = quietApp();
    app.get("/sse", () => new SSEResponse(["one"]));
    const server = await serve(app, { port: 0 });
    try {
      const v11 = await rawExchange(
        server.port,
        "GET /sse HTTP/1.1\r\nHost: t\r\n\r\n",
        5000,
        chunkedEnd,
      );
      const f11 = headerFields(v11.head);
      assert.deepEqual(f11.get("content-type"), ["text/event-stream; charset=utf-8"]);
      assert.deepEqual(f11.get("cache-control"), ["no-cache"]);
      assert.deepEqual(f11.get("x-accel-buffering"), ["no"]);
      assert.deepEqual(f11.get("connection"), ["keep-alive"]);
      assert.equal(dechunk(v11.body).data.toString(), "data: one\n\n");
      // A client that asked to close is not told the connection stays open.
      const closing = await rawExchange(
        server.port,
        "GET /sse HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
      );
      assert.notDeepEqual(headerFields(closing.head).get("connection"), ["keep-alive"]);
      const v10 = await rawExchange(server.port, "GET /sse HTTP/1.0\r\n\r\n");
      const f10 = headerFields(v10.head);
      assert.notDeepEqual(f10.get("connection"), ["keep-alive"]);
      assert.equal(v10.body.toString(), "data: one\n\n");
    } finally {
      await server.close();
    }
  });

  for (const mode of MODES) {
    it(`splits data at CR, LF and CRLF into several data lines (${mode})`, BOUND, async () => {
      const { app } = quietApp();
      app.get("/sse", () => new SSEResponse(["a\rb\nc\r\nd", { n: 1 }]));
      const client = testClient(app, mode);
      try {
        const raw = await text(await client.fetch("/sse"));
        assert.equal(raw, 'data: a\ndata: b\ndata: c\ndata: d\n\ndata: {"n":1}\n\n');
        const got = [];
        for await (const ev of events(await client.fetch("/sse"))) got.push(ev.data);
        assert.deepEqual(got, ["a\nb\nc\nd", '{"n":1}']);
      } finally {
        await client.close();
      }
    });

    it(`frames event, id, retry and comment fields (${mode})`, BOUND, async () => {
      const { app } = quietApp();
      app.get(
        "/sse",
        () =>
          new SSEResponse([
            sse({ event: "tick", id: 7, retry: 3000, data: { n: 1 } }),
            new ServerSentEvent({ comment: "just a note" }),
            sse({ data: "plain" }),
          ]),
      );
      const client = testClient(app, mode);
      try {
        const got = [];
        for await (const ev of events(await client.fetch("/sse"))) got.push(ev);
        assert.deepEqual(got, [
          { event: "tick", data: '{"n":1}', id: "7", retry: 3000 },
          { event: "message", data: "plain", id: "7", retry: 3000 },
        ]);
      } finally {
        await client.close();
      }
    });

    it(
      `sends a ": ping" comment after the keepalive interval when idle (${mode})`,
      BOUND,
      async () => {
        const { app } = quietApp();
        const release = gate();
        app.get(
          "/sse",
          () =>
            new SSEResponse(
              (async function* () {
                yield "first";
                await release.promise;
                yield "second";
              })(),
              { keepalive: 20 },
            ),
        );
        const client = testClient(app, mode);
        try {
          const decoder = new TextDecoder();
          let raw = "";
          for await (const chunk of chunks(await client.fetch("/sse"))) {
            raw += decoder.decode(chunk, { stream: true });
            if (raw.includes(": ping\n\n")) release.resolve();
          }
          assert.match(raw, /^data: first\n\n(: ping\n\n)+data: second\n\n$/);
        } finally {
          release.resolve();
          await client.close();
        }
      },
    );

    it(`answers a POST that returns an event stream with 405 (${mode})`, BOUND, async () => {
      const { app } = quietApp();
      const seen = { ran: false, teardowns: 0 };
      app.post("/sse", () =>
        new SSEResponse(
          (function* () {
            seen.ran = true;
            yield "never";
          })(),
        ).teardown(() => {
          seen.teardowns++;
        }),
      );
      const client = testClient(app, mode);
      try {
        const res = await client.fetch("/sse", { method: "POST" });
        assert.equal(res.status, 405);
        assert.equal(res.headers.get("allow"), "GET, HEAD");
        assert.equal(res.headers.get("content-type"), "application/problem+json");
        await res.text();
        await until(() => seen.teardowns === 1, 2000, "the refused stream's teardown");
        assert.equal(seen.ran, false);
      } finally {
        await client.close();
      }
    });

    it(`lets a producer resume after req.lastEventId (${mode})`, BOUND, async () => {
      const { app } = quietApp();
      app.get(
        "/ticks",
        (req) =>
          new SSEResponse(
            (function* () {
              const from = Number(req.lastEventId ?? -1) + 1;
              for (let i = from; i < from + 2; i++) yield sse({ id: i, data: `tick ${i}` });
            })(),
          ),
      );
      const client = testClient(app, mode);
      try {
        const fresh = [];
        for await (const ev of events(await client.fetch("/ticks"))) fresh.push(ev.id);
        assert.deepEqual(fresh, ["0", "1"]);
        const resumed = [];
        const res = await client.fetch("/ticks", { headers: { "last-event-id": "41" } });
        for await (const ev of events(res)) resumed.push([ev.id, ev.data]);
        assert.deepEqual(resumed, [
          ["42", "tick 42"],
          ["43", "tick 43"],
        ]);
      } finally {
        await client.close();
      }
    });
  }

  it("refuses CR, LF and NUL in event and id, and a retry that is not an integer", () => {
    for (const bad of ["a\rb", "a\nb", "a\r\nb", "a\0b"]) {
      assert.throws(() => new ServerSentEvent({ event: bad, data: 1 }), TypeError, `event ${bad}`);
      assert.throws(() => new ServerSentEvent({ id: bad, data: 1 }), TypeError, `id ${bad}`);
    }
    for (const retry of [1.5, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(() => new ServerSentEvent({ retry }), TypeError, `retry ${retry}`);
    }
    assert.equal(new ServerSentEvent({ retry: 0 }).retry, 0);
  });

  it("sends the fields an event was checked with, even if they are changed afterwards", async () => {
    const ev = sse({ event: "tick", id: 1, data: "d" });
    // Fields are readonly in the types; plain JavaScript can still write them.
    (ev as { event?: string }).event = "x\nevent: evil";
    const app = new App();
    app.get("/sse", () => new SSEResponse([ev], { keepalive: false }));
    const res = await app.fetch(new Request("http://localhost/sse"));
    assert.equal(await res.text(), "event: tick\nid: 1\ndata: d\n\n");
  });

  for (const mode of MODES) {
    it(
      `sends an EncodedEvent's bytes as they are, from any number of responses (${mode})`,
      BOUND,
      async () => {
        const { app } = quietApp();
        const shared = new EncodedEvent({ id: 3, event: "news", data: { n: 3 } });
        app.get(
          "/sse",
          () => new SSEResponse<unknown>([sse({ data: "first" }), shared], { keepalive: false }),
        );
        const client = testClient(app, mode);
        try {
          for (let k = 0; k < 2; k++) {
            const got = [];
            for await (const ev of events(await client.fetch("/sse"))) got.push(ev);
            assert.deepEqual(got, [
              { event: "message", data: "first", id: "" },
              { event: "news", data: '{"n":3}', id: "3" },
            ]);
          }
          assert.throws(() => new EncodedEvent({ event: "a\nb", data: 1 }), SSEFormatError);
        } finally {
          await client.close();
        }
      },
    );

    it(`never frames an injected field yielded as a plain event (${mode})`, BOUND, async () => {
      const { app, errors } = quietApp();
      app.get(
        "/sse",
        () =>
          new SSEResponse(
            (function* () {
              yield sse({ data: "ok" });
              // Not a ServerSentEvent: a plain object is data, sent as JSON on one line.
              yield { event: "x\nevent: evil" };
            })(),
          ),
      );
      const client = testClient(app, mode);
      try {
        const got = [];
        for await (const ev of events(await client.fetch("/sse"))) got.push(ev);
        assert.deepEqual(got, [
          { event: "message", data: "ok", id: "" },
          { event: "message", data: '{"event":"x\\nevent: evil"}', id: "" },
        ]);
        assert.equal(errors.length, 0);
      } finally {
        await client.close();
      }
    });
  }
});

describe("NDJSON through the engines", () => {
  const positive: StandardSchemaV1<unknown, { n: number }> = {
    "~standard": {
      version: 1,
      vendor: "test",
      validate: (v) =>
        typeof v === "object" && v !== null && typeof (v as { n?: unknown }).n === "number"
          ? { value: v as { n: number } }
          : { issues: [{ message: "n must be a number", path: ["n"] }] },
    },
  };

  for (const mode of MODES) {
    it(`sends one compact JSON value per line (${mode})`, BOUND, async () => {
      const { app } = quietApp();
      app.get("/rows", () => new NDJSONResponse([{ a: 1, s: "x\ny" }, [1, 2], "three", null]));
      const client = testClient(app, mode);
      try {
        const res = await client.fetch("/rows");
        assert.equal(res.headers.get("content-type"), "application/x-ndjson");
        assert.equal(await text(res), '{"a":1,"s":"x\\ny"}\n[1,2]\n"three"\nnull\n');
      } finally {
        await client.close();
      }
    });

    it(`offers application/jsonl as the media type (${mode})`, BOUND, async () => {
      const { app } = quietApp();
      app.get("/rows", () => new NDJSONResponse([1], { mediaType: "application/jsonl" }));
      const client = testClient(app, mode);
      try {
        const res = await client.fetch("/rows");
        assert.equal(res.headers.get("content-type"), "application/jsonl");
        assert.equal(await text(res), "1\n");
      } finally {
        await client.close();
      }
    });

    it(`treats an item failing its schema as a mid-stream error (${mode})`, BOUND, async () => {
      const { app, errors } = quietApp();
      app.get(
        "/rows",
        () =>
          new NDJSONResponse<{ n: number }>([{ n: 1 }, { n: "two" } as never], {
            schema: positive,
          }),
      );
      const client = testClient(app, mode);
      try {
        const res = await client.fetch("/rows");
        assert.equal(res.status, 200);
        const got: unknown[] = [];
        await assert.rejects(async () => {
          for await (const row of ndjson(res)) got.push(row);
        }, "the client sees the body cut short");
        assert.deepEqual(got, [{ n: 1 }]);
        await until(() => errors.length === 1, 2000, "the error hook");
        assert.equal(errors[0]!.context.phase, "stream");
        assert.ok(errors[0]!.error instanceof SchemaError);
      } finally {
        await client.close();
      }
    });
  }
});

describe("CSV through the engines", () => {
  for (const mode of MODES) {
    it(
      `quotes per RFC 4180, ends rows with CRLF and offers a download (${mode})`,
      BOUND,
      async () => {
        const { app } = quietApp();
        app.get(
          "/people.csv",
          () =>
            new CSVResponse(
              (async function* () {
                yield { name: "Ada, Countess", note: 'said "hi"' };
                yield { name: "multi\nline", note: 3 };
                yield ["array", null];
              })(),
              { columns: ["name", "note"], filename: "people ☃.csv" },
            ),
        );
        const client = testClient(app, mode);
        try {
          const res = await client.fetch("/people.csv");
          assert.equal(res.headers.get("content-type"), "text/csv; charset=utf-8; header=present");
          const disposition = res.headers.get("content-disposition") ?? "";
          assert.match(disposition, /^attachment; filename="people _.csv"/);
          assert.match(disposition, /filename\*=UTF-8''people%20%E2%98%83\.csv/);
          assert.equal(
            await text(res),
            'name,note\r\n"Ada, Countess","said ""hi"""\r\n"multi\nline",3\r\narray,\r\n',
          );
        } finally {
          await client.close();
        }
      },
    );

    it(`sends the header row also when there are no rows (${mode})`, BOUND, async () => {
      const { app } = quietApp();
      app.get("/empty.csv", () => new CSVResponse([], { columns: ["a", "b"] }));
      app.get("/bare.csv", () => new CSVResponse([{ x: 1, y: 2 }]));
      const client = testClient(app, mode);
      try {
        assert.equal(await text(await client.fetch("/empty.csv")), "a,b\r\n");
        assert.equal(await text(await client.fetch("/bare.csv")), "x,y\r\n1,2\r\n");
      } finally {
        await client.close();
      }
    });
  }
});

describe("stream sources", () => {
  const bytes = (s: string) => new TextEncoder().encode(s);
  const sources: [
    string,
    () => ConstructorParameters<typeof StreamingResponse<string | Uint8Array>>[0],
  ][] = [
    ["a sync iterable", () => ["one,", bytes("two,"), "☃"]],
    [
      "an async generator",
      () =>
        (async function* () {
          yield "one,";
          await new Promise((r) => setTimeout(r, 1));
          yield bytes("two,");
          yield "☃";
        })(),
    ],
    [
      "a web ReadableStream",
      () =>
        new ReadableStream<string | Uint8Array>({
          start(c) {
            c.enqueue("one,");
            c.enqueue(bytes("two,"));
            c.enqueue(bytes("☃"));
            c.close();
          },
        }),
    ],
    ["a Node Readable", () => Readable.from([bytes("one,"), "two,", bytes("☃")])],
  ];
  for (const mode of MODES) {
    for (const [name, make] of sources) {
      it(`streams ${name} of string and byte chunks (${mode})`, BOUND, async () => {
        const { app } = quietApp();
        app.get("/s", () => new StreamingResponse(make()));
        const client = testClient(app, mode);
        try {
          const res = await client.fetch("/s");
          assert.equal(res.headers.get("content-type"), "application/octet-stream");
          assert.equal(await text(res), "one,two,☃");
        } finally {
          await client.close();
        }
      });
    }
  }
});

describe("test client readers", () => {
  function readerApp() {
    const { app } = quietApp();
    const state = { finallies: 0, produced: 0 };
    app.get(
      "/ndjson",
      (req) =>
        new NDJSONResponse(
          (async function* () {
            try {
              for (let i = 0; ; i++) {
                state.produced++;
                yield { i };
                await new Promise((r) => setTimeout(r, 1));
                req.signal.throwIfAborted();
              }
            } finally {
              state.finallies++;
            }
          })(),
        ),
    );
    app.get("/sse", () => new SSEResponse(["a", sse({ event: "e", data: "b\nc" })]));
    app.get("/lines", () => new StreamingResponse(["x\r\ny", "\nz"]));
    return { app, state };
  }

  async function observe(mode: (typeof MODES)[number]) {
    const { app, state } = readerApp();
    const client = testClient(app, mode);
    try {
      const got: unknown[] = [];
      for await (const row of ndjson<{ i: number }>(await client.fetch("/ndjson"))) {
        got.push(row);
        if (row.i === 2) break;
      }
      await within(
        until(() => state.finallies === 1, 3000, "the producer's finally"),
        4000,
        "abort after break",
      );
      const evs = [];
      for await (const ev of events(await client.fetch("/sse"))) evs.push(ev);
      const ls = [];
      for await (const line of lines(await client.fetch("/lines"))) ls.push(line);
      return { got, evs, ls, stats: { ...app.stats.streams } };
    } finally {
      await client.close();
    }
  }

  it(
    "read the same values in memory and over a socket, and break = disconnect",
    BOUND,
    async () => {
      const memory = await observe("memory");
      const socket = await observe("socket");
      assert.deepEqual(memory.got, [{ i: 0 }, { i: 1 }, { i: 2 }]);
      assert.deepEqual(memory.evs, [
        { event: "message", data: "a", id: "" },
        { event: "e", data: "b\nc", id: "" },
      ]);
      assert.deepEqual(memory.ls, ["x", "y", "z"]);
      assert.deepEqual(socket, memory);
      assert.equal(memory.stats.aborted, 1, "the broken-off stream counts as aborted");
      assert.equal(memory.stats.active, 0);
    },
  );
});
