/**
 * End-to-end over raw sockets: what the Node engine puts on the wire, connection reuse, HTTP/1.0,
 * limits that close the connection, and graceful shutdown (issue 2).
 */
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { connect, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import type { RunningServer } from "../src/engine/node/serve.ts";
import { App } from "../src/index.ts";
import { serve } from "../src/node/index.ts";
import { EmptyResponse, TextResponse } from "../src/responses/buffered.ts";
import { Reports } from "./helpers/app.ts";
import { RawConnection } from "./helpers/raw-http.ts";
import { gate, within } from "./helpers/wait.ts";

/** Counts the writes that reach each socket of a server (a corked batch counts once). */
function countWrites(running: RunningServer): () => number {
  let writes = 0;
  running.server.on("connection", (socket: Socket) => {
    const s = socket as unknown as {
      _write: (...a: unknown[]) => unknown;
      _writev?: (...a: unknown[]) => unknown;
    };
    const write = s._write;
    s._write = function (this: unknown, ...args: unknown[]) {
      writes++;
      return write.apply(this, args);
    };
    const writev = s._writev;
    if (writev) {
      s._writev = function (this: unknown, ...args: unknown[]) {
        writes++;
        return writev.apply(this, args);
      };
    }
  });
  return () => writes;
}

function get(path: string, extra = ""): string {
  return `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}\r\n`;
}

/** Tries to connect; resolves with the error code, or "connected". */
function tryConnect(port: number): Promise<string> {
  return within(
    new Promise<string>((resolve) => {
      const socket = connect({ port, host: "127.0.0.1" });
      socket.once("connect", () => {
        socket.destroy();
        resolve("connected");
      });
      socket.once("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? "error"));
    }),
    2000,
    "a connection attempt",
  );
}

describe("the Node engine on the wire", () => {
  const app = new App();
  const reports = new Reports(app);
  let running: RunningServer;
  let writes: () => number;
  const big = "x".repeat(20_000);
  before(async () => {
    app.get("/json", () => ({ hello: "wörld" }));
    app.get("/big", () => new TextResponse(big));
    app.get("/big-bytes", () => new Uint8Array(20_000).fill(7));
    app.get("/empty", () => new EmptyResponse());
    app.get("/not-modified", () => new EmptyResponse({ status: 304 }));
    app.get("/header", (req) => new TextResponse("ok").setHeader("x-echo", req.query.value ?? ""));
    app.get("/cookies", () => new TextResponse("ok").setCookie("a", "1").setCookie("b", "2"));
    app.post("/upload", async (req) => ({ size: (await req.bytes()).byteLength }));
    app.post("/small", { bodyLimit: 16 }, async (req) => ({ got: await req.text() }));
    running = await serve(app, { port: 0, host: "127.0.0.1" });
    writes = countWrites(running);
  });
  after(() => running.close());

  for (const path of ["/big", "/big-bytes", "/json"]) {
    it(`writes the head and a buffered body (${path}) to the socket in one write`, async () => {
      const conn = await RawConnection.open(running.port);
      try {
        const before = writes();
        conn.write(get(path));
        const res = await conn.response();
        assert.equal(res.status, 200);
        assert.equal(res.headers["content-length"], String(res.body.byteLength));
        assert.equal(res.headers["transfer-encoding"], undefined);
        assert.equal(writes() - before, 1);
      } finally {
        conn.destroy();
      }
    });
  }

  it("builds no web Request or Response to answer a buffered request", async () => {
    const original = { Request: globalThis.Request, Response: globalThis.Response };
    let built = 0;
    class CountingRequest extends original.Request {
      constructor(...args: ConstructorParameters<typeof Request>) {
        super(...args);
        built++;
      }
    }
    class CountingResponse extends original.Response {
      constructor(...args: ConstructorParameters<typeof Response>) {
        super(...args);
        built++;
      }
    }
    globalThis.Request = CountingRequest;
    globalThis.Response = CountingResponse;
    try {
      const body = await within(
        new Promise<string>((resolve, reject) => {
          const req = httpRequest(
            { port: running.port, host: "127.0.0.1", path: "/json" },
            (res) => {
              let text = "";
              res.setEncoding("utf8");
              res.on("data", (c: string) => {
                text += c;
              });
              res.on("end", () => resolve(text));
            },
          );
          req.on("error", reject);
          req.end();
        }),
        2000,
        "the response",
      );
      assert.equal(body, '{"hello":"wörld"}');
      assert.equal(built, 0);
    } finally {
      globalThis.Request = original.Request;
      globalThis.Response = original.Response;
    }
  });

  it("answers two requests on one kept-alive connection", async () => {
    const conn = await RawConnection.open(running.port);
    try {
      conn.write(get("/json"));
      const first = await conn.response();
      assert.equal(first.status, 200);
      assert.equal(conn.closed, false);
      conn.write(get("/big"));
      const second = await conn.response();
      assert.equal(second.status, 200);
      assert.equal(second.body.toString(), big);
      assert.equal(conn.closed, false);
    } finally {
      conn.destroy();
    }
  });

  it("answers pipelined requests in order", async () => {
    const conn = await RawConnection.open(running.port);
    try {
      conn.write(get("/json") + get("/empty") + get("/big"));
      assert.equal((await conn.response()).body.toString(), '{"hello":"wörld"}');
      assert.equal((await conn.response()).status, 204);
      assert.equal((await conn.response()).body.toString(), big);
    } finally {
      conn.destroy();
    }
  });

  it("answers HEAD with GET's Content-Length and not one byte of body", async () => {
    const conn = await RawConnection.open(running.port);
    try {
      conn.write(`HEAD /big HTTP/1.1\r\nHost: x\r\n\r\n`);
      const head = await conn.response({ noBody: true });
      assert.equal(head.status, 200);
      assert.equal(head.headers["content-length"], String(big.length));
      // The next response on the connection starts right where the HEAD answer ended.
      conn.write(get("/json"));
      const next = await conn.response();
      assert.equal(next.status, 200);
      assert.equal(next.body.toString(), '{"hello":"wörld"}');
      assert.equal(conn.leftover.byteLength, 0);
    } finally {
      conn.destroy();
    }
  });

  it("answers HTTP/1.0 with Content-Length, then closes", async () => {
    const conn = await RawConnection.open(running.port);
    try {
      conn.write("GET /json HTTP/1.0\r\nHost: x\r\n\r\n");
      const res = await conn.response();
      assert.match(res.head, /^HTTP\/1\.1 200 OK\r\n/);
      assert.equal(res.headers["content-length"], String(Buffer.byteLength('{"hello":"wörld"}')));
      assert.equal(res.body.toString(), '{"hello":"wörld"}');
      await conn.waitClosed();
    } finally {
      conn.destroy();
    }
  });

  it("sends 204 and 304 with neither Content-Length nor Transfer-Encoding", async () => {
    const conn = await RawConnection.open(running.port);
    try {
      for (const path of ["/empty", "/not-modified"]) {
        conn.write(get(path));
        const res = await conn.response();
        assert.ok(res.status === 204 || res.status === 304);
        assert.doesNotMatch(res.head, /content-length|transfer-encoding/i);
      }
      assert.equal(conn.leftover.byteLength, 0);
    } finally {
      conn.destroy();
    }
  });

  it("sends each cookie on a field line of its own", async () => {
    const conn = await RawConnection.open(running.port);
    try {
      conn.write(get("/cookies"));
      const res = await conn.response();
      const lines = res.head.split("\r\n").filter((l) => /^set-cookie:/i.test(l));
      assert.deepEqual(lines, ["set-cookie: a=1", "set-cookie: b=2"]);
    } finally {
      conn.destroy();
    }
  });

  for (const bad of ["%0D%0Ax-injected:%201", "%0Ax-injected:%201", "a%00b"]) {
    it(`never writes a split header for the value ${bad}`, async () => {
      const conn = await RawConnection.open(running.port);
      try {
        const heard = reports.next();
        conn.write(get(`/header?value=${bad}`));
        const res = await conn.response();
        assert.equal(res.status, 500);
        assert.doesNotMatch(res.head, /x-injected|x-echo/i);
        assert.equal(res.head.split("\r\n").length, Object.keys(res.headers).length + 1);
        await heard;
        // The connection stays usable.
        conn.write(get("/json"));
        assert.equal((await conn.response()).status, 200);
      } finally {
        conn.destroy();
      }
    });
  }

  it("answers 413 to a declared body over the limit and closes the connection", async () => {
    const conn = await RawConnection.open(running.port);
    try {
      conn.write(
        "POST /upload HTTP/1.1\r\nHost: x\r\ncontent-type: application/octet-stream\r\n" +
          `content-length: ${2 * 1024 * 1024}\r\n\r\n${"a".repeat(1000)}`,
      );
      const res = await conn.response();
      assert.equal(res.status, 413);
      assert.equal(res.headers["content-type"], "application/problem+json");
      assert.equal(res.headers.connection, "close");
      assert.match(JSON.parse(res.body.toString()).detail, /1048576 bytes/);
      await conn.waitClosed();
    } finally {
      conn.destroy();
    }
  });

  it("answers 413 to a chunked body that grows past the limit and closes the connection", async () => {
    const conn = await RawConnection.open(running.port);
    try {
      conn.write("POST /small HTTP/1.1\r\nHost: x\r\ntransfer-encoding: chunked\r\n\r\n");
      conn.write("a\r\n0123456789\r\n");
      conn.write("a\r\n0123456789\r\n");
      const res = await conn.response();
      assert.equal(res.status, 413);
      assert.equal(res.headers.connection, "close");
      assert.match(JSON.parse(res.body.toString()).detail, /16 bytes/);
      await conn.waitClosed();
    } finally {
      conn.destroy();
    }
  });

  it("reads a chunked body within the limit", async () => {
    const conn = await RawConnection.open(running.port);
    try {
      conn.write("POST /small HTTP/1.1\r\nHost: x\r\ntransfer-encoding: chunked\r\n\r\n");
      conn.write("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
      const res = await conn.response();
      assert.equal(res.status, 200);
      assert.deepEqual(JSON.parse(res.body.toString()), { got: "hello world" });
      assert.equal(conn.closed, false);
    } finally {
      conn.destroy();
    }
  });

  it("answers a malformed request with 400 and closes", async () => {
    const conn = await RawConnection.open(running.port);
    try {
      conn.write("THIS IS NOT HTTP\r\n\r\n");
      const res = await conn.response();
      assert.equal(res.status, 400);
      await conn.waitClosed();
    } finally {
      conn.destroy();
    }
  });

  it("answers headers that are too large with 431", async () => {
    const conn = await RawConnection.open(running.port);
    try {
      conn.write(get("/json", `x-big: ${"a".repeat(64 * 1024)}\r\n`));
      const res = await conn.response();
      assert.equal(res.status, 431);
      await conn.waitClosed();
    } finally {
      conn.destroy();
    }
  });
});

describe("a prefix guard on the wire", () => {
  const app = new App();
  let running: RunningServer;
  before(async () => {
    app.use("/admin", (req, next) =>
      req.header("authorization") === "Bearer ok"
        ? next()
        : new TextResponse("denied", { status: 401 }),
    );
    app.get("/admin", () => "the admin page");
    app.get("/admin/*", () => "the admin page");
    app.get("/x/*", (req) => ({ rest: req.params["*"] }));
    running = await serve(app, { port: 0, host: "127.0.0.1" });
  });
  after(() => running.close());

  // Sent as raw bytes: a fetch client would normalise these before they reach the server.
  for (const target of [
    "/admin",
    "/%61dmin",
    "/%41dmin",
    "//admin",
    "/./admin",
    "/x/../admin",
    "/x/%2e%2e/admin",
    "/%2e%2e/admin",
    "/admin/..",
    "/admin%2F",
    "/admin/%2e%2e/admin",
  ]) {
    it(`never serves the guarded page for ${target}`, async () => {
      const conn = await RawConnection.open(running.port);
      try {
        conn.write(get(target));
        const res = await conn.response();
        // Another route (/x/*) may answer; the guarded page never does.
        assert.doesNotMatch(res.body.toString(), /admin page/, `${target}: ${res.status}`);
      } finally {
        conn.destroy();
      }
    });
  }

  it("serves the guarded page with the credentials", async () => {
    const conn = await RawConnection.open(running.port);
    try {
      conn.write(get("/%61dmin", "authorization: Bearer ok\r\n"));
      const res = await conn.response();
      assert.equal(res.body.toString(), "the admin page");
    } finally {
      conn.destroy();
    }
  });
});

describe("graceful shutdown", () => {
  it("lets an in-flight request finish, refuses new connections, then resolves", async (t) => {
    const app = new App();
    const entered = gate();
    const release = gate();
    app.get("/slow", async () => {
      entered.resolve();
      await release.promise;
      return "finished";
    });
    const running = await serve(app, { port: 0, host: "127.0.0.1", shutdownTimeout: 5000 });
    t.after(() => {
      release.resolve();
      return running.close();
    });
    const conn = await RawConnection.open(running.port);
    t.after(() => conn.destroy());
    conn.write(get("/slow"));
    await within(entered.promise, 2000, "the handler to start");

    let closed = false;
    const closing = running.close().then(() => {
      closed = true;
    });
    assert.equal(await tryConnect(running.port), "ECONNREFUSED");
    assert.equal(closed, false, "close() waits for the in-flight request");

    release.resolve();
    const res = await conn.response();
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), "finished");
    await within(closing, 2000, "close() to resolve");
    await conn.waitClosed();
  });

  it("cuts a request that outlives the shutdown timeout and aborts its signal", async (t) => {
    const app = new App();
    const entered = gate();
    const aborted = gate();
    app.get("/forever", async (req) => {
      entered.resolve();
      await within(
        new Promise((r) => req.signal.addEventListener("abort", r, { once: true })),
        5000,
        "the signal to abort",
      );
      aborted.resolve();
      return "too late";
    });
    const running = await serve(app, { port: 0, host: "127.0.0.1", shutdownTimeout: 150 });
    t.after(() => running.close());
    const conn = await RawConnection.open(running.port);
    t.after(() => conn.destroy());
    conn.write(get("/forever"));
    await within(entered.promise, 2000, "the handler to start");
    const started = Date.now();
    await within(running.close(), 2000, "close() to resolve");
    assert.ok(Date.now() - started >= 100, "close() waited for the timeout");
    await within(aborted.promise, 2000, "the handler's signal to abort");
    await conn.waitClosed();
  });

  it("closes an idle kept-alive connection at once", async (t) => {
    const app = new App();
    app.get("/json", () => ({ ok: true }));
    const running = await serve(app, { port: 0, host: "127.0.0.1", shutdownTimeout: 5000 });
    t.after(() => running.close());
    const conn = await RawConnection.open(running.port);
    t.after(() => conn.destroy());
    conn.write(get("/json"));
    await conn.response();
    await within(running.close(), 1000, "close() to resolve");
    await conn.waitClosed(1000);
  });

  it("does not wait for a connection that never sent a request", async (t) => {
    const app = new App();
    app.get("/json", () => ({ ok: true }));
    const running = await serve(app, { port: 0, host: "127.0.0.1", shutdownTimeout: 5000 });
    t.after(() => running.close());
    // Browsers and fetch clients open connections ahead of use; shutdown must not wait for them.
    const conn = await RawConnection.open(running.port);
    t.after(() => conn.destroy());
    await new Promise((r) => setTimeout(r, 20));
    await within(running.close(), 1000, "close() to resolve");
    await conn.waitClosed(1000);
  });
});
