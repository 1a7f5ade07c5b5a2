/**
 * HTTP/2 on the wire (issue 13): ALPN beside HTTP/1.1 on one port, h2c, the settings, the
 * fields HTTP/2 forbids, RST_STREAM in both directions, flow control as backpressure, graceful
 * shutdown with GOAWAY, and the known abuse patterns (rapid reset, PING/SETTINGS/CONTINUATION
 * floods, HPACK bombs). The same responses through the e2e suites run in their "h2" mode.
 */
import assert from "node:assert/strict";
import type { ClientHttp2Session, ClientHttp2Stream, IncomingHttpHeaders } from "node:http2";
import { request as httpsRequest } from "node:https";
import { connect as netConnect } from "node:net";
import { describe, it } from "node:test";
import { setImmediate as tick } from "node:timers/promises";
import {
  App,
  JSONResponse,
  NDJSONResponse,
  SSEResponse,
  StreamingResponse,
  sse,
  TextResponse,
} from "../src/index.ts";
import { type AnyServer, type RunningServer, type ServeOptions, serve } from "../src/node/index.ts";
import { BOUND, testCertificate } from "./helpers/app.ts";
import {
  h2Connect,
  h2Request,
  NGHTTP2_CANCEL,
  NGHTTP2_INTERNAL_ERROR,
  NGHTTP2_NO_ERROR,
  tlsGet,
} from "./helpers/h2.ts";
import {
  CODE,
  errorCode,
  FLAG,
  FRAME,
  frame,
  H2Wire,
  indexed,
  literal,
  pingFrame,
  requestBlock,
  rstFrame,
  settingsFrame,
} from "./helpers/h2-frames.ts";
import { gate, settled, until, within } from "./helpers/wait.ts";

/** Serves over TLS (h2 and HTTP/1.1 by ALPN) with the test certificate. */
function serveTLS(app: App, options: ServeOptions = {}): Promise<RunningServer<AnyServer>> {
  return serve(app, { port: 0, tls: testCertificate(), ...options });
}

function connectTLS(server: RunningServer<AnyServer>): Promise<ClientHttp2Session> {
  return h2Connect(server.url, { ca: testCertificate().cert });
}

/** Opens a stream and waits for its response head. */
function open(
  session: ClientHttp2Session,
  path: string,
  method = "GET",
): Promise<{ stream: ClientHttp2Stream; head: IncomingHttpHeaders }> {
  const stream = session.request({ ":method": method, ":path": path }, { endStream: true });
  stream.on("error", () => {});
  return within(
    new Promise((resolve, reject) => {
      stream.once("response", (head) => resolve({ stream, head }));
      stream.once("close", () => reject(new Error(`${path} closed (code ${stream.rstCode})`)));
    }),
    5000,
    `the response head of ${path}`,
  );
}

/** Waits for a client stream to close; resolves with its code. */
function closed(stream: ClientHttp2Stream, ms = 5000): Promise<number> {
  return within(
    new Promise<number>((resolve) => {
      if (stream.closed && stream.destroyed) resolve(stream.rstCode ?? NGHTTP2_NO_ERROR);
      else stream.once("close", () => resolve(stream.rstCode ?? NGHTTP2_NO_ERROR));
    }),
    ms,
    "the stream to close",
  );
}

/** A stream that yields one line and then waits, until the request's signal ends its wait. */
function lingerApp() {
  const counts = { teardowns: 0, handled: 0 };
  const app = new App().onError(() => {});
  app.get("/linger", (req) =>
    new NDJSONResponse(
      (async function* () {
        yield { i: 0 };
        await new Promise((resolve) => req.signal.addEventListener("abort", resolve));
      })(),
    ).teardown(() => {
      counts.teardowns++;
    }),
  );
  return { app, counts };
}

describe("HTTP/2 and HTTP/1.1 on one TLS port", () => {
  const app = new App();
  app.get("/json", () => ({ hello: "world" }));
  app.get("/version", (req) => new TextResponse(req.httpVersion));

  it("negotiates h2 by ALPN and answers as over HTTP/1.1", BOUND, async () => {
    const server = await serveTLS(app);
    const session = await connectTLS(server);
    try {
      assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      assert.equal(session.alpnProtocol, "h2");
      const h2 = await h2Request(session, "GET", "/json");
      const h1 = await within(
        new Promise<{ status: number; type: string; body: string; version: string }>((resolve) => {
          httpsRequest(`${server.url}/json`, { ca: testCertificate().cert }, (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (d: string) => {
              body += d;
            });
            res.on("end", () =>
              resolve({
                status: res.statusCode!,
                type: res.headers["content-type"]!,
                body,
                version: res.httpVersion,
              }),
            );
          }).end();
        }),
        5000,
        "the HTTP/1.1 answer",
      );
      assert.equal(h1.version, "1.1");
      assert.equal(h2.status, h1.status);
      assert.equal(h2.headers["content-type"], h1.type);
      assert.equal(h2.body.toString(), h1.body);
      assert.equal((await h2Request(session, "GET", "/version")).body.toString(), "2.0");
    } finally {
      session.close();
      await server.close();
    }
  });

  it("answers HTTP/1.1 to a client that offers no ALPN, or only http/1.1", BOUND, async () => {
    const server = await serveTLS(app);
    try {
      for (const alpn of [undefined, ["http/1.1"]]) {
        const { protocol, raw } = await tlsGet(server.port, "/version", alpn);
        assert.equal(protocol, alpn ? "http/1.1" : false);
        assert.match(raw, /^HTTP\/1\.1 200 /);
        assert.match(raw, /\r\n\r\n1\.1$/);
      }
    } finally {
      await server.close();
    }
  });

  it("truncates a close-delimited HTTP/1.0 body over TLS, and keeps serving", BOUND, async () => {
    const failing = new App().onError(() => {});
    failing.get(
      "/midway",
      () =>
        new NDJSONResponse(
          (async function* () {
            yield { n: 1 };
            await tick();
            throw new Error("midway");
          })(),
        ),
    );
    failing.get("/json", () => ({ ok: true }));
    const server = await serveTLS(failing);
    try {
      // The body ends at the close: the TCP connection under TLS is reset, so the client sees an
      // error, never a clean close that would read as the whole body. (A reset may also drop what
      // the client had not read yet: the error is what is promised.)
      const cut = await tlsGet(server.port, "/midway", ["http/1.1"], undefined, "1.0");
      assert.equal(cut.error, "ECONNRESET", "the cut read as a clean close");
      if (cut.raw !== "") assert.match(cut.raw, /^HTTP\/1\.1 200 /);
      const after = await tlsGet(server.port, "/json", ["http/1.1"]);
      assert.match(after.raw, /\{"ok":true\}$/);
    } finally {
      await server.close();
    }
  });

  it("requires h2 with allowHTTP1: false", BOUND, async () => {
    const server = await serveTLS(app, { http2: { allowHTTP1: false } });
    const session = await connectTLS(server);
    try {
      assert.equal((await h2Request(session, "GET", "/json")).status, 200);
      const { raw } = await tlsGet(server.port, "/json");
      assert.doesNotMatch(raw, /^HTTP\/1\.1 200/);
    } finally {
      session.close();
      await server.close();
    }
  });

  it("serves HTTPS over HTTP/1.1 only with http2: false", BOUND, async () => {
    const server = await serveTLS(app, { http2: false });
    try {
      const { protocol, raw } = await tlsGet(server.port, "/version", ["h2", "http/1.1"]);
      assert.equal(protocol, "http/1.1");
      assert.match(raw, /\r\n\r\n1\.1$/);
    } finally {
      await server.close();
    }
  });

  it("refuses options that contradict each other", async () => {
    await assert.rejects(serve(app, { port: 0, h2c: true, tls: testCertificate() }), TypeError);
    await assert.rejects(serve(app, { port: 0, h2c: true, http2: false }), TypeError);
  });
});

describe("h2c", () => {
  it(
    "serves cleartext HTTP/2 to a client with prior knowledge, and not HTTP/1.1",
    BOUND,
    async () => {
      const app = new App();
      app.get("/json", () => ({ hello: "world" }));
      const server = await serve(app, { port: 0, h2c: true });
      const session = await h2Connect(server.url);
      try {
        assert.match(server.url, /^http:\/\//);
        const res = await h2Request(session, "GET", "/json");
        assert.equal(res.status, 200);
        assert.deepEqual(JSON.parse(res.body.toString()), { hello: "world" });
        // An HTTP/1.1 request is not a connection preface: no HTTP/1.1 answer comes back.
        const wire = await H2Wire.open(server.port);
        wire.destroy();
        const { rawExchange } = await import("./helpers/raw-http.ts");
        const { raw } = await rawExchange(
          server.port,
          "GET /json HTTP/1.1\r\nHost: x\r\n\r\n",
          2000,
        );
        assert.doesNotMatch(raw.toString("latin1"), /HTTP\/1\.1 200/);
      } finally {
        session.close();
        await server.close();
      }
    },
  );
});

describe("settings", () => {
  it(
    "advertises 128 streams, a 65535-byte window and a 16 KiB header list by default",
    BOUND,
    async () => {
      const server = await serve(new App(), { port: 0, h2c: true });
      const session = await h2Connect(server.url);
      try {
        await until(
          () => session.remoteSettings.maxConcurrentStreams !== 4294967295,
          2000,
          "SETTINGS",
        );
        assert.equal(session.remoteSettings.maxConcurrentStreams, 128);
        assert.equal(session.remoteSettings.initialWindowSize, 65535);
        assert.equal(session.remoteSettings.maxHeaderListSize, 16384);
      } finally {
        session.close();
        await server.close();
      }
    },
  );

  it("advertises the settings it is given", BOUND, async () => {
    const server = await serve(new App(), {
      port: 0,
      h2c: true,
      http2: { maxConcurrentStreams: 250, initialWindowSize: 1 << 20, maxHeaderListSize: 32768 },
    });
    const session = await h2Connect(server.url);
    try {
      assert.equal(session.remoteSettings.maxConcurrentStreams, 250);
      assert.equal(session.remoteSettings.initialWindowSize, 1 << 20);
      assert.equal(session.remoteSettings.maxHeaderListSize, 32768);
    } finally {
      session.close();
      await server.close();
    }
  });

  it("serves 120 event streams at once on one connection", { timeout: 20_000 }, async () => {
    const app = new App().onError(() => {});
    app.get(
      "/sse",
      (req) =>
        new SSEResponse(
          (async function* () {
            for (let i = 0; ; i++) {
              yield sse({ id: i, data: { i } });
              await new Promise((r) => setTimeout(r, 50));
              if (req.signal.aborted) return;
            }
          })(),
        ),
    );
    const server = await serveTLS(app);
    const session = await connectTLS(server);
    try {
      const streams = await Promise.all(
        Array.from({ length: 120 }, () =>
          open(session, "/sse").then(
            ({ stream }) =>
              new Promise<ClientHttp2Stream>((resolve) => {
                stream.once("data", () => resolve(stream));
              }),
          ),
        ),
      );
      assert.equal(streams.length, 120);
      assert.equal(app.stats.streams.active, 120);
      for (const s of streams) s.close(NGHTTP2_CANCEL);
      await until(() => app.stats.streams.active === 0, 5000, "every stream to end");
      assert.equal(app.stats.streams.aborted, 120);
    } finally {
      session.close();
      await server.close();
    }
  });

  it("holds a client to maxConcurrentStreams", BOUND, async () => {
    const held = gate();
    let entered = 0;
    const app = new App();
    app.get("/hold", async () => {
      entered++;
      await held.promise;
      return { ok: true };
    });
    const server = await serve(app, { port: 0, h2c: true, http2: { maxConcurrentStreams: 2 } });
    const session = await h2Connect(server.url);
    const wire = await H2Wire.open(server.port);
    try {
      // A client that keeps to the limit queues its third request until one ends.
      assert.equal(session.remoteSettings.maxConcurrentStreams, 2);
      const pending = Array.from({ length: 3 }, () => h2Request(session, "GET", "/hold"));
      await until(() => entered === 2, 2000, "two handlers");
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(entered, 2, "a third stream reached the app");
      // One that goes past it, after acknowledging the limit, breaks the protocol: its connection
      // is closed (RFC 9113 §5.1.2), and its extra stream never reaches the app.
      await wire.next((f) => f.type === FRAME.SETTINGS && !(f.flags & FLAG.ACK), 2000, "SETTINGS");
      await new Promise((r) => setTimeout(r, 50));
      const headers = (id: number) =>
        frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, id, requestBlock("/hold"));
      await wire.send(headers(1), headers(3), headers(5));
      await within(wire.closed, 3000, "the server to close the connection");
      assert.equal(errorCode(wire.goaway()!), CODE.PROTOCOL_ERROR);
      assert.equal(entered, 4);
      held.resolve();
      for (const res of await Promise.all(pending)) assert.equal(res.status, 200);
      assert.equal(entered, 5);
    } finally {
      held.resolve();
      session.close();
      wire.destroy();
      await server.close();
    }
  });
});

describe("request fields", () => {
  it(
    "joins the cookie fields a browser sends apart, and takes Host from :authority",
    BOUND,
    async () => {
      const app = new App();
      app.get("/who", (req) => ({
        cookies: req.cookies,
        cookie: req.header("cookie"),
        host: req.header("host"),
        headers: req.headers,
      }));
      const server = await serve(app, { port: 0, h2c: true });
      const wire = await H2Wire.open(server.port);
      try {
        // RFC 9113 §8.2.3: a client may split Cookie into one field per pair, to compress better.
        await wire.send(
          frame(
            FRAME.HEADERS,
            FLAG.END_HEADERS | FLAG.END_STREAM,
            1,
            requestBlock("/who", "GET", [literal("cookie", "a=1"), literal("cookie", "b=2")]),
          ),
        );
        await wire.next(
          (f) => f.type === FRAME.DATA && f.stream === 1 && (f.flags & FLAG.END_STREAM) !== 0,
          3000,
          "the answer",
        );
        const body = Buffer.concat(
          wire.frames.filter((f) => f.type === FRAME.DATA && f.stream === 1).map((f) => f.payload),
        );
        const got = JSON.parse(body.toString()) as {
          cookies: Record<string, string>;
          cookie: string;
          host: string;
          headers: Record<string, string>;
        };
        assert.deepEqual(got.cookies, { a: "1", b: "2" });
        assert.equal(got.cookie, "a=1; b=2");
        assert.equal(got.host, "127.0.0.1");
        assert.equal(got.headers.host, "127.0.0.1");
        assert.ok(!Object.keys(got.headers).some((k) => k.startsWith(":")), "a pseudo-header");
      } finally {
        wire.destroy();
        await server.close();
      }
    },
  );
});

describe("fields HTTP/2 forbids", () => {
  const FORBIDDEN = [
    "connection",
    "keep-alive",
    "transfer-encoding",
    "upgrade",
    "proxy-connection",
    "te",
  ];
  const app = new App();
  // A middleware that sets every connection-specific field, some in upper case, on any response.
  app.use(async (_req, next) => {
    const res = await next();
    res.headers.connection = "keep-alive";
    res.headers["Keep-Alive"] = "timeout=5";
    res.headers["transfer-encoding"] = "chunked";
    res.headers.upgrade = "websocket";
    res.headers["Proxy-Connection"] = "keep-alive";
    res.headers.te = "trailers";
    return res;
  });
  app.get("/json", () => new JSONResponse({ ok: true }));
  app.get("/ndjson", () => new NDJSONResponse([{ i: 0 }, { i: 1 }]));
  app.get("/sse", () => new SSEResponse([sse({ data: "one" })], { keepalive: false }));
  app.get("/plain-sse", () => new SSEResponse([sse({ data: "one" })], { keepalive: false }));

  it(
    "are never sent, whatever a middleware set, on buffered and streamed bodies",
    BOUND,
    async () => {
      const server = await serveTLS(app);
      const session = await connectTLS(server);
      try {
        for (const path of ["/json", "/ndjson", "/sse"]) {
          const res = await h2Request(session, "GET", path);
          assert.equal(res.status, 200, path);
          assert.equal(res.ended, true, path);
          for (const name of FORBIDDEN)
            assert.equal(res.headers[name], undefined, `${path}: ${name}`);
        }
      } finally {
        session.close();
        await server.close();
      }
    },
  );

  it(
    "leave an event stream without Connection on h2, with keep-alive on HTTP/1.1",
    BOUND,
    async () => {
      const plain = new App();
      plain.get("/sse", () => new SSEResponse([sse({ data: "one" })], { keepalive: false }));
      const server = await serveTLS(plain);
      const session = await connectTLS(server);
      try {
        const h2 = await h2Request(session, "GET", "/sse");
        assert.equal(h2.headers.connection, undefined);
        assert.equal(h2.headers["content-type"], "text/event-stream; charset=utf-8");
        assert.equal(h2.body.toString(), "data: one\n\n");
        const { raw } = await tlsGet(server.port, "/sse", ["http/1.1"]);
        assert.match(raw, /\r\nconnection: (?:keep-alive|close)\r\n/i);
      } finally {
        session.close();
        await server.close();
      }
    },
  );
});

describe("RST_STREAM", () => {
  it(
    "ends a stream whose producer fails midway with INTERNAL_ERROR, after what it wrote",
    BOUND,
    async () => {
      const app = new App().onError(() => {});
      app.get(
        "/midway",
        () =>
          new NDJSONResponse(
            (async function* () {
              yield { n: 1 };
              yield { n: 2 };
              await tick();
              throw new Error("midway");
            })(),
          ),
      );
      const server = await serve(app, { port: 0, h2c: true });
      const session = await h2Connect(server.url);
      const wire = await H2Wire.open(server.port);
      try {
        const res = await h2Request(session, "GET", "/midway");
        assert.equal(res.status, 200);
        assert.equal(res.ended, false, "a failed stream ended with END_STREAM");
        assert.equal(res.rstCode, NGHTTP2_INTERNAL_ERROR);
        assert.equal(res.body.toString(), '{"n":1}\n{"n":2}\n');
        // On the wire: DATA without END_STREAM, then RST_STREAM INTERNAL_ERROR, never NO_ERROR.
        await wire.send(
          frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 1, requestBlock("/midway")),
        );
        const rst = await wire.next((f) => f.type === FRAME.RST_STREAM, 3000, "RST_STREAM");
        assert.equal(errorCode(rst), CODE.INTERNAL_ERROR);
        const data = wire.frames.filter((f) => f.type === FRAME.DATA && f.stream === 1);
        assert.ok(data.length > 0);
        assert.ok(
          data.every((f) => !(f.flags & FLAG.END_STREAM)),
          "END_STREAM before the reset",
        );
        assert.equal(app.stats.streams.errored, 2);
      } finally {
        session.close();
        wire.destroy();
        await server.close();
      }
    },
  );

  it("ends a stream the client resets as aborted within 2 s, its teardown run", BOUND, async () => {
    const { app, counts } = lingerApp();
    const server = await serveTLS(app);
    const session = await connectTLS(server);
    try {
      const { stream } = await open(session, "/linger");
      await within(new Promise((resolve) => stream.once("data", resolve)), 2000, "the first line");
      assert.equal(app.stats.streams.active, 1);
      stream.close(NGHTTP2_CANCEL);
      await until(() => counts.teardowns === 1, 2000, "the teardown");
      assert.deepEqual(app.stats.streams, {
        started: 1,
        completed: 0,
        aborted: 1,
        errored: 0,
        active: 0,
      });
      assert.equal(app.stats.teardowns, 1);
    } finally {
      session.close();
      await server.close();
    }
  });

  it("aborts the request's signal when the client resets before the answer", BOUND, async () => {
    const app = new App();
    const entered = gate();
    const aborted = gate<unknown>();
    app.get("/wait", (req) => {
      entered.resolve();
      req.signal.addEventListener("abort", () => aborted.resolve(req.signal.reason));
      return new Promise(() => {});
    });
    const server = await serve(app, { port: 0, h2c: true });
    const session = await h2Connect(server.url);
    try {
      const stream = session.request({ ":path": "/wait" }, { endStream: true });
      stream.on("error", () => {});
      await within(entered.promise, 2000, "the handler");
      stream.close(NGHTTP2_CANCEL);
      const reason = await within(aborted.promise, 2000, "the abort");
      assert.match(String(reason), /reset/);
    } finally {
      session.close();
      await server.close();
    }
  });

  it(
    "reads an upload the client resets midway as cut short (400), not a server error",
    BOUND,
    async () => {
      const app = new App();
      const reports: unknown[] = [];
      app.onError((error) => reports.push(error));
      const outcome = gate<unknown>();
      const reading = gate();
      app.post("/upload", async (req) => {
        reading.resolve();
        try {
          await req.bytes();
          outcome.resolve("complete");
        } catch (err) {
          outcome.resolve(err);
        }
        return { ok: true };
      });
      const server = await serve(app, { port: 0, h2c: true });
      // node:http2's client ends its side (END_STREAM) before it resets: a raw one does not.
      const wire = await H2Wire.open(server.port);
      try {
        await wire.send(
          frame(FRAME.HEADERS, FLAG.END_HEADERS, 1, requestBlock("/upload", "POST")),
          frame(FRAME.DATA, 0, 1, Buffer.alloc(1000)),
        );
        await within(reading.promise, 2000, "the handler to read");
        await new Promise((r) => setTimeout(r, 20));
        await wire.send(rstFrame(1, CODE.CANCEL));
        const err = (await within(outcome.promise, 2000, "the read to end")) as {
          message?: string;
          status?: number;
        };
        assert.equal(err.status, 400, String(err.message ?? err));
        assert.deepEqual(reports, []);
      } finally {
        wire.destroy();
        await server.close();
      }
    },
  );

  it("aborts every stream of a connection that goes away", BOUND, async () => {
    const { app, counts } = lingerApp();
    const server = await serve(app, { port: 0, h2c: true });
    // The socket is ours to cut: a session only lends a proxy that refuses it.
    const socket = netConnect(server.port, "127.0.0.1");
    const session = await h2Connect(server.url, { createConnection: () => socket });
    try {
      for (let i = 0; i < 3; i++) {
        const { stream } = await open(session, "/linger");
        await within(new Promise((r) => stream.once("data", r)), 2000, "a first line");
      }
      socket.destroy();
      await until(() => counts.teardowns === 3, 2000, "three teardowns");
      assert.equal(app.stats.streams.aborted, 3);
      assert.equal(app.stats.streams.active, 0);
    } finally {
      session.destroy();
      await server.close();
    }
  });
});

describe("a producer that ignores the signal", () => {
  it(
    "ends a reset stream whose producer is stuck in an await: aborted at once, teardown run",
    BOUND,
    async () => {
      const app = new App().onError(() => {});
      let teardowns = 0;
      app.get("/stall", () =>
        new NDJSONResponse(
          (async function* () {
            yield { i: 0 };
            await new Promise<never>(() => {});
          })(),
        ).teardown(() => {
          teardowns++;
        }),
      );
      const server = await serve(app, { port: 0, h2c: true, shutdownTimeout: 0 });
      const session = await h2Connect(server.url);
      try {
        const { stream } = await open(session, "/stall");
        await within(new Promise((r) => stream.once("data", r)), 2000, "the first line");
        assert.equal(app.stats.streams.active, 1);
        stream.close(NGHTTP2_CANCEL);
        await until(() => app.stats.streams.active === 0, 2000, "the stream to end");
        assert.equal(app.stats.streams.aborted, 1);
        assert.equal(teardowns, 1);
      } finally {
        session.destroy();
        await server.close();
      }
    },
  );
});

describe("flow control", () => {
  it("holds a stream whose reader stops while other streams on the connection move", {
    timeout: 20_000,
  }, async () => {
    const app = new App().onError(() => {});
    let pulls = 0;
    let finallies = 0;
    app.get(
      "/endless",
      () =>
        new StreamingResponse(
          (async function* () {
            try {
              for (;;) {
                pulls++;
                yield new Uint8Array(16 * 1024);
              }
            } finally {
              finallies++;
            }
          })(),
        ),
    );
    app.get("/rows", () => new NDJSONResponse(Array.from({ length: 5000 }, (_, i) => ({ i }))));
    const server = await serve(app, { port: 0, h2c: true });
    const session = await h2Connect(server.url);
    try {
      const { stream } = await open(session, "/endless");
      // Not read: the stream's window closes, the writer stops pulling.
      const stalled = await settled(() => pulls, 200, 8000);
      // The client's window (64 KiB) and the buffers on the way hold a bounded amount.
      assert.ok(stalled * 16 * 1024 < 4 * 1024 * 1024, `pulled ${stalled} chunks of 16 KiB`);
      // Another stream on the same connection still moves, in full.
      const rows = await h2Request(session, "GET", "/rows");
      assert.equal(rows.body.toString().split("\n").length, 5001);
      assert.equal(pulls, stalled, "the stopped stream was pulled while it was not read");
      // Reading again opens the window: the producer is pulled again.
      stream.resume();
      await until(() => pulls > stalled + 20, 5000, "the producer to be pulled again");
      stream.close(NGHTTP2_CANCEL);
      await until(() => finallies === 1, 3000, "the producer's finally");
    } finally {
      session.close();
      await server.close();
    }
  });

  it("asks the client to stop sending once it answered a body over the limit", BOUND, async () => {
    const app = new App();
    app.post("/small", { bodyLimit: 1024 }, async (req) => ({ got: (await req.bytes()).length }));
    app.post("/ignore", () => ({ ignored: true }));
    const server = await serve(app, { port: 0, h2c: true });
    const session = await h2Connect(server.url);
    try {
      // Far more than the stream's window: without a reset the upload would wait forever.
      const big = new Uint8Array(4 * 1024 * 1024);
      const over = await h2Request(session, "POST", "/small", {}, big);
      assert.equal(over.status, 413);
      assert.equal(over.rstCode, NGHTTP2_NO_ERROR);
      const ignored = await h2Request(session, "POST", "/ignore", {}, big);
      assert.equal(ignored.status, 200);
      assert.equal(ignored.rstCode, NGHTTP2_NO_ERROR);
      // The connection is still good.
      assert.equal((await h2Request(session, "POST", "/small", {}, "tiny")).status, 200);
    } finally {
      session.close();
      await server.close();
    }
  });
});

describe("graceful shutdown", () => {
  it(
    "sends GOAWAY (NO_ERROR), takes no new stream, lets an in-flight request finish",
    BOUND,
    async () => {
      const release = gate();
      const entered = gate();
      const app = new App();
      app.get("/slow", async () => {
        entered.resolve();
        await release.promise;
        return { done: true };
      });
      const server = await serveTLS(app, { shutdownTimeout: 5000 });
      const session = await connectTLS(server);
      try {
        const goaway = new Promise<number>((resolve) => session.once("goaway", resolve));
        const pending = h2Request(session, "GET", "/slow");
        await within(entered.promise, 2000, "the handler");
        const closing = server.close();
        assert.equal(await within(goaway, 2000, "GOAWAY"), NGHTTP2_NO_ERROR);
        // A new stream on that connection is not served.
        await assert.rejects(h2Request(session, "GET", "/slow"));
        release.resolve();
        const res = await pending;
        assert.equal(res.status, 200);
        assert.deepEqual(JSON.parse(res.body.toString()), { done: true });
        await within(closing, 3000, "close() to resolve");
      } finally {
        release.resolve();
        session.destroy();
      }
    },
  );

  it(
    "ends open event streams cleanly at shutdown (END_STREAM), even stuck ones; counted aborted, teardown run",
    BOUND,
    async () => {
      const app = new App().onError(() => {});
      let teardowns = 0;
      app.get("/sse", () =>
        new SSEResponse(
          (async function* () {
            yield sse({ id: 0, data: { i: 0 } });
            // Stuck in an await that ignores the request's signal.
            await new Promise<never>(() => {});
          })(),
        ).teardown(() => {
          teardowns++;
        }),
      );
      const server = await serveTLS(app, { shutdownTimeout: 8000 });
      const session = await connectTLS(server);
      try {
        const streams: ClientHttp2Stream[] = [];
        const bodies: string[] = [];
        for (let i = 0; i < 3; i++) {
          const { stream } = await open(session, "/sse");
          bodies.push("");
          stream.setEncoding("utf8");
          const k = i;
          const first = new Promise((r) => stream.once("data", r));
          stream.on("data", (d: string) => {
            bodies[k] += d;
          });
          await within(first, 2000, "a first event");
          streams.push(stream);
        }
        const ends = streams.map(
          (s) => new Promise<boolean>((resolve) => s.once("end", () => resolve(true))),
        );
        await within(server.close(), 3000, "close() to end the event streams");
        assert.equal(teardowns, 3);
        assert.equal(app.stats.streams.active, 0);
        assert.equal(app.stats.streams.aborted, 3);
        for (const s of streams) assert.equal(await closed(s, 2000), NGHTTP2_NO_ERROR);
        // A clean END_STREAM, after the event that was sent.
        assert.deepEqual(await within(Promise.all(ends), 2000, "END_STREAM"), [true, true, true]);
        for (const body of bodies) assert.match(body, /^id: 0\ndata: \{"i":0\}\n\n/);
      } finally {
        session.destroy();
      }
    },
  );

  it("gives a finite stream shutdownTimeout to finish, whole", BOUND, async () => {
    const app = new App().onError(() => {});
    app.get(
      "/slow",
      () =>
        new NDJSONResponse(
          (async function* () {
            for (let i = 0; i < 5; i++) {
              yield { i };
              await new Promise((r) => setTimeout(r, 60));
            }
          })(),
        ),
    );
    const server = await serve(app, { port: 0, h2c: true, shutdownTimeout: 5000 });
    const session = await h2Connect(server.url);
    try {
      const { stream } = await open(session, "/slow");
      let body = "";
      stream.setEncoding("utf8");
      stream.on("data", (d: string) => {
        body += d;
      });
      const ended = new Promise<boolean>((resolve) => stream.once("end", () => resolve(true)));
      await until(() => body.length > 0, 2000, "the first line");
      await within(server.close(), 4000, "close() once the stream finished");
      assert.equal(await within(ended, 2000, "END_STREAM"), true);
      assert.equal(await closed(stream, 2000), NGHTTP2_NO_ERROR);
      assert.equal(body.trim().split("\n").length, 5);
      assert.equal(app.stats.streams.completed, 1);
    } finally {
      session.destroy();
    }
  });

  it("cuts what is still open at shutdownTimeout", BOUND, async () => {
    const { app, counts } = lingerApp();
    const server = await serve(app, { port: 0, h2c: true, shutdownTimeout: 200 });
    const session = await h2Connect(server.url);
    try {
      const { stream } = await open(session, "/linger");
      await within(new Promise((r) => stream.once("data", r)), 2000, "the first line");
      await within(server.close(), 3000, "close() past its deadline");
      await until(() => counts.teardowns === 1, 2000, "the teardown");
      const code = await closed(stream, 2000);
      assert.notEqual(code, NGHTTP2_NO_ERROR);
    } finally {
      session.destroy();
    }
  });

  it("closes a connection idle for idleTimeout with GOAWAY", BOUND, async () => {
    const app = new App();
    app.get("/json", () => ({ ok: true }));
    const server = await serve(app, { port: 0, h2c: true, http2: { idleTimeout: 200 } });
    const session = await h2Connect(server.url);
    try {
      const goaway = new Promise<number>((resolve) => session.once("goaway", resolve));
      assert.equal((await h2Request(session, "GET", "/json")).status, 200);
      assert.equal(await within(goaway, 3000, "GOAWAY after the idle time"), NGHTTP2_NO_ERROR);
    } finally {
      session.destroy();
      await server.close();
    }
  });
});

describe("abuse", () => {
  /** An app whose handler counts its calls, and a victim route. */
  function countingApp() {
    const app = new App().onError(() => {});
    const counts = { handled: 0 };
    app.get("/work", async () => {
      counts.handled++;
      await new Promise((r) => setTimeout(r, 5));
      return { ok: true };
    });
    app.get("/json", () => ({ hello: "world" }));
    return { app, counts };
  }

  it("closes a connection that opens and resets thousands of streams (rapid reset), running few handlers and serving others", {
    timeout: 20_000,
  }, async () => {
    const { app, counts } = countingApp();
    const server = await serve(app, { port: 0, h2c: true });
    const victim = await h2Connect(server.url);
    try {
      const attackers = [];
      for (let c = 0; c < 3; c++) {
        attackers.push(
          (async () => {
            const wire = await H2Wire.open(server.port);
            const block = requestBlock("/work");
            let id = 1;
            for (let batch = 0; batch < 20 && !wire.socket.destroyed; batch++) {
              const frames: Buffer[] = [];
              for (let i = 0; i < 250; i++, id += 2) {
                frames.push(
                  frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, id, block),
                  rstFrame(id, CODE.CANCEL),
                );
              }
              await wire.send(...frames);
            }
            await within(wire.closed, 5000, "the server to close the attacker's connection");
            return wire;
          })(),
        );
      }
      // Meanwhile another client is served.
      const served = [];
      for (let i = 0; i < 20; i++) served.push(h2Request(victim, "GET", "/json"));
      for (const res of await Promise.all(served)) assert.equal(res.status, 200);
      const wires = await Promise.all(attackers);
      for (const wire of wires) {
        const goaway = wire.goaway();
        assert.ok(goaway, "no GOAWAY before the close");
        assert.notEqual(errorCode(goaway), CODE.NO_ERROR);
      }
      // 15,000 streams opened and reset; each connection reached the app a hundred-odd times.
      assert.ok(counts.handled <= 3 * 200, `${counts.handled} handlers ran`);
      assert.equal((await h2Request(victim, "GET", "/json")).status, 200);
    } finally {
      victim.close();
      await server.close();
    }
  });

  for (const [name, flood] of [
    ["PING", () => pingFrame()],
    ["SETTINGS", () => settingsFrame([[0x4, 65535]])],
  ] as const) {
    it(`closes a connection that floods ${name} frames without reading the acknowledgements`, {
      timeout: 20_000,
    }, async () => {
      const { app } = countingApp();
      const server = await serve(app, { port: 0, h2c: true });
      const sessions: { closed: boolean }[] = [];
      server.server.on("session", (s: { once(e: "close", f: () => void): void }) => {
        const entry = { closed: false };
        sessions.push(entry);
        s.once("close", () => {
          entry.closed = true;
        });
      });
      const wire = await H2Wire.open(server.port);
      const victim = await h2Connect(server.url);
      try {
        // The attacker does not read: every acknowledgement queues up on the server.
        wire.socket.pause();
        const frames = Array.from({ length: 1000 }, flood);
        for (let i = 0; i < 200 && !sessions[0]?.closed; i++) await wire.send(...frames);
        await until(() => sessions[0]?.closed === true, 5000, "the server to drop the session");
        assert.equal((await h2Request(victim, "GET", "/json")).status, 200);
      } finally {
        wire.destroy();
        victim.close();
        await server.close();
      }
    });
  }

  it("closes a connection that sends CONTINUATION frames without end", BOUND, async () => {
    const { app, counts } = countingApp();
    const server = await serve(app, { port: 0, h2c: true });
    const wire = await H2Wire.open(server.port);
    try {
      await wire.send(frame(FRAME.HEADERS, 0, 1, requestBlock("/work")));
      const more = Array.from({ length: 1000 }, () =>
        frame(FRAME.CONTINUATION, 0, 1, literal("x-pad", "y".repeat(16))),
      );
      for (let i = 0; i < 100 && !wire.socket.destroyed; i++) await wire.send(...more);
      await within(wire.closed, 5000, "the server to close the connection");
      assert.equal(counts.handled, 0);
    } finally {
      wire.destroy();
      await server.close();
    }
  });

  it(
    "resets a stream whose header block decodes past maxHeaderListSize (HPACK bomb), and serves the next",
    BOUND,
    async () => {
      const { app, counts } = countingApp();
      const server = await serve(app, { port: 0, h2c: true });
      const wire = await H2Wire.open(server.port);
      try {
        // 4 KB into the dynamic table once, then named 3,000 times with one byte each: 3 KB on the
        // wire, 12 MB decoded.
        await wire.send(
          frame(
            FRAME.HEADERS,
            FLAG.END_HEADERS | FLAG.END_STREAM,
            1,
            requestBlock("/json", "GET", [literal("x-big", "x".repeat(4000), true)]),
          ),
        );
        await wire.next((f) => f.type === FRAME.HEADERS && f.stream === 1, 3000, "the answer on 1");
        const bomb = Buffer.concat(Array.from({ length: 3000 }, () => indexed(62)));
        await wire.send(
          frame(
            FRAME.HEADERS,
            FLAG.END_HEADERS | FLAG.END_STREAM,
            3,
            requestBlock("/work", "GET", [bomb]),
          ),
        );
        const rst = await wire.next(
          (f) => f.type === FRAME.RST_STREAM && f.stream === 3,
          3000,
          "the reset",
        );
        assert.equal(errorCode(rst), CODE.ENHANCE_YOUR_CALM);
        assert.equal(counts.handled, 0);
        await wire.send(
          frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 5, requestBlock("/json")),
        );
        await wire.next((f) => f.type === FRAME.HEADERS && f.stream === 5, 3000, "the answer on 5");
      } finally {
        wire.destroy();
        await server.close();
      }
    },
  );

  it("resets a stream with more header fields than maxHeaderListPairs", BOUND, async () => {
    const { app, counts } = countingApp();
    const server = await serve(app, { port: 0, h2c: true });
    const wire = await H2Wire.open(server.port);
    try {
      const fields = Array.from({ length: 200 }, (_, i) => literal(`x-f${i}`, "1"));
      await wire.send(
        frame(
          FRAME.HEADERS,
          FLAG.END_HEADERS | FLAG.END_STREAM,
          1,
          requestBlock("/work", "GET", fields),
        ),
      );
      const rst = await wire.next(
        (f) => f.type === FRAME.RST_STREAM && f.stream === 1,
        3000,
        "the reset",
      );
      assert.equal(errorCode(rst), CODE.ENHANCE_YOUR_CALM);
      assert.equal(counts.handled, 0);
    } finally {
      wire.destroy();
      await server.close();
    }
  });
});
