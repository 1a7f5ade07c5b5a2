/**
 * Type-level guarantees of typed routes (issue 5). The checks live in handlers that the runtime
 * test only registers: `tsc --noEmit` fails if a `@ts-expect-error` line stops being an error, so
 * loosened inference shows up in `npm test`.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type } from "arktype";
import * as v from "valibot";
import { z } from "zod";
import {
  APIResponse,
  App,
  EmptyResponse,
  JSONResponse,
  JSONRPCRouter,
  NDJSONResponse,
  ndjsonOf,
  ProblemResponse,
  RedirectResponse,
  SSEResponse,
  sseOf,
  TextResponse,
} from "../src/index.ts";

type Equal<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<T extends true>(): T | undefined {
  return undefined;
}

const Movie = z.object({ id: z.number(), title: z.string() });
const Other = z.object({ name: z.string() });
type MovieT = z.infer<typeof Movie>;

describe("typed route types", () => {
  it("type the request parts from their schemas", () => {
    const app = new App();
    app.get(
      "/movies/:id",
      {
        params: z.object({ id: z.coerce.number() }),
        query: z.object({ q: z.string(), page: z.coerce.number().optional() }),
        headers: z.object({ "x-api-key": z.string() }),
      },
      (req) => {
        expectType<Equal<typeof req.params.id, number>>();
        expectType<Equal<typeof req.query.q, string>>();
        expectType<Equal<typeof req.query.page, number | undefined>>();
        expectType<Equal<typeof req.headers, { "x-api-key": string }>>();
        // @ts-expect-error the params schema has no slug
        void req.params.slug;
        // @ts-expect-error the query schema has no sort
        void req.query.sort;
        return { id: req.params.id };
      },
    );
    app.post("/movies", { body: Movie }, (req) => {
      expectType<Equal<typeof req.body, MovieT>>();
      // @ts-expect-error the body schema has no nope
      return { got: req.body.nope };
    });
    app.post("/notes", { body: v.object({ text: v.string() }) }, (req) => {
      expectType<Equal<typeof req.body, { text: string }>>();
      return { text: req.body.text };
    });
    app.post("/people", { body: type({ name: "string", age: "number" }) }, (req) => {
      expectType<Equal<typeof req.body, { name: string; age: number }>>();
      return { name: req.body.name };
    });
    app.get("/plain/:slug", (req) => {
      expectType<Equal<typeof req.params.slug, string>>();
      expectType<Equal<typeof req.body, unknown>>();
      return { slug: req.params.slug, q: req.query.q };
    });
    assert.equal(app.routes().length, 5);
  });

  it("hold a declared NDJSON route to streams of its item", () => {
    const app = new App();
    const movies = async function* () {
      yield { id: 1, title: "Dune" };
    };
    app.get("/ok", { responses: { 200: ndjsonOf(Movie) } }, () => new NDJSONResponse(movies()));
    app.get(
      "/other",
      { responses: { 200: ndjsonOf(Movie) } },
      // @ts-expect-error an NDJSON stream of another item type
      () => new NDJSONResponse<z.infer<typeof Other>>([{ name: "x" }]),
    );
    app.get(
      "/sse",
      { responses: { 200: ndjsonOf(Movie) } },
      // @ts-expect-error an event stream where NDJSON is declared
      () => new SSEResponse<MovieT>(movies()),
    );
    app.get(
      "/text",
      { responses: { 200: ndjsonOf(Movie) } },
      // @ts-expect-error a text body where NDJSON is declared
      () => new TextResponse("Dune"),
    );
    app.get(
      "/problem",
      { responses: { 200: ndjsonOf(Movie) } },
      () => new ProblemResponse(404, "no movies"),
    );
    assert.equal(app.routes().length, 5);
  });

  it("hold a declared SSE route to event streams of its data", () => {
    const app = new App();
    app.get(
      "/ok",
      { responses: { 200: sseOf(Movie) } },
      () => new SSEResponse<MovieT>([{ id: 1, title: "Dune" }]),
    );
    app.get(
      "/ndjson",
      { responses: { 200: sseOf(Movie) } },
      // @ts-expect-error an NDJSON stream where an event stream is declared
      () => new NDJSONResponse<MovieT>([]),
    );
    app.get(
      "/other",
      { responses: { 200: sseOf(Movie) } },
      // @ts-expect-error an event stream of other data
      () => new SSEResponse<{ name: string }>([]),
    );
    assert.equal(app.routes().length, 3);
  });

  it("hold a declared JSON route to its schema's input", () => {
    const app = new App();
    app.get("/ok", { responses: { 200: Movie } }, () => ({ id: 1, title: "Dune" }));
    app.get(
      "/async",
      { responses: { 200: Movie } },
      async () => new APIResponse<typeof Movie>({ id: 1, title: "Dune" }),
    );
    // @ts-expect-error the wrong plain object shape
    app.get("/shape", { responses: { 200: Movie } }, () => ({ id: "1", title: "Dune" }));
    // @ts-expect-error a field missing
    app.get("/missing", { responses: { 200: Movie } }, () => ({ id: 1 }));
    app.get(
      "/json",
      { responses: { 200: Movie } },
      // @ts-expect-error a JSONResponse of another shape
      () => new JSONResponse({ name: "x" }),
    );
    app.get(
      "/many",
      { responses: { 200: Movie, 204: null, 404: Other } },
      (req): MovieT | EmptyResponse | { name: string } | RedirectResponse =>
        req.query.none
          ? new EmptyResponse()
          : req.query.go
            ? new RedirectResponse("/")
            : { name: "x" },
    );
    const Stamp = z.object({ at: z.date().transform((d) => d.toISOString()) });
    // The handler hands in the schema's input (a Date); the client gets its output (a string).
    app.get("/stamp", { responses: { 200: Stamp } }, () => ({ at: new Date() }));
    // @ts-expect-error the output type is not what a handler hands in
    app.get("/stamp-out", { responses: { 200: Stamp } }, () => ({ at: "2030-01-01" }));
    assert.equal(app.routes().length, 8);
  });

  it("type JSON-RPC params through their schema", () => {
    const rpc = new JSONRPCRouter().method(
      "add",
      { params: z.object({ a: z.number(), b: z.number() }) },
      (params) => {
        expectType<Equal<typeof params, { a: number; b: number }>>();
        // @ts-expect-error the params schema has no c
        return params.a + params.c;
      },
    );
    rpc.method("echo", (params) => {
      expectType<Equal<typeof params, unknown>>();
      return params;
    });
    assert.equal(typeof rpc.handler(), "function");
  });
});
