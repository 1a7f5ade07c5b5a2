import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Validator } from "@seriousme/openapi-schema-validator";
import { toJsonSchema } from "@valibot/to-json-schema";
import { type } from "arktype";
import * as v from "valibot";
import { z } from "zod";
import { createContractApp } from "../../examples/contract/app.ts";
import { ndjsonOf, sseOf } from "../http/schema.ts";
import { App } from "../index.ts";
import { JSONResponse } from "../responses/buffered.ts";
import { NDJSONResponse } from "../responses/ndjson.ts";
import { SSEResponse } from "../responses/sse.ts";
import {
  type JSONSchema,
  openAPIDocument,
  type SchemaConverter,
  toJSONSchema,
} from "./document.ts";
import { OpenAPIResponse, serveOpenAPI } from "./serve.ts";

const valibot: SchemaConverter = (schema) => toJsonSchema(schema as never) as JSONSchema;

const Movie = z.object({ id: z.number().int(), title: z.string().min(1) });
const Tick = z.object({ n: z.number() });

type Doc = {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, JSONSchema> };
};
type Operation = {
  operationId: string;
  summary?: string;
  description?: string;
  tags?: string[];
  deprecated?: boolean;
  parameters?: { name: string; in: string; required: boolean; schema: JSONSchema }[];
  requestBody?: { required: boolean; content: Record<string, { schema: JSONSchema }> };
  responses: Record<
    string,
    { description: string; content?: Record<string, Media>; headers?: Record<string, unknown> }
  >;
};
type Media = { schema?: JSONSchema; itemSchema?: JSONSchema };

function sampleApp(): App {
  const app = new App();
  app.get(
    "/movies/:id",
    {
      summary: "One movie",
      description: "Looks a movie up by its id.",
      tags: ["movies"],
      params: z.object({ id: z.coerce.number().int() }),
      query: z.object({ fields: z.string().optional(), page: z.coerce.number().default(1) }),
      headers: type({ "x-api-key": "string", "accept-language?": "string" }),
      responses: { 200: Movie, 404: null },
    },
    () => ({ id: 1, title: "Dune" }),
  );
  app.post(
    "/movies",
    {
      tags: ["movies"],
      operationId: "createMovie",
      body: Movie,
      responses: { 201: { schema: Movie, description: "The movie, as stored" } },
    },
    (req) => new JSONResponse(req.body, { status: 201 }),
  );
  app.delete("/movies/:id", { deprecated: true, responses: { 204: null } }, () => undefined);
  app.get(
    "/movies.ndjson",
    { tags: ["streams"], responses: { 200: ndjsonOf(Movie, { description: "Every movie" }) } },
    () => new NDJSONResponse<z.input<typeof Movie>>([]),
  );
  app.get(
    "/movies.jsonl",
    { responses: { 200: ndjsonOf(Movie, { mediaType: "application/jsonl", id: "id" }) } },
    () => new NDJSONResponse<z.input<typeof Movie>>([]),
  );
  app.get(
    "/ticks",
    { tags: ["streams"], responses: { 200: sseOf(Tick, { events: ["tick", "done"] }) } },
    () => new SSEResponse<{ n: number }>([]),
  );
  app.post(
    "/notes",
    {
      body: v.object({ text: v.pipe(v.string(), v.maxLength(280)) }),
      responses: { 200: v.object({ ok: v.boolean() }) },
    },
    () => ({ ok: true }),
  );
  app.get("/secret", { hidden: true }, () => "hidden");
  app.get("/files/*", () => "a file");
  app.get("/a-b", () => "dash");
  app.get("/a/b", () => "slash");
  app.get("/dup-one", { operationId: "same" }, () => "one");
  app.get("/dup-two", { operationId: "same" }, () => "two");
  app.route("HEAD", "/ping", () => undefined);
  app.route("PURGE", "/cache", () => undefined);
  const api = new App();
  api.get("/status", { tags: ["ops"] }, () => ({ ok: true }));
  api.get("/users/:name", () => "user");
  const v1 = new App();
  v1.get("/", () => "root of v1");
  api.mount("/v1", v1);
  app.mount("/api", api);
  return app;
}

/** Builds the document of `app` as a client would read it (through JSON). */
function build(app: App, options: Parameters<typeof openAPIDocument>[1] = {}): Doc {
  return JSON.parse(JSON.stringify(openAPIDocument(app, options))) as Doc;
}

/** Validates `doc` against the OpenAPI schema of its version, failing with the errors. */
async function assertValid(doc: Doc): Promise<void> {
  const validator = new Validator();
  const result = await validator.validate(structuredClone(doc));
  assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2));
  assert.equal(validator.version, doc.openapi.slice(0, 3));
}

describe("openAPIDocument", () => {
  const doc = build(sampleApp(), {
    info: { title: "Movies ☃", version: "2.0.0" },
    converters: { valibot },
  });
  const doc31 = build(sampleApp(), { version: "3.1", converters: { valibot } });

  it("is a valid OpenAPI 3.2 document, and a valid 3.1 one when asked", async () => {
    assert.equal(doc.openapi, "3.2.0");
    assert.equal(doc31.openapi, "3.1.1");
    assert.deepEqual(doc.info, { title: "Movies ☃", version: "2.0.0" });
    await assertValid(doc);
    await assertValid(doc31);
  });

  it("is checked by a validator that refuses a broken document", async () => {
    const broken = structuredClone(doc) as unknown as Record<string, unknown>;
    delete broken.info;
    const result = await new Validator().validate(broken);
    assert.equal(result.valid, false);
  });

  it("templates path parameters and lists the paths declared", () => {
    assert.deepEqual(Object.keys(doc.paths).sort(), [
      "/a-b",
      "/a/b",
      "/api/status",
      "/api/users/{name}",
      "/api/v1",
      "/dup-one",
      "/dup-two",
      "/files/{wildcard}",
      "/movies",
      "/movies.jsonl",
      "/movies.ndjson",
      "/movies/{id}",
      "/notes",
      "/ticks",
    ]);
    assert.deepEqual(Object.keys(doc.paths["/movies/{id}"]!).sort(), ["delete", "get"]);
  });

  it("leaves out hidden routes, HEAD routes and methods OpenAPI does not name", () => {
    assert.equal(doc.paths["/secret"], undefined);
    assert.equal(doc.paths["/ping"], undefined);
    assert.equal(doc.paths["/cache"], undefined);
  });

  it("describes the parameters from their schemas", () => {
    const params = doc.paths["/movies/{id}"]!.get!.parameters!;
    const by = (name: string) => params.find((p) => p.name === name);
    assert.deepEqual(by("id"), {
      name: "id",
      in: "path",
      required: true,
      schema: { type: "integer", minimum: -9007199254740991, maximum: 9007199254740991 },
    });
    assert.equal(by("fields")?.in, "query");
    assert.equal(by("fields")?.required, false);
    assert.equal(by("page")?.in, "query");
    assert.equal(by("x-api-key")?.in, "header");
    assert.equal(by("x-api-key")?.required, true);
    assert.deepEqual(by("x-api-key")?.schema, { type: "string" });
    assert.equal(by("accept-language")?.required, false);
    assert.equal(params.length, 5);
  });

  it("describes path parameters without a schema as strings", () => {
    assert.deepEqual(doc.paths["/api/users/{name}"]!.get!.parameters, [
      { name: "name", in: "path", required: true, schema: { type: "string" } },
    ]);
    assert.deepEqual(doc.paths["/files/{wildcard}"]!.get!.parameters, [
      { name: "wildcard", in: "path", required: true, schema: { type: "string" } },
    ]);
  });

  it("describes the request body and the responses per status", () => {
    const post = doc.paths["/movies"]!.post!;
    assert.equal(post.requestBody?.required, true);
    assert.deepEqual(
      post.requestBody?.content["application/json"]?.schema,
      toJSONSchema(Movie, "input"),
    );
    assert.equal(post.responses["201"]?.description, "The movie, as stored");
    assert.deepEqual(post.responses["201"]?.content, {
      "application/json": { schema: toJSONSchema(Movie, "output") },
    });
    const get = doc.paths["/movies/{id}"]!.get!;
    assert.deepEqual(get.responses["404"], { description: "Not Found" });
    assert.deepEqual(doc.paths["/movies/{id}"]!.delete!.responses["204"], {
      description: "No Content",
    });
    assert.deepEqual(doc.paths["/a-b"]!.get!.responses["200"], { description: "OK" });
  });

  it("adds the problem responses: 422 where a request is validated, 413 and 415 with a body, and a default", () => {
    const ref = (name: string) => ({
      "application/problem+json": { schema: { $ref: `#/components/schemas/${name}` } },
    });
    const get = doc.paths["/movies/{id}"]!.get!;
    assert.deepEqual(get.responses["422"]?.content, ref("ValidationProblem"));
    assert.equal(get.responses["413"], undefined);
    assert.deepEqual(get.responses.default?.content, ref("Problem"));
    const post = doc.paths["/movies"]!.post!;
    assert.deepEqual(post.responses["413"]?.content, ref("Problem"));
    assert.deepEqual(post.responses["415"]?.content, ref("Problem"));
    assert.equal(doc.paths["/a-b"]!.get!.responses["422"], undefined);
    assert.deepEqual(doc.paths["/a-b"]!.get!.responses.default?.content, ref("Problem"));
    assert.ok(doc.components.schemas.Problem);
    assert.ok(doc.components.schemas.ValidationProblem);
  });

  it("carries tags, summary, description and deprecation from the route options", () => {
    const get = doc.paths["/movies/{id}"]!.get!;
    assert.equal(get.summary, "One movie");
    assert.equal(get.description, "Looks a movie up by its id.");
    assert.deepEqual(get.tags, ["movies"]);
    assert.equal(get.deprecated, undefined);
    assert.equal(doc.paths["/movies/{id}"]!.delete!.deprecated, true);
    assert.deepEqual(doc.paths["/api/status"]!.get!.tags, ["ops"]);
  });

  it("gives every operation a unique id, keeping the ones declared", () => {
    const ids = Object.values(doc.paths).flatMap((ops) =>
      Object.values(ops).map((o) => o.operationId),
    );
    assert.equal(new Set(ids).size, ids.length, `duplicates in ${ids.join(", ")}`);
    assert.equal(doc.paths["/movies"]!.post!.operationId, "createMovie");
    assert.equal(doc.paths["/movies/{id}"]!.get!.operationId, "getMoviesId");
    assert.equal(doc.paths["/dup-one"]!.get!.operationId, "same");
    assert.notEqual(doc.paths["/dup-two"]!.get!.operationId, "same");
    assert.notEqual(doc.paths["/a-b"]!.get!.operationId, doc.paths["/a/b"]!.get!.operationId);
  });

  it("lists the routes of mounted apps under their prefix", () => {
    assert.ok(doc.paths["/api/status"]?.get);
    assert.ok(doc.paths["/api/v1"]?.get, "a mounted app's root is its prefix");
    assert.equal(doc.paths["/status"], undefined);
  });

  it("describes an NDJSON route by its items (3.2 itemSchema)", () => {
    const res = doc.paths["/movies.ndjson"]!.get!.responses["200"]!;
    assert.equal(res.description, "Every movie");
    assert.deepEqual(res.content, {
      "application/x-ndjson": { itemSchema: toJSONSchema(Movie, "output") },
    });
    assert.deepEqual(Object.keys(doc.paths["/movies.jsonl"]!.get!.responses["200"]!.content!), [
      "application/jsonl",
    ]);
  });

  it("names a resumable NDJSON stream's id field in its response header", () => {
    const header = doc.paths["/movies.jsonl"]!.get!.responses["200"]!.headers;
    assert.deepEqual(Object.keys(header ?? {}), ["sluice-item-id"]);
    assert.deepEqual((header!["sluice-item-id"] as { schema: unknown }).schema, {
      type: "string",
      const: "id",
    });
    assert.equal(doc.paths["/movies.ndjson"]!.get!.responses["200"]!.headers, undefined);
  });

  it("describes an SSE route's events, their data as JSON with its schema", () => {
    const media = doc.paths["/ticks"]!.get!.responses["200"]!.content!["text/event-stream"]!;
    const event = media.itemSchema as {
      required: string[];
      properties: Record<string, JSONSchema>;
    };
    assert.deepEqual(event.required, ["data"]);
    assert.deepEqual(event.properties.data, {
      type: "string",
      contentMediaType: "application/json",
      contentSchema: toJSONSchema(Tick, "output"),
    });
    assert.deepEqual(event.properties.event, { type: "string", enum: ["tick", "done"] });
    assert.ok(event.properties.id);
    assert.ok(event.properties.retry);
  });

  it("has no itemSchema in the 3.1 form: a stream is text, its item schema in an extension", () => {
    assert.doesNotMatch(JSON.stringify(doc31), /itemSchema/);
    const nd = doc31.paths["/movies.ndjson"]!.get!.responses["200"]!.content![
      "application/x-ndjson"
    ]! as Record<string, any>;
    assert.equal(nd.schema?.type, "string");
    assert.deepEqual(nd["x-sequence-item"], toJSONSchema(Movie, "output"));
    const events = doc31.paths["/ticks"]!.get!.responses["200"]!.content![
      "text/event-stream"
    ]! as Record<string, any>;
    assert.equal(events.schema?.type, "string");
    assert.deepEqual(
      events["x-sequence-item"].properties.data.contentSchema,
      toJSONSchema(Tick, "output"),
    );
  });

  it("converts valibot through the converter registered for it", () => {
    const notes = doc.paths["/notes"]!.post!;
    assert.deepEqual(notes.requestBody?.content["application/json"]?.schema, {
      type: "object",
      properties: { text: { type: "string", maxLength: 280 } },
      required: ["text"],
    });
    assert.deepEqual(notes.responses["200"]?.content?.["application/json"]?.schema, {
      type: "object",
      properties: { ok: { type: "boolean" } },
      required: ["ok"],
    });
  });

  it("documents a validator without a converter as an open schema", async () => {
    const bare = build(sampleApp());
    const schema = bare.paths["/notes"]!.post!.requestBody!.content["application/json"]!.schema;
    assert.equal(schema.type, undefined, "any value");
    assert.match(String(schema.description), /valibot/);
    await assertValid(bare);
  });
});

describe("schemas with references", () => {
  interface Category {
    name: string;
    children: Category[];
  }
  const Category: z.ZodType<Category> = z.object({
    name: z.string(),
    get children() {
      return z.array(Category);
    },
  });
  const Money = z.object({ cents: z.number().int(), currency: z.string() }).meta({ id: "Money" });
  function refApp(): App {
    const app = new App();
    app.get("/tree", { responses: { 200: Category } }, () => ({ name: "root", children: [] }));
    app.get(
      "/tree.ndjson",
      { responses: { 200: ndjsonOf(Category) } },
      () => new NDJSONResponse<Category>([]),
    );
    app.get("/price", { responses: { 200: z.object({ net: Money, gross: Money }) } }, () => ({
      net: { cents: 1, currency: "EUR" },
      gross: { cents: 2, currency: "EUR" },
    }));
    app.post("/refund", { body: z.object({ amount: Money }) }, () => "ok");
    return app;
  }

  /** Follows a `#/...` pointer through the document. */
  function resolve(doc: Doc, ref: string): unknown {
    return ref
      .slice(2)
      .split("/")
      .reduce<unknown>((at, key) => (at as Record<string, unknown> | undefined)?.[key], doc);
  }

  /** Every `$ref` in a value. */
  function refs(value: unknown): string[] {
    if (typeof value !== "object" || value === null) return [];
    return Object.entries(value).flatMap(([k, v]) =>
      k === "$ref" && typeof v === "string" ? [v] : refs(v),
    );
  }

  for (const version of ["3.2", "3.1"] as const) {
    it(`points every reference at something in the document (${version})`, async () => {
      const doc = build(refApp(), { version });
      await assertValid(doc);
      const all = refs(doc);
      assert.ok(all.length > 0);
      for (const ref of all) {
        assert.match(ref, /^#\/components\/schemas\//);
        assert.notEqual(resolve(doc, ref), undefined, `${ref} resolves`);
      }
    });
  }

  it("makes a recursive schema a component that refers to itself", () => {
    const doc = build(refApp());
    const media = doc.paths["/tree"]!.get!.responses["200"]!.content!["application/json"]!;
    const ref = String(media.schema?.$ref);
    const tree = resolve(doc, ref) as { properties: { children: { items: JSONSchema } } };
    assert.deepEqual(tree.properties.children.items, { $ref: ref });
    const item =
      doc.paths["/tree.ndjson"]!.get!.responses["200"]!.content!["application/x-ndjson"]!;
    assert.deepEqual(item.itemSchema, { $ref: ref }, "the same schema is placed once");
  });

  it("places a registered schema under its id, once per form", () => {
    const doc = build(refApp());
    const price = doc.paths["/price"]!.get!.responses["200"]!.content!["application/json"]!
      .schema as { properties: { net: JSONSchema; gross: JSONSchema } };
    assert.deepEqual(price.properties.net, { $ref: "#/components/schemas/Money" });
    assert.deepEqual(price.properties.gross, price.properties.net);
    const money = doc.components.schemas.Money as { properties: object; required: string[] };
    assert.deepEqual(Object.keys(money.properties), ["cents", "currency"]);
    assert.deepEqual(money.required, ["cents", "currency"]);
    // The body's Money is its input form (it allows extra keys), so it is placed apart.
    const body = doc.paths["/refund"]!.post!.requestBody!.content["application/json"]!.schema as {
      properties: { amount: { $ref: string } };
    };
    assert.notEqual(body.properties.amount.$ref, "#/components/schemas/Money");
    assert.ok(resolve(doc, body.properties.amount.$ref));
  });
});

describe("toJSONSchema", () => {
  it("converts zod and arktype through their own Standard JSON Schema", () => {
    assert.deepEqual(toJSONSchema(z.object({ n: z.number() }), "input"), {
      type: "object",
      properties: { n: { type: "number" } },
      required: ["n"],
    });
    assert.deepEqual(toJSONSchema(type({ n: "number" }), "output"), {
      type: "object",
      properties: { n: { type: "number" } },
      required: ["n"],
    });
  });

  it("tells input from output where a schema transforms", () => {
    const Page = z.object({ page: z.string().pipe(z.coerce.number()) });
    const input = toJSONSchema(Page, "input") as { properties: { page: JSONSchema } };
    const output = toJSONSchema(Page, "output") as { properties: { page: JSONSchema } };
    assert.equal(input.properties.page.type, "string");
    assert.equal(output.properties.page.type, "number");
  });

  it("drops the $schema keyword, which OpenAPI sets for the whole document", () => {
    for (const schema of [z.string(), type("string")]) {
      assert.equal("$schema" in toJSONSchema(schema, "output"), false);
    }
  });

  it("never throws: a failing converter or a schema without one gives an open schema", () => {
    const failing: SchemaConverter = () => {
      throw new Error("cannot convert");
    };
    const open = toJSONSchema(v.string(), "input", { valibot: failing });
    assert.equal(open.type, undefined);
    assert.match(String(open.description), /valibot/);
    const custom = {
      "~standard": { version: 1, vendor: "home-made", validate: (x: unknown) => ({ value: x }) },
    } as const;
    assert.match(String(toJSONSchema(custom, "output").description), /home-made/);
  });
});

describe("the contract app's document", () => {
  const app = createContractApp({ staticDir: ".", bigFile: "package.json" });

  for (const version of ["3.2", "3.1"] as const) {
    it(`is a valid OpenAPI ${version} document`, async () => {
      await assertValid(build(app, { version }));
    });
  }

  it("describes POST /items with its body, its 201 and its 422", () => {
    const post = build(app).paths["/items"]!.post!;
    const body = post.requestBody!.content["application/json"]!.schema as {
      properties: Record<string, JSONSchema>;
      required: string[];
    };
    assert.deepEqual(body.required.sort(), ["name", "qty"]);
    assert.equal(body.properties.name?.minLength, 1);
    assert.equal(body.properties.name?.maxLength, 100);
    assert.equal(body.properties.qty?.type, "integer");
    assert.equal(body.properties.qty?.minimum, 1);
    const created = post.responses["201"]!.content!["application/json"]!.schema as {
      required: string[];
    };
    assert.deepEqual(created.required.sort(), ["id", "name", "qty"]);
    assert.ok(post.responses["422"]);
  });

  it("carries the item schemas of its NDJSON and SSE routes", () => {
    const doc = build(app);
    const nd = doc.paths["/ndjson"]!.get!.responses["200"]!.content!["application/x-ndjson"]!;
    assert.deepEqual(Object.keys((nd.itemSchema as { properties: object }).properties), [
      "i",
      "sq",
    ]);
    const sse = doc.paths["/sse"]!.get!.responses["200"]!.content!["text/event-stream"]!;
    const data = (sse.itemSchema as { properties: { data: JSONSchema } }).properties.data;
    assert.equal(data.contentMediaType, "application/json");
    assert.ok(data.contentSchema);
  });

  it("leaves out the routes that serve the document and the docs page", () => {
    const paths = Object.keys(build(app).paths);
    assert.equal(paths.includes("/openapi.json"), false);
    assert.equal(
      paths.some((p) => p.startsWith("/docs")),
      false,
    );
  });
});

describe("OpenAPIResponse", () => {
  it("sends a document as application/vnd.oai.openapi+json", () => {
    const res = new OpenAPIResponse({ openapi: "3.2.0" });
    assert.equal(res.status, 200);
    assert.equal(res.headers["content-type"], "application/vnd.oai.openapi+json");
    assert.equal(res.render(), '{"openapi":"3.2.0"}');
  });
});

describe("serveOpenAPI", () => {
  it("serves the document at the path given, and no docs page when told not to", async () => {
    const app = new App();
    app.get("/hello", () => "hi");
    serveOpenAPI(app, { path: "/spec.json", docsPath: false });
    const res = await app.fetch(new Request("http://localhost/spec.json"));
    assert.equal(res.headers.get("content-type"), "application/vnd.oai.openapi+json");
    const doc = (await res.json()) as Doc;
    assert.deepEqual(Object.keys(doc.paths), ["/hello"]);
    assert.equal((await app.fetch(new Request("http://localhost/docs"))).status, 404);
  });
});
