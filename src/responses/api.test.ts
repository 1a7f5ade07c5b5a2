import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as v from "valibot";
import { z } from "zod";
import { SchemaError } from "../internal/standard-schema.ts";
import { APIResponse } from "./api.ts";
import { JSONResponse } from "./buffered.ts";

const Event = z.object({
  name: z.string(),
  at: z.date().transform((d) => d.toISOString()),
});
const at = new Date(Date.UTC(2024, 1, 29, 12, 30));

describe("APIResponse", () => {
  it("sends the schema's output, so transforms serialise the content", async () => {
    const res = await new APIResponse({ name: "launch", at }, { schema: Event }).prepare();
    assert.deepEqual(JSON.parse(res.render()), { name: "launch", at: at.toISOString() });
    assert.equal(res.status, 200);
    assert.equal(res.headers["content-type"], "application/json");
  });

  it("serialises through a zod codec too", async () => {
    const Stamp = z.object({
      at: z.codec(z.date(), z.iso.datetime(), {
        decode: (d) => d.toISOString(),
        encode: (s) => new Date(s),
      }),
    });
    const res = await new APIResponse({ at }, { schema: Stamp }).prepare();
    assert.equal(res.render(), JSON.stringify({ at: at.toISOString() }));
  });

  it("drops the keys the schema strips", async () => {
    const Public = z.object({ id: z.number() });
    const res = await new APIResponse({ id: 1, password: "hunter2" } as { id: number }, {
      schema: Public,
    }).prepare();
    assert.equal(res.render(), '{"id":1}');
  });

  it("throws a SchemaError naming each issue when the content does not match", async () => {
    const res = new APIResponse({ name: 7, at } as never, { schema: Event, status: 201 });
    await assert.rejects(res.prepare(), (err: unknown) => {
      assert.ok(err instanceof SchemaError);
      assert.deepEqual(
        err.issues.map((i) => i.path),
        ["/name"],
      );
      assert.match(err.message, /status 201/);
      return true;
    });
  });

  it("refuses to render content that was never validated", () => {
    const res = new APIResponse({ name: "launch", at }, { schema: Event });
    assert.throws(() => res.render(), /not validated/);
  });

  it("validates once, however often it is prepared", async () => {
    let calls = 0;
    const Counted = z.string().refine(() => {
      calls++;
      return true;
    });
    const res = new APIResponse("x", { schema: Counted });
    await res.prepare();
    await res.prepare();
    assert.equal(calls, 1);
    assert.equal(res.render(), '"x"');
  });

  it("sends its content as it is when it has no schema", async () => {
    const res = await new APIResponse({ a: [1, "☃"] }).prepare();
    assert.equal(res.render(), '{"a":[1,"☃"]}');
  });

  it("validates with any Standard Schema validator", async () => {
    const Count = v.object({ n: v.pipe(v.number(), v.integer()) });
    assert.equal(
      (await new APIResponse({ n: 2 }, { schema: Count }).prepare()).render(),
      '{"n":2}',
    );
    await assert.rejects(new APIResponse({ n: 2.5 }, { schema: Count }).prepare(), SchemaError);
  });

  it("keeps the status, headers and tasks of the JSONResponse it is made from", async () => {
    const task = () => {};
    const json = new JSONResponse({ id: 1 }, { status: 201 }).setHeader("x-trace", "t-1");
    json.tasks.push(task);
    const api = APIResponse.from(json, z.object({ id: z.number() }));
    assert.equal(api.status, 201);
    assert.equal(api.headers["x-trace"], "t-1");
    assert.deepEqual(api.tasks, [task]);
    assert.equal((await api.prepare()).render(), '{"id":1}');
  });
});
