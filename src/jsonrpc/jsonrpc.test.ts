import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as v from "valibot";
import { z } from "zod";
import { App, type ErrorContext } from "../index.ts";
import { type ClientMode, type TestClient, testClient } from "../testing/client.ts";
import {
  JSONRPC_ERRORS,
  JSONRPCError,
  JSONRPCErrorResponse,
  type JSONRPCFailure,
  JSONRPCResponse,
  JSONRPCRouter,
  type JSONRPCSuccess,
} from "./jsonrpc.ts";

type Reply = JSONRPCSuccess | JSONRPCFailure;

function rpcApp(): {
  app: App;
  reports: { error: unknown; context: ErrorContext }[];
  log: unknown[];
} {
  const reports: { error: unknown; context: ErrorContext }[] = [];
  const log: unknown[] = [];
  const app = new App().onError((error, context) => reports.push({ error, context }));
  const rpc = new JSONRPCRouter()
    .method("add", { params: z.object({ a: z.number(), b: z.number() }) }, ({ a, b }) => a + b)
    .method("echo", (params) => params)
    .method("log", (params) => {
      log.push(params);
    })
    .method("pay", () => {
      throw new JSONRPCError(-32001, "insufficient funds", { balance: 3 });
    })
    .method("crash", () => {
      throw new Error("database password is hunter2");
    })
    .method("slowUpper", { params: v.tuple([v.string()]) }, async ([s]) => {
      await new Promise((r) => setTimeout(r, 1));
      return s.toUpperCase();
    })
    .method("path", (_params, req) => req.path);
  app.post("/rpc", rpc.handler(app));
  return { app, reports, log };
}

const modes: readonly ClientMode[] = ["memory", "socket"];

for (const mode of modes) {
  describe(`JSONRPCRouter (${mode})`, () => {
    let client: TestClient;
    let reports: { error: unknown; context: ErrorContext }[];
    let log: unknown[];
    before(() => {
      const made = rpcApp();
      reports = made.reports;
      log = made.log;
      client = testClient(made.app, mode);
    });
    after(() => client.close());

    /** Posts `body` (a string as is, anything else as JSON) and returns the HTTP response. */
    const post = (body: unknown) =>
      client.fetch("/rpc", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: typeof body === "string" ? body : JSON.stringify(body),
      });

    /** Posts `body` and returns the parsed reply, after checking it came with HTTP 200. */
    async function call<T = Reply>(body: unknown): Promise<T> {
      const res = await post(body);
      assert.equal(res.status, 200, "JSON-RPC errors travel in a 200");
      assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
      return (await res.json()) as T;
    }

    it("answers a call with its result and id", async () => {
      assert.deepEqual(
        await call({ jsonrpc: "2.0", method: "add", params: { a: 2, b: 3 }, id: 1 }),
        {
          jsonrpc: "2.0",
          result: 5,
          id: 1,
        },
      );
      assert.deepEqual(await call({ jsonrpc: "2.0", method: "echo", params: ["☃"], id: "a b" }), {
        jsonrpc: "2.0",
        result: ["☃"],
        id: "a b",
      });
    });

    it("hands a method its params typed through their schema", async () => {
      const reply = await call({ jsonrpc: "2.0", method: "slowUpper", params: ["dune"], id: 0 });
      assert.deepEqual(reply, { jsonrpc: "2.0", result: "DUNE", id: 0 });
    });

    it("gives a method the HTTP request", async () => {
      assert.deepEqual(await call({ jsonrpc: "2.0", method: "path", id: null }), {
        jsonrpc: "2.0",
        result: "/rpc",
        id: null,
      });
    });

    it("answers a method that returns nothing with a null result", async () => {
      const reply = await call({ jsonrpc: "2.0", method: "log", params: { n: 1 }, id: 9 });
      assert.deepEqual(reply, { jsonrpc: "2.0", result: null, id: 9 });
    });

    it("answers a batch with one reply per call, in order", async () => {
      const replies = await call<Reply[]>([
        { jsonrpc: "2.0", method: "add", params: { a: 1, b: 1 }, id: "x" },
        { jsonrpc: "2.0", method: "log", params: ["batched"] },
        { jsonrpc: "2.0", method: "nope", id: "y" },
        { jsonrpc: "2.0", method: "slowUpper", params: ["b"], id: "z" },
      ]);
      assert.deepEqual(replies, [
        { jsonrpc: "2.0", result: 2, id: "x" },
        { jsonrpc: "2.0", error: { code: -32601, message: "Method not found" }, id: "y" },
        { jsonrpc: "2.0", result: "B", id: "z" },
      ]);
      assert.deepEqual(log.at(-1), ["batched"], "the notification ran");
    });

    it("runs a notification without replying to it", async () => {
      const res = await post({ jsonrpc: "2.0", method: "log", params: { note: "one" } });
      assert.equal(res.status, 204);
      assert.equal(await res.text(), "");
      assert.deepEqual(log.at(-1), { note: "one" });
    });

    it("answers a batch of notifications only with no content", async () => {
      const res = await post([
        { jsonrpc: "2.0", method: "log", params: ["a"] },
        { jsonrpc: "2.0", method: "nope" },
        { jsonrpc: "2.0", method: "add", params: { a: "x" } },
      ]);
      assert.equal(res.status, 204);
      assert.equal(await res.text(), "");
      assert.deepEqual(log.at(-1), ["a"]);
    });

    it("answers a body that is not JSON with a parse error and a null id", async () => {
      for (const body of ["{ nope", "", '[{"jsonrpc":"2.0"']) {
        assert.deepEqual(await call(body), {
          jsonrpc: "2.0",
          error: { code: JSONRPC_ERRORS.PARSE_ERROR, message: "Parse error" },
          id: null,
        });
      }
    });

    const invalid: [string, unknown, string | number | null][] = [
      ["a wrong jsonrpc version", { jsonrpc: "1.0", method: "echo", id: 1 }, 1],
      ["a missing jsonrpc member", { method: "echo", id: 2 }, 2],
      ["a method that is not a string", { jsonrpc: "2.0", method: 7, id: 3 }, 3],
      ["an id that is an object", { jsonrpc: "2.0", method: "echo", id: { n: 1 } }, null],
      ["an id that is a boolean", { jsonrpc: "2.0", method: "echo", id: true }, null],
      ["params that are a string", { jsonrpc: "2.0", method: "echo", params: "x", id: 4 }, 4],
      ["a body that is a number", 42, null],
      ["a body that is null", null, null],
    ];
    for (const [what, body, id] of invalid) {
      it(`answers ${what} with an invalid request error`, async () => {
        assert.deepEqual(await call(body), {
          jsonrpc: "2.0",
          error: { code: JSONRPC_ERRORS.INVALID_REQUEST, message: "Invalid Request" },
          id,
        });
      });
    }

    it("answers an empty batch with one invalid request error, not a list", async () => {
      assert.deepEqual(await call([]), {
        jsonrpc: "2.0",
        error: { code: -32600, message: "Invalid Request" },
        id: null,
      });
    });

    it("answers each value of a batch that is not a call with an invalid request", async () => {
      const replies = await call<Reply[]>([1, "x", [], { jsonrpc: "2.0", method: "echo", id: 5 }]);
      assert.equal(replies.length, 4);
      for (const r of replies.slice(0, 3)) {
        assert.deepEqual(r, {
          jsonrpc: "2.0",
          error: { code: -32600, message: "Invalid Request" },
          id: null,
        });
      }
      assert.deepEqual(replies[3], { jsonrpc: "2.0", result: null, id: 5 });
    });

    it("answers an unknown method with method not found", async () => {
      assert.deepEqual(await call({ jsonrpc: "2.0", method: "toString", id: 6 }), {
        jsonrpc: "2.0",
        error: { code: JSONRPC_ERRORS.METHOD_NOT_FOUND, message: "Method not found" },
        id: 6,
      });
    });

    it("answers params that break the schema with invalid params listing each issue", async () => {
      const reply = (await call({
        jsonrpc: "2.0",
        method: "add",
        params: { a: "1" },
        id: 7,
      })) as JSONRPCFailure;
      assert.equal(reply.id, 7);
      assert.equal(reply.error.code, JSONRPC_ERRORS.INVALID_PARAMS);
      assert.equal(reply.error.message, "Invalid params");
      const issues = reply.error.data as { path: string; message: string }[];
      assert.deepEqual(
        issues.map((i) => i.path),
        ["/a", "/b"],
      );
      for (const i of issues) assert.ok(i.message.length > 0);
      const missing = (await call({ jsonrpc: "2.0", method: "add", id: 8 })) as JSONRPCFailure;
      assert.equal(missing.error.code, JSONRPC_ERRORS.INVALID_PARAMS);
    });

    it("answers a JSONRPCError with its own code, message and data", async () => {
      assert.deepEqual(await call({ jsonrpc: "2.0", method: "pay", id: 10 }), {
        jsonrpc: "2.0",
        error: { code: -32001, message: "insufficient funds", data: { balance: 3 } },
        id: 10,
      });
      assert.equal(reports.length, 0, "an error the method meant is not reported");
    });

    it("answers a crash with an internal error, reporting the cause and leaking none of it", async () => {
      const res = await post({ jsonrpc: "2.0", method: "crash", id: 11 });
      assert.equal(res.status, 200);
      const text = await res.text();
      assert.deepEqual(JSON.parse(text), {
        jsonrpc: "2.0",
        error: { code: JSONRPC_ERRORS.INTERNAL_ERROR, message: "Internal error" },
        id: 11,
      });
      assert.doesNotMatch(text, /hunter2|database/);
      assert.equal(reports.length, 1);
      assert.match((reports[0]!.error as Error).message, /hunter2/);
      assert.equal(reports[0]!.context.phase, "handler");
      assert.equal(reports[0]!.context.request?.path, "/rpc");
      reports.length = 0;
    });
  });
}

describe("JSON-RPC responses", () => {
  it("wraps a result in the 2.0 envelope with HTTP 200", () => {
    const res = new JSONRPCResponse({ ok: true }, "r-1");
    assert.equal(res.status, 200);
    assert.equal(res.render(), '{"jsonrpc":"2.0","result":{"ok":true},"id":"r-1"}');
  });

  it("wraps an error in the 2.0 envelope with HTTP 200, data only when given", () => {
    const bare = new JSONRPCErrorResponse(JSONRPC_ERRORS.METHOD_NOT_FOUND, "Method not found", 1);
    assert.equal(bare.status, 200);
    assert.equal(
      bare.render(),
      '{"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found"},"id":1}',
    );
    const withData = new JSONRPCErrorResponse(-32000, "busy", null, { retryIn: 5 });
    assert.deepEqual(JSON.parse(withData.render()), {
      jsonrpc: "2.0",
      error: { code: -32000, message: "busy", data: { retryIn: 5 } },
      id: null,
    });
  });
});
