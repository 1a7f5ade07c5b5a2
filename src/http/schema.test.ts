import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type } from "arktype";
import * as v from "valibot";
import { z } from "zod";
import { HTTPError } from "./errors.ts";
import { declSchema, isSchema, ndjsonOf, sseOf, validateRequestPart } from "./schema.ts";

const Movie = z.object({ id: z.number(), title: z.string() });

/** Runs `fn`, expecting it to reject with an HTTPError, and returns that error. */
async function rejection(fn: () => Promise<unknown>): Promise<HTTPError> {
  try {
    await fn();
  } catch (err) {
    assert.ok(HTTPError.is(err), `expected an HTTPError, got ${String(err)}`);
    return err;
  }
  assert.fail("expected a rejection");
}

describe("ndjsonOf", () => {
  it("declares an NDJSON stream of the item schema, as application/x-ndjson by default", () => {
    const decl = ndjsonOf(Movie);
    assert.equal(decl.stream, "ndjson");
    assert.equal(decl.item, Movie);
    assert.equal(decl.mediaType, "application/x-ndjson");
    assert.equal(decl.validate, undefined);
  });

  it("keeps the media type, description and validation it is given", () => {
    const decl = ndjsonOf(Movie, {
      mediaType: "application/jsonl",
      description: "every movie",
      validate: true,
    });
    assert.equal(decl.mediaType, "application/jsonl");
    assert.equal(decl.description, "every movie");
    assert.equal(decl.validate, true);
  });
});

describe("sseOf", () => {
  it("declares an event stream whose data follows the item schema", () => {
    const decl = sseOf(Movie, { events: ["added", "removed"], description: "changes" });
    assert.equal(decl.stream, "sse");
    assert.equal(decl.item, Movie);
    assert.deepEqual(decl.events, ["added", "removed"]);
    assert.equal(decl.description, "changes");
    assert.equal(decl.validate, undefined);
  });

  it("turns run-time validation on only when asked", () => {
    assert.equal(sseOf(Movie, { validate: true }).validate, true);
    assert.equal(sseOf(Movie).events, undefined);
  });
});

describe("isSchema", () => {
  it("knows a zod, a valibot and an arktype schema", () => {
    assert.equal(isSchema(Movie), true);
    assert.equal(isSchema(v.object({ a: v.string() })), true);
    // arktype types are functions with a ~standard member.
    assert.equal(isSchema(type({ a: "string" })), true);
  });

  it("refuses values that only look like schemas", () => {
    for (const value of [null, undefined, {}, { "~standard": {} }, ndjsonOf(Movie), "zod", 1]) {
      assert.equal(isSchema(value), false, `${JSON.stringify(value)} is not a schema`);
    }
  });
});

describe("declSchema", () => {
  it("finds the schema of a bare schema and of a body declaration", () => {
    assert.equal(declSchema(Movie), Movie);
    assert.equal(declSchema({ schema: Movie, description: "one movie" }), Movie);
  });

  it("has no schema for no content, a missing status or a stream", () => {
    assert.equal(declSchema(null), undefined);
    assert.equal(declSchema(undefined), undefined);
    assert.equal(declSchema(ndjsonOf(Movie)), undefined);
    assert.equal(declSchema(sseOf(Movie)), undefined);
  });
});

describe("validateRequestPart", () => {
  it("returns the validator's output, transforms applied", async () => {
    const Query = z.object({ page: z.coerce.number(), q: z.string().trim() });
    const out = await validateRequestPart(Query, { page: "3", q: "  dune " }, "query");
    assert.deepEqual(out, { page: 3, q: "dune" });
  });

  it("throws a 422 listing every issue with where it is and its JSON pointer", async () => {
    const Body = z.object({ name: z.string().min(1), tags: z.array(z.string()) });
    const err = await rejection(() =>
      validateRequestPart(Body, { name: "", tags: ["ok", 7] }, "body"),
    );
    assert.equal(err.status, 422);
    assert.match(err.detail ?? "", /body/);
    const errors = err.extensions.errors as { in: string; path: string; message: string }[];
    assert.deepEqual(
      errors.map((e) => [e.in, e.path]),
      [
        ["body", "/name"],
        ["body", "/tags/1"],
      ],
    );
    for (const e of errors) assert.ok(e.message.length > 0, "each issue says what is wrong");
  });

  it("gives an issue at the root an empty pointer", async () => {
    const err = await rejection(() => validateRequestPart(Movie, "not an object", "body"));
    const errors = err.extensions.errors as { path: string }[];
    assert.deepEqual(
      errors.map((e) => e.path),
      [""],
    );
  });

  it("works the same with valibot and arktype", async () => {
    const schemas = [
      v.object({ id: v.pipe(v.string(), v.regex(/^\d+$/)) }),
      type({ id: /^\d+$/ }),
    ] as const;
    for (const schema of schemas) {
      assert.deepEqual(await validateRequestPart(schema, { id: "12" }, "params"), { id: "12" });
      const err = await rejection(() => validateRequestPart(schema, { id: "1x" }, "params"));
      assert.equal(err.status, 422);
      const errors = err.extensions.errors as { in: string; path: string; message: string }[];
      assert.equal(errors.length, 1);
      assert.equal(errors[0]!.in, "params");
      assert.equal(errors[0]!.path, "/id");
      assert.equal(typeof errors[0]!.message, "string");
      assert.notEqual(errors[0]!.message, "");
    }
  });

  it("awaits a validator that validates asynchronously", async () => {
    const Slug = z.string().refine(async (s) => s !== "taken", "the name is taken");
    assert.equal(await validateRequestPart(Slug, "free", "body"), "free");
    const err = await rejection(() => validateRequestPart(Slug, "taken", "body"));
    assert.deepEqual(err.extensions.errors, [
      { in: "body", path: "", message: "the name is taken" },
    ]);
  });
});
