/**
 * Typed routes end to end (issue 5), through both engines: request validation (params, query,
 * headers, body) with 422 problems, API responses checked against their declared schemas, declared
 * streams validated item by item when asked, and the docs page served from this server only.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setImmediate as tick } from "node:timers/promises";
import { Validator } from "@seriousme/openapi-schema-validator";
import { type } from "arktype";
import * as v from "valibot";
import { z } from "zod";
import { createContractApp } from "../examples/contract/app.ts";
import {
  APIResponse,
  App,
  type ErrorContext,
  JSONResponse,
  NDJSONResponse,
  ndjsonOf,
  SchemaError,
  SSEResponse,
  sseOf,
} from "../src/index.ts";
import { serveOpenAPI } from "../src/openapi/index.ts";
import { events, ndjson, type TestClient, testClient } from "../src/testing/index.ts";
import { BOUND, MODES, problem } from "./helpers/app.ts";
import { until } from "./helpers/wait.ts";

interface Issue {
  in: string;
  path: string;
  message: string;
}

interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  errors?: Issue[];
}

/** `[in, path]` of each issue of a 422, in order. */
function where(body: Problem): [string, string][] {
  assert.ok(Array.isArray(body.errors), "a 422 lists its issues");
  for (const e of body.errors) assert.ok(e.message.length > 0, `the issue at ${e.path} says why`);
  return body.errors.map((e) => [e.in, e.path]);
}

const Movie = z.object({ id: z.number().int(), title: z.string() });
const Launch = z.object({
  name: z.string(),
  at: z.date().transform((d) => d.toISOString()),
});
const launchAt = new Date(Date.UTC(2030, 0, 2, 3, 4, 5));

function typedApp(): { app: App; reports: { error: unknown; context: ErrorContext }[] } {
  const reports: { error: unknown; context: ErrorContext }[] = [];
  const app = new App().onError((error, context) => reports.push({ error, context }));

  app.get(
    "/movies/:id",
    {
      params: z.object({ id: z.coerce.number().int().positive() }),
      query: z.object({ page: z.coerce.number().int().default(1), q: z.string().optional() }),
    },
    (req) => ({
      id: req.params.id,
      idType: typeof req.params.id,
      page: req.query.page,
      pageType: typeof req.query.page,
      q: req.query.q ?? null,
    }),
  );
  app.get(
    "/whoami",
    { headers: z.object({ "x-api-key": z.string().min(4), "x-tenant": z.string().optional() }) },
    (req) => ({ key: req.headers["x-api-key"], tenant: req.headers["x-tenant"] ?? null }),
  );
  app.post(
    "/notes",
    {
      body: v.object({
        title: v.pipe(v.string(), v.minLength(1)),
        tags: v.array(v.string()),
        meta: v.object({ pinned: v.boolean() }),
      }),
    },
    (req) => new JSONResponse({ saved: req.body }, { status: 201 }),
  );
  app.post(
    "/people",
    { body: type({ name: "string > 0", age: "string.integer.parse" }), bodyLimit: 512 },
    (req) => ({ name: req.body.name, age: req.body.age, ageType: typeof req.body.age }),
  );
  app.get(
    "/launch",
    { responses: { 200: Launch } },
    () => new APIResponse({ name: "probe", at: launchAt }),
  );
  app.get("/launch-plain", { responses: { 200: Launch } }, () => ({ name: "probe", at: launchAt }));
  app.get(
    "/launch-explicit",
    () => new APIResponse({ name: "probe", at: launchAt }, { schema: Launch }),
  );
  app.get(
    "/launch-broken",
    () => new APIResponse({ name: "probe", at: "not a date" } as never, { schema: Launch }),
  );
  app.get(
    "/movie-broken",
    { responses: { 200: Movie } },
    // The cast stands for a bug that slipped past the types (data from an untyped source).
    () => ({ id: "7", title: "secret internals" }) as never,
  );
  app.get(
    "/movie-json-broken",
    { responses: { 200: Movie } },
    () => new JSONResponse({ id: 1.5, title: "Dune" }),
  );
  app.post(
    "/movies",
    { body: Movie, responses: { 201: Movie } },
    (req) =>
      new JSONResponse({ ...req.body, internal: "stripped" } as z.input<typeof Movie>, {
        status: 201,
      }),
  );

  const rows = (bad: unknown) =>
    async function* () {
      yield { id: 1, title: "Dune" };
      // An idle moment, so the first line is on its way before the bad item comes.
      await tick();
      yield bad as { id: number; title: string };
      yield { id: 3, title: "Arrival" };
    };
  app.get(
    "/strict.ndjson",
    { responses: { 200: ndjsonOf(Movie, { validate: true }) } },
    () => new NDJSONResponse(rows({ id: "two" })()),
  );
  app.get(
    "/loose.ndjson",
    { responses: { 200: ndjsonOf(Movie) } },
    () => new NDJSONResponse(rows({ id: "two" })()),
  );
  app.get(
    "/strict.sse",
    { responses: { 200: sseOf(Movie, { validate: true }) } },
    () => new SSEResponse(rows({ title: 2 })(), { keepalive: false }),
  );
  serveOpenAPI(app, { info: { title: "Typed <test>", version: "1.0.0" } });
  return { app, reports };
}

for (const mode of MODES) {
  describe(`request validation (${mode})`, () => {
    let client: TestClient;
    before(() => {
      client = testClient(typedApp().app, mode);
    });
    after(() => client.close());

    it("hands the handler coerced params and query, defaults applied", BOUND, async () => {
      const res = await client.fetch("/movies/42?q=dune%20%E2%98%83");
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), {
        id: 42,
        idType: "number",
        page: 1,
        pageType: "number",
        q: "dune ☃",
      });
      assert.equal(
        ((await (await client.fetch("/movies/1?page=3")).json()) as { page: number }).page,
        3,
      );
    });

    it("answers bad params with a 422 that points at them", BOUND, async () => {
      const body = await problem(await client.fetch("/movies/abc"), 422);
      assert.deepEqual(where(body), [["params", "/id"]]);
      assert.deepEqual(where(await problem(await client.fetch("/movies/-3"), 422)), [
        ["params", "/id"],
      ]);
    });

    it("answers a bad query with a 422 that points at it", BOUND, async () => {
      const body = await problem(await client.fetch("/movies/1?page=1.5"), 422);
      assert.deepEqual(where(body), [["query", "/page"]]);
    });

    it("validates headers by their lower-case names", BOUND, async () => {
      const ok = await client.fetch("/whoami", { headers: { "X-API-Key": "s3cret" } });
      assert.deepEqual(await ok.json(), { key: "s3cret", tenant: null });
      assert.deepEqual(where(await problem(await client.fetch("/whoami"), 422)), [
        ["headers", "/x-api-key"],
      ]);
      const short = await client.fetch("/whoami", { headers: { "x-api-key": "abc" } });
      assert.deepEqual(where(await problem(short, 422)), [["headers", "/x-api-key"]]);
    });

    it("hands the handler a validated JSON body", BOUND, async () => {
      const note = { title: "☃ snow", tags: ["a b", ".."], meta: { pinned: true } };
      const res = await client.fetch("/notes", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(note),
      });
      assert.equal(res.status, 201);
      assert.deepEqual(await res.json(), { saved: note });
    });

    it("lists every issue of a body with its JSON pointer", BOUND, async () => {
      const res = await client.fetch("/notes", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ title: "", tags: ["ok", 3], meta: { pinned: "yes" } }),
      });
      const body = await problem(res, 422);
      assert.deepEqual(where(body).sort(), [
        ["body", "/meta/pinned"],
        ["body", "/tags/1"],
        ["body", "/title"],
      ]);
    });

    it("reads a urlencoded or multipart form as the body object", BOUND, async () => {
      const urlencoded = await client.fetch("/people", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: "name=J%C3%BCrgen+M&age=41",
      });
      assert.deepEqual(await urlencoded.json(), { name: "Jürgen M", age: 41, ageType: "number" });
      const form = new FormData();
      form.set("name", "Ada");
      form.set("age", "36");
      const multipart = await client.fetch("/people", { method: "POST", body: form });
      assert.deepEqual(await multipart.json(), { name: "Ada", age: 36, ageType: "number" });
      const bad = await client.fetch("/people", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: "name=&age=old",
      });
      assert.deepEqual(where(await problem(bad, 422)).sort(), [
        ["body", "/age"],
        ["body", "/name"],
      ]);
    });

    it("still answers 415 for a body of another type and 413 past the limit", BOUND, async () => {
      const text = await client.fetch("/notes", {
        method: "POST",
        headers: { "content-type": "text/plain" },
        body: "title=x",
      });
      await problem(text, 415);
      const big = await client.fetch("/people", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ name: "x".repeat(600), age: "1" }),
      });
      await problem(big, 413);
    });

    it("answers malformed JSON with a 400, not a 422", BOUND, async () => {
      const res = await client.fetch("/notes", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{ nope",
      });
      await problem(res, 400);
    });
  });

  describe(`checked responses (${mode})`, () => {
    let client: TestClient;
    let reports: { error: unknown; context: ErrorContext }[];
    before(() => {
      const made = typedApp();
      reports = made.reports;
      client = testClient(made.app, mode);
    });
    after(() => client.close());

    it("serialises an APIResponse through the schema of its status", BOUND, async () => {
      for (const path of ["/launch", "/launch-explicit"]) {
        const res = await client.fetch(path);
        assert.equal(res.status, 200);
        assert.deepEqual(await res.json(), { name: "probe", at: launchAt.toISOString() });
      }
    });

    it("serialises a plain object returned from a declared route the same way", BOUND, async () => {
      const res = await client.fetch("/launch-plain");
      assert.deepEqual(await res.json(), { name: "probe", at: launchAt.toISOString() });
    });

    it("strips what the declared schema does not know, keeping the status", BOUND, async () => {
      const res = await client.fetch("/movies", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ id: 1, title: "Dune" }),
      });
      assert.equal(res.status, 201);
      assert.deepEqual(await res.json(), { id: 1, title: "Dune" });
    });

    for (const path of ["/launch-broken", "/movie-broken", "/movie-json-broken"]) {
      it(`answers a body that breaks its schema with a bare 500 (${path})`, BOUND, async () => {
        const before = reports.length;
        const res = await client.fetch(path);
        const text = await res.text();
        assert.equal(res.status, 500);
        assert.equal(res.headers.get("content-type"), "application/problem+json");
        assert.deepEqual(JSON.parse(text), {
          type: "about:blank",
          title: "Internal Server Error",
          status: 500,
        });
        assert.doesNotMatch(text, /secret|probe|Dune|not a date/);
        assert.equal(reports.length, before + 1, "the error hook hears of it");
        const { error, context } = reports.at(-1)!;
        assert.ok(error instanceof SchemaError);
        assert.equal(context.phase, "handler");
        assert.equal(context.request?.path, path);
      });
    }
  });

  describe(`declared streams (${mode})`, () => {
    let client: TestClient;
    let reports: { error: unknown; context: ErrorContext }[];
    before(() => {
      const made = typedApp();
      reports = made.reports;
      client = testClient(made.app, mode);
    });
    after(() => client.close());

    it("truncates an NDJSON stream at an item that breaks a validated schema", BOUND, async () => {
      const res = await client.fetch("/strict.ndjson");
      assert.equal(res.status, 200);
      const got: unknown[] = [];
      await assert.rejects(async () => {
        for await (const row of ndjson(res)) got.push(row);
      });
      assert.deepEqual(got, [{ id: 1, title: "Dune" }]);
      await until(() => reports.length > 0, 2000, "the error hook");
      assert.equal(reports[0]!.context.phase, "stream");
      assert.ok(reports[0]!.error instanceof SchemaError);
      reports.length = 0;
    });

    it("passes every item through when the stream is not validated", BOUND, async () => {
      const res = await client.fetch("/loose.ndjson");
      const got: unknown[] = [];
      for await (const row of ndjson(res)) got.push(row);
      assert.deepEqual(got, [{ id: 1, title: "Dune" }, { id: "two" }, { id: 3, title: "Arrival" }]);
      assert.equal(reports.length, 0);
    });

    it("truncates an event stream at data that breaks a validated schema", BOUND, async () => {
      const res = await client.fetch("/strict.sse");
      const got: unknown[] = [];
      await assert.rejects(async () => {
        for await (const ev of events(res)) got.push(JSON.parse(ev.data));
      });
      assert.deepEqual(got, [{ id: 1, title: "Dune" }]);
      await until(() => reports.length > 0, 2000, "the error hook");
      assert.equal(reports[0]!.context.phase, "stream");
      assert.ok(reports[0]!.error instanceof SchemaError);
      reports.length = 0;
    });
  });

  describe(`the docs page (${mode})`, () => {
    let client: TestClient;
    before(() => {
      client = testClient(typedApp().app, mode);
    });
    after(() => client.close());

    it("serves the document as application/vnd.oai.openapi+json", BOUND, async () => {
      const res = await client.fetch("/openapi.json");
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-type"), "application/vnd.oai.openapi+json");
      assert.equal(((await res.json()) as { openapi: string }).openapi, "3.2.0");
      const v31 = await client.fetch("/openapi.json?version=3.1");
      assert.equal(((await v31.json()) as { openapi: string }).openapi, "3.1.1");
    });

    it("loads nothing from outside the server, and serves what it loads", BOUND, async () => {
      const res = await client.fetch("/docs");
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
      assert.match(res.headers.get("content-security-policy") ?? "", /default-src 'self'/);
      const html = await res.text();
      assert.match(html, /Typed &lt;test&gt;/, "the title is escaped");
      const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
      assert.ok(refs.length >= 2, "the page loads its script and its stylesheet");
      assert.doesNotMatch(html, /https?:\/\//, "no absolute URL anywhere on the page");
      const types: Record<string, RegExp> = { css: /^text\/css/, js: /^text\/javascript/ };
      for (const ref of refs) {
        assert.ok(ref.startsWith("/") && !ref.startsWith("//"), `${ref} is same-origin`);
        const asset = await client.fetch(ref);
        assert.equal(asset.status, 200, ref);
        const ext = ref.split(".").at(-1)!;
        assert.match(asset.headers.get("content-type") ?? "", types[ext]!, ref);
        assert.ok((await asset.arrayBuffer()).byteLength > 1000, `${ref} has content`);
      }
    });

    it("refuses files of the docs' directory that are not its assets", BOUND, async () => {
      await problem(await client.fetch("/docs/assets/package.json"), 404);
      await problem(await client.fetch("/docs/assets/..%2Fpackage.json"), 404);
    });
  });
}

const contractOptions = { staticDir: "examples/contract/public", bigFile: "package.json" };

for (const mode of MODES) {
  describe(`the contract app's typed routes (${mode})`, () => {
    let client: TestClient;
    before(() => {
      client = testClient(createContractApp(contractOptions), mode);
    });
    after(() => client.close());

    const postItem = (body: unknown) =>
      client.fetch("/items", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });

    it("creates an item: 201 with its id, name and quantity", BOUND, async () => {
      const res = await postItem({ name: "☃ snow globe", qty: 2 });
      assert.equal(res.status, 201);
      const item = (await res.json()) as { id: number; name: string; qty: number };
      assert.deepEqual(Object.keys(item).sort(), ["id", "name", "qty"]);
      assert.equal(Number.isInteger(item.id), true);
      assert.equal(item.name, "☃ snow globe");
      assert.equal(item.qty, 2);
      const next = (await (await postItem({ name: "x".repeat(100), qty: 1 })).json()) as {
        id: number;
      };
      assert.notEqual(next.id, item.id, "each item gets its own id");
    });

    const invalid: [string, unknown, string[]][] = [
      ["an empty name", { name: "", qty: 1 }, ["/name"]],
      ["a name of 101 characters", { name: "x".repeat(101), qty: 1 }, ["/name"]],
      ["a quantity of 0", { name: "a", qty: 0 }, ["/qty"]],
      ["a fractional quantity", { name: "a", qty: 1.5 }, ["/qty"]],
      ["no fields", {}, ["/name", "/qty"]],
      ["fields of the wrong types", { name: 7, qty: "2" }, ["/name", "/qty"]],
      ["a body that is not an object", [1, 2], [""]],
    ];
    for (const [what, body, paths] of invalid) {
      it(`refuses ${what} with a 422 naming each path`, BOUND, async () => {
        const problemBody = await problem(await postItem(body), 422);
        assert.deepEqual(
          where(problemBody).sort(),
          paths.map((p) => ["body", p]),
        );
      });
    }

    const rpc = (body: unknown) =>
      client.fetch("/rpc", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });

    it("answers JSON-RPC add and echo, single and batched", BOUND, async () => {
      const add = await rpc({ jsonrpc: "2.0", method: "add", params: { a: 2, b: 40 }, id: 1 });
      assert.equal(add.status, 200);
      assert.deepEqual(await add.json(), { jsonrpc: "2.0", result: 42, id: 1 });
      const batch = await rpc([
        { jsonrpc: "2.0", method: "echo", params: { s: "☃" }, id: "e" },
        { jsonrpc: "2.0", method: "add", params: { a: 1, b: 2 } },
        { jsonrpc: "2.0", method: "add", params: { a: "1", b: 2 }, id: "bad" },
      ]);
      const replies = (await batch.json()) as {
        id: unknown;
        result?: unknown;
        error?: { code: number };
      }[];
      assert.equal(replies.length, 2, "the notification gets no reply");
      assert.deepEqual(replies[0], { jsonrpc: "2.0", result: { s: "☃" }, id: "e" });
      assert.equal(replies[1]!.id, "bad");
      assert.equal(replies[1]!.error?.code, -32602);
    });

    it("answers a JSON-RPC notification with no content", BOUND, async () => {
      const res = await rpc({ jsonrpc: "2.0", method: "echo", params: [1] });
      assert.equal(res.status, 204);
      assert.equal(await res.text(), "");
    });

    for (const [query, version] of [
      ["", "3.2.0"],
      ["?version=3.1", "3.1.1"],
    ] as const) {
      it(`serves a valid OpenAPI ${version} document at /openapi.json${query}`, BOUND, async () => {
        const res = await client.fetch(`/openapi.json${query}`);
        assert.equal(res.status, 200);
        assert.equal(res.headers.get("content-type"), "application/vnd.oai.openapi+json");
        const doc = (await res.json()) as { openapi: string; paths: Record<string, unknown> };
        assert.equal(doc.openapi, version);
        const result = await new Validator().validate(doc);
        assert.equal(result.valid, true, JSON.stringify(result.errors));
        assert.ok(doc.paths["/items"]);
        assert.ok(doc.paths["/rpc"]);
        assert.equal(JSON.stringify(doc).includes("itemSchema"), version === "3.2.0");
      });
    }

    it("serves a docs page that loads nothing from outside", BOUND, async () => {
      const html = await (await client.fetch("/docs")).text();
      assert.doesNotMatch(html, /https?:\/\/|\/\/[a-z]/i);
      for (const [, ref] of html.matchAll(/(?:src|href)="([^"]+)"/g)) {
        assert.equal((await client.fetch(ref!)).status, 200, ref);
      }
    });
  });
}
