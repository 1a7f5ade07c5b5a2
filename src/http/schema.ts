import {
  formatPath,
  type StandardIssue,
  type StandardSchemaV1,
} from "../internal/standard-schema.ts";
import { HTTPError } from "./errors.ts";

/** Any Standard Schema validator. */
export type AnySchema = StandardSchemaV1<any, any>;

/**
 * The output (validated) type of a schema.
 *
 * @example
 * type Item = Output<typeof ItemSchema>;
 */
export type Output<S> = S extends StandardSchemaV1<any, infer O> ? O : never;

/**
 * The input type of a schema (what a handler hands in before it is validated and serialised).
 *
 * @example
 * type ItemIn = Input<typeof ItemSchema>;
 */
export type Input<S> = S extends StandardSchemaV1<infer I, any> ? I : never;

/** A declared NDJSON stream of items of one schema (see `ndjsonOf`). */
export interface NDJSONDecl<S extends AnySchema = AnySchema, Id extends string = string> {
  readonly stream: "ndjson";
  readonly item: S;
  readonly mediaType: "application/x-ndjson" | "application/jsonl";
  readonly description?: string;
  /** Validate each item at run time too (off by default: types and the document hold it). */
  readonly validate?: boolean;
  /**
   * The field of each item that is its id: the response names it in `Sluice-Item-Id`, and a client
   * that lost the connection resumes by sending the last one as `Last-Event-ID`.
   */
  readonly id?: Id;
}

/** A declared Server-Sent Events stream whose event data has one schema (see `sseOf`). */
export interface SSEDecl<S extends AnySchema = AnySchema, E extends string = string> {
  readonly stream: "sse";
  readonly item: S;
  /** The event names the stream may send, for the document and the client's types. */
  readonly events?: readonly E[];
  readonly description?: string;
  /** Validate each event's data at run time too (off by default: types and the document hold it). */
  readonly validate?: boolean;
}

/** A declared buffered body with a schema and, optionally, a description. */
export interface BodyDecl<S extends AnySchema = AnySchema> {
  readonly schema: S;
  readonly description?: string;
  readonly mediaType?: string;
}

/**
 * What a route may answer with one status: a schema (a JSON body), a stream declaration, a body
 * declaration with a description, or null for no content.
 */
export type ResponseDecl = AnySchema | NDJSONDecl | SSEDecl | BodyDecl | null;

/**
 * The response header in which a resumable NDJSON stream names the field of its items that is their
 * id (see `ndjsonOf`'s `id`), so that a client knows what to send back as `Last-Event-ID`.
 */
export const ITEM_ID_HEADER = "sluice-item-id";

/** The names of an item's fields that can serve as its id (a string or a number). */
type IdField<T> = {
  [K in keyof T & string]-?: NonNullable<T[K]> extends string | number ? K : never;
}[keyof T & string];

/**
 * Declares a route's NDJSON stream of `item`s: the handler must return an `NDJSONResponse` of that
 * type, and the API document carries the `itemSchema`. With `validate: true` each item is also
 * checked as it is sent (a failure is a mid-stream error); that costs a validation per item, so it
 * is opt-in for streams. With `id: "field"` the stream is resumable: the response names the field
 * in a `Sluice-Item-Id` header, a client that loses the connection sends the last item's value of it
 * as `Last-Event-ID`, and the handler reads it as `req.lastEventId` to go on after it.
 *
 * @example
 * app.get("/movies", { responses: { 200: ndjsonOf(Movie, { id: "id" }) } }, (req) =>
 *   new NDJSONResponse(moviesAfter(req.lastEventId)));
 */
export function ndjsonOf<S extends AnySchema, const Id extends IdField<Output<S>> = never>(
  item: S,
  options: {
    mediaType?: NDJSONDecl["mediaType"];
    description?: string;
    validate?: boolean;
    id?: Id;
  } = {},
): NDJSONDecl<S, Id> {
  return {
    stream: "ndjson",
    item,
    mediaType: options.mediaType ?? "application/x-ndjson",
    description: options.description,
    validate: options.validate,
    id: options.id,
  };
}

/**
 * Declares a route's event stream whose `data` follows `item`: the handler must return an
 * `SSEResponse` of that type, and the document describes each event. `events` lists the event names
 * it sends (the typed client types each event's name from it). With `validate: true` each event's
 * data is also checked as it is sent.
 *
 * @example
 * app.get("/ticks", { responses: { 200: sseOf(Tick, { events: ["tick"] }) } }, () => new SSEResponse(ticks()));
 */
export function sseOf<S extends AnySchema, const E extends string = string>(
  item: S,
  options: { events?: readonly E[]; description?: string; validate?: boolean } = {},
): SSEDecl<S, E> {
  return {
    stream: "sse",
    item,
    events: options.events,
    description: options.description,
    validate: options.validate,
  };
}

/**
 * True for a value that is a Standard Schema validator.
 *
 * @example
 * isSchema(z.string()); // true
 */
export function isSchema(value: unknown): value is AnySchema {
  return (
    (typeof value === "object" || typeof value === "function") &&
    value !== null &&
    typeof (value as Partial<AnySchema>)["~standard"]?.validate === "function"
  );
}

/** The schema of a buffered response declaration, if it has one. */
export function declSchema(decl: ResponseDecl | undefined): AnySchema | undefined {
  if (!decl) return undefined;
  if (isSchema(decl)) return decl;
  if ("schema" in decl) return decl.schema;
  return undefined;
}

/** One validation issue as it appears in a 422 problem: where, which path, what. */
export interface ValidationIssue {
  in: "params" | "query" | "headers" | "body";
  path: string;
  message: string;
}

/**
 * Validates a request part; a failure throws a 422 HTTPError whose problem lists every issue with
 * where it is (`in`) and its path (a JSON pointer).
 *
 * @example
 * const body = await validateRequestPart(ItemSchema, await req.json(), "body");
 */
export async function validateRequestPart<S extends AnySchema>(
  schema: S,
  value: unknown,
  part: ValidationIssue["in"],
): Promise<Output<S>> {
  const result = await schema["~standard"].validate(value);
  if (result.issues) {
    const errors = result.issues.map((i: StandardIssue) => ({
      in: part,
      path: formatPath(i.path),
      message: i.message,
    }));
    throw new HTTPError(422, `the request ${part} is invalid`, {}, { errors });
  }
  return result.value as Output<S>;
}
