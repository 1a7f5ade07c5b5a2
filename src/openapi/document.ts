import type { AppCore } from "../core/app.ts";
import type { RouteInfo, RouteOptions } from "../core/routes.ts";
import type { AnySchema, ResponseDecl } from "../http/schema.ts";
import { declSchema, ITEM_ID_HEADER, isSchema } from "../http/schema.ts";
import { statusText } from "../http/status.ts";

/** A JSON Schema object (2020-12 dialect, as OpenAPI 3.1 and 3.2 use). */
export type JSONSchema = Record<string, unknown>;

/**
 * Turns a validator's schema into JSON Schema: "input" for what a request must send, "output" for
 * what a response sends.
 */
export type SchemaConverter = (schema: AnySchema, io: "input" | "output") => JSONSchema;

/** Options of the OpenAPI document. */
export interface OpenAPIOptions {
  /** The document's `info` (title and version of the API). */
  info?: { title: string; version: string; description?: string };
  /** "3.2" (default: stream item schemas as `itemSchema`) or "3.1" for tools that do not read 3.2. */
  version?: "3.2" | "3.1";
  /** The document's `servers`. */
  servers?: { url: string; description?: string }[];
  /**
   * Converters by validator vendor (`schema["~standard"].vendor`), for validators that do not
   * offer Standard JSON Schema themselves — e.g. `{ valibot: (s) => toJsonSchema(s) }` with
   * `@valibot/to-json-schema`. zod and arktype convert themselves.
   */
  converters?: Record<string, SchemaConverter>;
}

/** The problem details object (RFC 9457) every error response carries. */
const PROBLEM: JSONSchema = {
  type: "object",
  description: "Problem details (RFC 9457)",
  properties: {
    type: { type: "string", format: "uri-reference" },
    title: { type: "string" },
    status: { type: "integer", minimum: 400, maximum: 599 },
    detail: { type: "string" },
    instance: { type: "string", format: "uri-reference" },
  },
  required: ["type", "title", "status"],
};

const VALIDATION_PROBLEM: JSONSchema = {
  allOf: [
    { $ref: "#/components/schemas/Problem" },
    {
      type: "object",
      properties: {
        errors: {
          type: "array",
          items: {
            type: "object",
            properties: {
              in: { type: "string", enum: ["params", "query", "headers", "body"] },
              path: { type: "string", description: "JSON pointer to the offending value" },
              message: { type: "string" },
            },
            required: ["in", "path", "message"],
          },
        },
      },
      required: ["errors"],
    },
  ],
};

/**
 * JSON Schema of a validator: through the Standard JSON Schema interface when the validator offers
 * it (zod, arktype), a converter registered for its vendor (valibot), or else an open schema that
 * says which validator could not be converted — never an error.
 *
 * @example
 * toJSONSchema(z.object({ n: z.number() }), "output"); // { type: "object", properties: { n: { type: "number" } }, ... }
 */
export function toJSONSchema(
  schema: AnySchema,
  io: "input" | "output",
  converters: Record<string, SchemaConverter> = {},
): JSONSchema {
  const std = schema["~standard"] as AnySchema["~standard"] & {
    jsonSchema?: Record<"input" | "output", (o: { target: string }) => JSONSchema>;
  };
  let out: JSONSchema | undefined;
  try {
    if (std.jsonSchema && typeof std.jsonSchema[io] === "function") {
      out = std.jsonSchema[io]({ target: "draft-2020-12" });
    } else if (converters[std.vendor]) {
      out = converters[std.vendor]!(schema, io);
    }
  } catch {
    out = undefined;
  }
  if (!out)
    return { description: `a ${std.vendor} schema without a JSON Schema converter: any value` };
  const { $schema: _, ...rest } = out;
  return rest;
}

/** A validator's schema to the JSON Schema that stands for it inside the document. */
type Convert = (schema: AnySchema, io: "input" | "output") => JSONSchema;

/**
 * Makes converted schemas fit to embed in the document. A converter writes a standalone schema,
 * whose `$ref`s point into itself (`#/$defs/Node`, or `#` for a recursive root); inside the
 * document they would resolve against the document instead (its root is the base URI, JSON Schema
 * 2020-12 §8.2.1, OpenAPI 3.1 §4.8.24.1). So `$defs` move to `components.schemas` and the
 * references follow them; a schema that refers to its own root becomes a component too.
 */
function embedder(components: Record<string, JSONSchema>): (schema: JSONSchema) => JSONSchema {
  const reused = new Map<string, string>();
  const fresh = (base: string): string => {
    const clean = base.replace(/[^A-Za-z0-9._-]/g, "_") || "Schema";
    let name = clean;
    for (let n = 2; name in components; n++) name = `${clean}${n}`;
    components[name] = {}; // reserved until the schema is placed
    return name;
  };
  const done = new Map<string, JSONSchema>();
  return (schema) => {
    const refs = new Set<string>();
    collectRefs(schema, refs);
    if (refs.size === 0) return schema;
    // The same schema on several routes is placed once.
    const text = JSON.stringify(schema);
    const placed = done.get(text);
    if (placed) return placed;
    const { $defs, ...root } = schema as JSONSchema & { $defs?: Record<string, JSONSchema> };
    const names = new Map<string, string>();
    for (const [key, def] of Object.entries($defs ?? {})) {
      // A definition without references of its own (a registered leaf schema) is shared between
      // the schemas that use it; anything else gets a name of its own.
      const leaf = !JSON.stringify(def).includes('"$ref"');
      const id = `${key}\0${JSON.stringify(def)}`;
      const name = (leaf ? reused.get(id) : undefined) ?? fresh(key);
      if (leaf) reused.set(id, name);
      names.set(key, name);
    }
    const toDef = (ref: string): string | undefined => {
      const m = /^#\/\$defs\/([^/]+)(.*)$/.exec(ref);
      // A JSON pointer escapes "/" and "~" in a name (RFC 6901 §4).
      const name = m ? names.get(m[1]!.replace(/~1/g, "/").replace(/~0/g, "~")) : undefined;
      return name === undefined ? undefined : `#/components/schemas/${name}${m![2]}`;
    };
    const selfRef = [...refs].some((r) => r.startsWith("#") && toDef(r) === undefined);
    const rootName = selfRef ? fresh(typeof root.title === "string" ? root.title : "Schema") : "";
    const rewrite = (ref: string): string =>
      !ref.startsWith("#")
        ? ref
        : (toDef(ref) ?? `#/components/schemas/${rootName}${ref.slice(1)}`);
    for (const [key, def] of Object.entries($defs ?? {})) {
      components[names.get(key)!] = rewriteRefs(def, rewrite) as JSONSchema;
    }
    let out = rewriteRefs(root, rewrite) as JSONSchema;
    if (selfRef) {
      components[rootName] = out;
      out = { $ref: `#/components/schemas/${rootName}` };
    }
    done.set(text, out);
    return out;
  };
}

function collectRefs(value: unknown, into: Set<string>): void {
  if (Array.isArray(value)) for (const v of value) collectRefs(v, into);
  else if (typeof value === "object" && value !== null) {
    for (const [k, v] of Object.entries(value)) {
      if (k === "$ref" && typeof v === "string") into.add(v);
      else collectRefs(v, into);
    }
  }
}

function rewriteRefs(value: unknown, rewrite: (ref: string) => string): unknown {
  if (Array.isArray(value)) return value.map((v) => rewriteRefs(v, rewrite));
  if (typeof value !== "object" || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = k === "$ref" && typeof v === "string" ? rewrite(v) : rewriteRefs(v, rewrite);
  }
  return out;
}

/** `/items/:id` → `/items/{id}`; a trailing `*` becomes `{wildcard}`. */
function templatePath(path: string): { path: string; names: string[] } {
  const names: string[] = [];
  const out = path
    .split("/")
    .map((seg) => {
      if (seg === "*") {
        names.push("wildcard");
        return "{wildcard}";
      }
      return seg.replace(/:([A-Za-z0-9_]+)(\([^)]*\))?/g, (_m, name: string) => {
        names.push(name);
        return `{${name}}`;
      });
    })
    .join("/");
  return { path: out, names };
}

function operationId(method: string, path: string): string {
  const words = path
    .replace(/[:*{}]/g, "")
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean);
  return method.toLowerCase() + words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join("");
}

/** Parameters of one location (`path`, `query`, `header`) from an object schema. */
function parametersFrom(
  schema: JSONSchema,
  location: "path" | "query" | "header",
): Record<string, unknown>[] {
  const props = (schema.properties ?? {}) as Record<string, JSONSchema>;
  const required = new Set((schema.required ?? []) as string[]);
  return Object.entries(props).map(([name, s]) => {
    const { description, ...rest } = s;
    const p: Record<string, unknown> = {
      name,
      in: location,
      required: location === "path" || required.has(name),
      schema: rest,
    };
    if (description !== undefined) p.description = description;
    return p;
  });
}

function problemContent(ref: string): Record<string, unknown> {
  return { "application/problem+json": { schema: { $ref: `#/components/schemas/${ref}` } } };
}

/** The `content` of one declared response. */
function responseContent(decl: ResponseDecl, v: "3.2" | "3.1", convert: Convert) {
  if (decl === null) return undefined;
  if (!isSchema(decl) && "stream" in decl) {
    const item = convert(decl.item, "output");
    if (decl.stream === "ndjson") {
      // OpenAPI 3.2 describes sequential media types by their items (§4.14.3, `itemSchema`).
      return v === "3.2"
        ? { [decl.mediaType]: { itemSchema: item } }
        : {
            // 3.1 cannot describe a sequence: the body is text, and the item schema rides along in
            // an extension rather than passing the whole body off as one value.
            [decl.mediaType]: {
              schema: {
                type: "string",
                description: "newline-delimited JSON: each line is one item (x-sequence-item)",
              },
              "x-sequence-item": item,
            },
          };
    }
    const event: JSONSchema = {
      type: "object",
      required: ["data"],
      properties: {
        data: { type: "string", contentMediaType: "application/json", contentSchema: item },
        event: decl.events ? { type: "string", enum: [...decl.events] } : { type: "string" },
        id: { type: "string" },
        retry: { type: "integer", minimum: 0 },
      },
    };
    return v === "3.2"
      ? { "text/event-stream": { itemSchema: event } }
      : {
          "text/event-stream": {
            schema: {
              type: "string",
              description: "a stream of server-sent events (x-sequence-item)",
            },
            "x-sequence-item": event,
          },
        };
  }
  const schema = declSchema(decl)!;
  const mediaType =
    !isSchema(decl) && "mediaType" in decl && decl.mediaType ? decl.mediaType : "application/json";
  return { [mediaType]: { schema: convert(schema, "output") } };
}

function describe(decl: ResponseDecl, status: number): string {
  if (decl && !isSchema(decl) && decl.description) return decl.description;
  return statusText(status);
}

function operation(
  route: RouteInfo,
  names: string[],
  v: "3.2" | "3.1",
  convert: Convert,
  ids: Set<string>,
) {
  const o: RouteOptions = route.options;
  const op: Record<string, unknown> = {};
  if (o.summary) op.summary = o.summary;
  if (o.description) op.description = o.description;
  if (o.tags) op.tags = o.tags;
  let id = o.operationId ?? operationId(route.method, route.path);
  for (let n = 2; ids.has(id); n++)
    id = `${o.operationId ?? operationId(route.method, route.path)}${n}`;
  ids.add(id);
  op.operationId = id;
  if (o.deprecated) op.deprecated = true;

  const params: Record<string, unknown>[] = [];
  if (o.params) {
    // Only names in the path template are path parameters (OpenAPI 3.2 §4.12.2.1).
    const fromSchema = parametersFrom(convert(o.params, "input"), "path");
    params.push(...fromSchema.filter((p) => names.includes(p.name as string)));
  }
  for (const name of names) {
    if (!params.some((p) => p.name === name))
      params.push({ name, in: "path", required: true, schema: { type: "string" } });
  }
  if (o.query) params.push(...parametersFrom(convert(o.query, "input"), "query"));
  if (o.headers) params.push(...parametersFrom(convert(o.headers, "input"), "header"));
  if (params.length) op.parameters = params;

  if (o.body) {
    const body = convert(o.body, "input");
    op.requestBody = {
      required: true,
      // The body reader takes JSON and both form encodings (read as an object).
      content: {
        "application/json": { schema: body },
        "application/x-www-form-urlencoded": { schema: body },
        "multipart/form-data": { schema: body },
      },
    };
  }

  const responses: Record<string, unknown> = {};
  if (o.responses) {
    for (const [code, decl] of Object.entries(o.responses)) {
      const status = Number(code);
      const content = responseContent(decl, v, convert);
      const response: Record<string, unknown> = { description: describe(decl, status) };
      if (content) response.content = content;
      if (decl && !isSchema(decl) && "stream" in decl && decl.stream === "ndjson" && decl.id) {
        // A resumable NDJSON stream names its items' id field; a client that lost the connection
        // sends the last item's value of it back as Last-Event-ID.
        response.headers = {
          [ITEM_ID_HEADER]: {
            description:
              "The field of each item that is its id: send the last one as Last-Event-ID to resume after it",
            schema: { type: "string", const: decl.id },
          },
        };
      }
      responses[code] = response;
    }
  } else {
    responses["200"] = { description: "OK" };
  }
  if ((o.params || o.query || o.headers || o.body) && !responses["422"]) {
    responses["422"] = {
      description: "The request failed validation",
      content: problemContent("ValidationProblem"),
    };
  }
  if (o.body) {
    responses["413"] ??= {
      description: "The body is larger than the limit",
      content: problemContent("Problem"),
    };
    responses["415"] ??= {
      description: "The body is neither JSON nor a form",
      content: problemContent("Problem"),
    };
  }
  responses.default = { description: "An error", content: problemContent("Problem") };
  op.responses = responses;
  return op;
}

/**
 * Builds the OpenAPI document (3.2 by default, or 3.1) of an app from its route table: paths,
 * parameters, request bodies, responses per status with problem responses, tags, summaries — and for
 * NDJSON and SSE routes the schema of each item (`itemSchema` in 3.2).
 *
 * @example
 * const doc = openAPIDocument(app, { info: { title: "Movies", version: "1.0.0" } });
 */
export function openAPIDocument(
  app: AppCore,
  options: OpenAPIOptions = {},
): Record<string, unknown> {
  const v = options.version ?? "3.2";
  const conv = options.converters ?? {};
  const schemas: Record<string, JSONSchema> = {
    Problem: PROBLEM,
    ValidationProblem: VALIDATION_PROBLEM,
  };
  const embed = embedder(schemas);
  const convert: Convert = (schema, io) => embed(toJSONSchema(schema, io, conv));
  const paths: Record<string, Record<string, unknown>> = {};
  const ids = new Set<string>();
  for (const route of app.routes()) {
    if (route.options.hidden) continue;
    const method = route.method.toLowerCase();
    // OpenAPI names these methods; HEAD is implied by GET and not listed separately.
    if (!["get", "put", "post", "delete", "options", "patch", "trace", "query"].includes(method))
      continue;
    if (method === "query" && v === "3.1") continue;
    const { path, names } = templatePath(route.path);
    paths[path] ??= {};
    paths[path][method] = operation(route, names, v, convert, ids);
  }
  const doc: Record<string, unknown> = {
    openapi: v === "3.2" ? "3.2.0" : "3.1.1",
    info: options.info ?? { title: "API", version: "0.0.0" },
  };
  if (options.servers) doc.servers = options.servers;
  doc.paths = paths;
  doc.components = { schemas };
  return doc;
}
