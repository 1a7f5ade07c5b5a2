/**
 * Type-level guarantees of the typed client (issue 14). The checks live in functions that never
 * run: `tsc --noEmit` fails if a `@ts-expect-error` line stops being an error, so loosened types
 * show up in `npm test`. The runtime test only checks that the app the types come from is real.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as v from "valibot";
import { z } from "zod";
import {
  type ClientOf,
  client,
  type EventStream,
  type Gap,
  type ItemStream,
  type StreamEvent,
} from "../src/client/index.ts";
import {
  App,
  JSONResponse,
  NDJSONResponse,
  ndjsonOf,
  type RoutesOf,
  SSEResponse,
  sse,
  sseOf,
} from "../src/index.ts";

type Equal<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<T extends true>(): T | undefined {
  return undefined;
}

const Movie = z.object({ id: z.number(), title: z.string() });
type MovieT = z.infer<typeof Movie>;
const Tick = z.object({ i: z.number(), sq: z.number() });
const ItemIn = z.object({ name: z.string().min(1), qty: z.number().int().min(1) });
const Item = ItemIn.extend({ id: z.number() });
const Stamp = z.object({ at: z.date().transform((d) => d.toISOString()) });

const api = new App().get("/status", () => ({ ok: true }));

const app = new App()
  .get(
    "/movies/:id",
    { params: z.object({ id: z.coerce.number() }), responses: { 200: Movie, 404: null } },
    (req) => ({ id: req.params.id, title: "Dune" }),
  )
  .get(
    "/movies",
    {
      query: z.object({ q: z.string().optional(), page: z.coerce.number().optional() }),
      responses: { 200: ndjsonOf(Movie, { id: "id" }) },
    },
    () => new NDJSONResponse([{ id: 1, title: "Dune" }]),
  )
  .get(
    "/ticks",
    { responses: { 200: sseOf(Tick, { events: ["tick", "reset"] }) } },
    () => new SSEResponse([sse({ event: "tick", data: { i: 0, sq: 0 } })]),
  )
  .get("/plain-events", { responses: { 200: sseOf(Tick) } }, () => new SSEResponse([]))
  .post(
    "/items",
    { body: ItemIn, responses: { 201: Item } },
    (req) => new JSONResponse({ id: 1, ...req.body }, { status: 201 }),
  )
  .get(
    "/search",
    { query: z.object({ q: z.string() }), headers: z.object({ "x-api-key": z.string() }) },
    (req) => ({ q: req.query.q }),
  )
  .get("/stamp", { responses: { 200: Stamp } }, () => ({ at: new Date() }))
  .get("/files/*", (req) => req.params["*"])
  .get("/users/:user/repos/:repo", () => ({}))
  .delete("/items/:id", { responses: { 204: null } }, () => undefined)
  .put("/notes/:id", { body: v.object({ text: v.string() }) }, (req) => ({ text: req.body.text }))
  .mount("/api/", api);

describe("typed client types", () => {
  it("record the routes of a chain in the app's type", () => {
    type R = RoutesOf<typeof app>;
    expectType<Equal<keyof R["/movies/:id"], "GET">>();
    expectType<Equal<keyof R["/items"], "POST">>();
    expectType<Equal<keyof R["/api/status"], "GET">>();
    // An app declared one statement at a time records nothing; it is still an App.
    const plain = new App();
    plain.get("/x", () => "x");
    expectType<Equal<RoutesOf<typeof plain>, {}>>();
    assert.ok(app.routes().length >= 11);
  });

  it("check path parameters against the path and its schema", () => {
    const c = client<typeof app>("http://localhost");
    const check = async () => {
      await c.get("/movies/:id", { params: { id: 7 } });
      await c.get("/movies/:id", { params: { id: "7" } });
      // @ts-expect-error the id is missing
      await c.get("/movies/:id", { params: {} });
      // @ts-expect-error no params at all
      await c.get("/movies/:id");
      // @ts-expect-error the path has no :slug
      await c.get("/movies/:id", { params: { id: 1, slug: "x" } });
      await c.get("/users/:user/repos/:repo", { params: { user: "ada", repo: "sluice" } });
      // @ts-expect-error :repo is missing
      await c.get("/users/:user/repos/:repo", { params: { user: "ada" } });
      await c.get("/files/*", { params: { "*": "a/b.txt" } });
      // @ts-expect-error an object is not a path parameter
      await c.get("/movies/:id", { params: { id: { n: 1 } } });
    };
    assert.equal(typeof check, "function");
  });

  it("refuse paths and methods the app has no route for", () => {
    const c = client<typeof app>("http://localhost");
    const check = async () => {
      // @ts-expect-error no such route
      await c.get("/nope");
      // @ts-expect-error /items has no GET
      await c.get("/items");
      // @ts-expect-error /movies has no POST
      await c.post("/movies");
      await c.get("/api/status");
    };
    assert.equal(typeof check, "function");
  });

  it("check bodies, queries and headers against their schemas", () => {
    const c = client<typeof app>("http://localhost");
    const check = async () => {
      await c.post("/items", { body: { name: "lamp", qty: 1 } });
      // @ts-expect-error qty must be a number
      await c.post("/items", { body: { name: "lamp", qty: "1" } });
      // @ts-expect-error name is missing
      await c.post("/items", { body: { qty: 1 } });
      // @ts-expect-error the body is required
      await c.post("/items", {});
      await c.put("/notes/:id", { params: { id: 1 }, body: { text: "hi" } });
      // @ts-expect-error a valibot body schema is held too
      await c.put("/notes/:id", { params: { id: 1 }, body: { text: 1 } });
      await c.get("/movies", { query: { q: "dune", page: 2 } });
      await c.get("/movies");
      // @ts-expect-error q is a string
      await c.get("/movies", { query: { q: 1 } });
      await c.get("/search", { query: { q: "x" }, headers: { "x-api-key": "k" } });
      // @ts-expect-error the x-api-key header is required
      await c.get("/search", { query: { q: "x" }, headers: {} });
      // @ts-expect-error the q query is required
      await c.get("/search", { headers: { "x-api-key": "k" } });
    };
    assert.equal(typeof check, "function");
  });

  it("type results from the declared responses", () => {
    const c = client<typeof app>("http://localhost");
    const check = async () => {
      const movie = await c.get("/movies/:id", { params: { id: 1 } });
      expectType<Equal<typeof movie, MovieT>>();
      const item = await c.post("/items", { body: { name: "lamp", qty: 1 } });
      expectType<Equal<typeof item, { name: string; qty: number; id: number }>>();
      // The client gets a schema's output: the date as the string it was serialised to.
      const stamp = await c.get("/stamp");
      expectType<Equal<typeof stamp, { at: string }>>();
      const gone = await c.delete("/items/:id", { params: { id: 1 } });
      expectType<Equal<typeof gone, undefined>>();
      // Undeclared responses are unknown, not any.
      const search = await c.get("/search", { query: { q: "x" }, headers: { "x-api-key": "k" } });
      expectType<Equal<typeof search, unknown>>();
      // @ts-expect-error title is a string
      const n: number = movie.title;
      return n;
    };
    assert.equal(typeof check, "function");
  });

  it("type stream items and events", () => {
    const c = client<typeof app>("http://localhost");
    const check = async () => {
      const movies = await c.get("/movies");
      expectType<Equal<typeof movies, ItemStream<MovieT>>>();
      for await (const m of movies) {
        expectType<Equal<typeof m, MovieT>>();
        // @ts-expect-error an item is a Movie, not a Tick
        void m.sq;
      }
      const ticks = await c.get("/ticks");
      expectType<Equal<typeof ticks, EventStream<{ i: number; sq: number }, "tick" | "reset">>>();
      for await (const ev of ticks) {
        expectType<
          Equal<typeof ev, StreamEvent<{ i: number; sq: number }, "tick" | "reset"> | Gap>
        >();
        // @ts-expect-error a gap has no data: narrow first
        void ev.data;
        if (ev.gap) {
          expectType<Equal<typeof ev.lastEventId, string>>();
          continue;
        }
        expectType<Equal<typeof ev.data.sq, number>>();
        expectType<Equal<typeof ev.event, "tick" | "reset">>();
        expectType<Equal<typeof ev.id, string | undefined>>();
        // @ts-expect-error the declared events are tick and reset
        if (ev.event === "other") return;
      }
      for await (const ev of await c.get("/plain-events")) {
        if (!ev.gap) expectType<Equal<typeof ev.event, string>>();
      }
    };
    assert.equal(typeof check, "function");
  });

  it("take only a validator whose output fits what the route sends", () => {
    const c = client<typeof app>("http://localhost");
    const check = async () => {
      await c.get("/movies", { validate: Movie });
      await c.get("/ticks", { validate: Tick });
      // @ts-expect-error a Tick validator for a stream of movies
      await c.get("/movies", { validate: Tick });
      await c.get("/movies/:id", { params: { id: 1 }, validate: Movie });
    };
    assert.equal(typeof check, "function");
  });

  it("give an app without recorded routes a loose client, still checking path parameters", () => {
    const plain = new App();
    const c = client<typeof plain>("http://localhost");
    const check = async () => {
      const x = await c.get("/anything/:id", { params: { id: 1 } });
      expectType<Equal<typeof x, unknown>>();
      // @ts-expect-error :id still needs a value
      await c.get("/anything/:id");
    };
    assert.equal(typeof check, "function");
    expectType<Equal<ClientOf<typeof app>, ReturnType<typeof client<typeof app>>>>();
  });
});
