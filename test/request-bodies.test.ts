// Reading a request body (issue 11, item 10): a client that cuts its upload short is a 400 nobody
// hears about; anything else that fails while reading is a bug, a 500 the error hook hears, never
// a 400 that blames the client. Through both engines.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { HTTPError } from "../src/http/errors.ts";
import { SluiceRequest } from "../src/http/request.ts";
import { App } from "../src/index.ts";
import { serve } from "../src/node/index.ts";
import { type TestClient, testClient } from "../src/testing/index.ts";
import { BOUND, MODES, problem, Reports } from "./helpers/app.ts";
import { RawConnection } from "./helpers/raw-http.ts";
import { gate, within } from "./helpers/wait.ts";

/** An app whose /upload route hands what reading the body ended in to the test. */
function uploadApp() {
  const app = new App();
  const reports = new Reports(app);
  let outcome = gate<unknown>();
  app.post("/upload", async (req) => {
    try {
      const bytes = await req.bytes();
      outcome.resolve(bytes.byteLength);
      return { size: bytes.byteLength };
    } catch (error) {
      outcome.resolve(error);
      throw error;
    }
  });
  app.post("/twice", async (req) => {
    const reader = req.stream().getReader();
    await reader.read();
    return { parsed: await req.json() };
  });
  app.post("/twice-the-other-way", async (req) => {
    await req.text();
    await req.json(); // fine: the bytes are kept
    return { streamed: await new Response(req.stream()).text() };
  });
  return {
    app,
    reports,
    next() {
      outcome = gate();
      return outcome.promise;
    },
  };
}

async function assertNothingReported(reports: Reports): Promise<void> {
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(
    reports.all.map((r) => String(r.error)),
    [],
    "a client's cut is not a server error",
  );
}

describe("a client that cuts its upload short", () => {
  it("is a 400 through node:http, and nothing is reported", BOUND, async () => {
    const { app, reports, next } = uploadApp();
    const server = await serve(app, { port: 0, host: "127.0.0.1" });
    try {
      const conn = await RawConnection.open(server.port);
      const outcome = next();
      conn.write(
        "POST /upload HTTP/1.1\r\nHost: x\r\ncontent-type: application/octet-stream\r\n" +
          `content-length: 100000\r\n\r\n${"a".repeat(1000)}`,
      );
      await new Promise((r) => setTimeout(r, 50));
      conn.destroy();
      const error = await within(outcome, 3000, "the reader to fail");
      assert.ok(HTTPError.is(error), String(error));
      assert.equal(error.status, 400);
      assert.match(error.message, /ended before it was complete/);
      await assertNothingReported(reports);
    } finally {
      await server.close();
    }
  });

  it(
    "is a 400 through app.fetch when the body stream fails, and nothing is reported",
    BOUND,
    async () => {
      const { app, reports, next } = uploadApp();
      const outcome = next();
      let sent = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent++ === 0) controller.enqueue(new Uint8Array(1000));
          else controller.error(new TypeError("terminated: the connection was reset"));
        },
      });
      const res = await app.fetch(
        new Request("http://localhost/upload", {
          method: "POST",
          body,
          headers: { "content-type": "application/octet-stream" },
          duplex: "half",
        } as RequestInit),
      );
      const error = await within(outcome, 3000, "the reader to fail");
      assert.ok(HTTPError.is(error), String(error));
      assert.equal(error.status, 400);
      await problem(res, 400);
      await assertNothingReported(reports);
    },
  );
});

for (const mode of MODES) {
  describe(`a bug while reading a body (${mode})`, () => {
    const { app, reports } = uploadApp();
    let client: TestClient;
    before(() => {
      client = testClient(app, mode);
    });
    after(() => client.close());

    it("answers 500 and reports a body read by stream() and then by json()", BOUND, async () => {
      reports.clear();
      const heard = reports.next();
      const res = await client.fetch("/twice", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ a: 1 }),
      });
      const body = await problem(res, 500);
      assert.equal(body.detail, undefined, "nothing of the bug reaches the client");
      const { error, context } = await heard;
      assert.ok(error instanceof TypeError);
      assert.match((error as Error).message, /already read by stream\(\)/);
      assert.equal(context.phase, "handler");
    });

    it("answers 500 and reports a body read by text() and then by stream()", BOUND, async () => {
      reports.clear();
      const heard = reports.next();
      const res = await client.fetch("/twice-the-other-way", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
      });
      await problem(res, 500);
      const { error } = await heard;
      assert.match(
        (error as Error).message,
        /already read by bytes\(\), json\(\), text\(\) or form\(\)/,
      );
    });

    it("still answers a complete upload", BOUND, async () => {
      const res = await client.fetch("/upload", {
        method: "POST",
        headers: { "content-type": "application/octet-stream" },
        body: new Uint8Array(5000),
      });
      assert.deepEqual(await res.json(), { size: 5000 });
    });
  });
}

describe("a body source that fails in the engine", () => {
  /** A request whose raw body breaks midway with an error that is not the client's doing. */
  class BrokenRequest extends SluiceRequest {
    readonly method = "POST";
    readonly url = "/upload";
    readonly httpVersion = "1.1";
    readonly ip = undefined;
    readonly signal = new AbortController().signal;
    header(name: string) {
      return name === "content-type" ? "application/json" : undefined;
    }
    abort() {}
    protected rawHeaders() {
      return { "content-type": "application/json" };
    }
    protected rawBody() {
      return (async function* () {
        yield new TextEncoder().encode('{"a":');
        throw new RangeError("a bug in the engine's body reader");
      })();
    }
  }

  it("is a 500 reported to the error hook, not a 400", async () => {
    const { app, reports, next } = uploadApp();
    const outcome = next();
    const heard = reports.next();
    const res = await app.handle(new BrokenRequest());
    assert.equal(res.status, 500);
    const error = await outcome;
    assert.ok(error instanceof RangeError);
    assert.ok((await heard).error instanceof RangeError);
  });
});
