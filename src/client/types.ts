/**
 * The typed client's types: from the routes an app's type records (see `Routes` in core/routes.ts)
 * to what a call takes and what it gives back. Everything is computed per call, from the one route
 * called, so a large app costs the compiler little until a route is used.
 */

import type { PathParams, RoutesOf } from "../core/routes.ts";
import type { AnySchema, BodyDecl, Input, NDJSONDecl, Output, SSEDecl } from "../http/schema.ts";
import type { StandardSchemaV1 } from "../internal/standard-schema.ts";
import type { EventStream, ItemStream, ResumeOptions } from "./stream.ts";

/** A value the client writes into a path or a query: sent as its string. */
export type Scalar = string | number | boolean | bigint;

/** A query value: a scalar, several (the name repeated), or nothing (left out). */
export type QueryValue = Scalar | readonly Scalar[] | null | undefined;

/** A value typed from a schema's input where that says more than `unknown` (a coercing schema). */
type FromSchema<V, Else> = unknown extends V ? Else : V;

type SchemaOf<O, Part extends string> = O extends {
  readonly [K in Part]: infer S extends AnySchema;
}
  ? S
  : undefined;

/** A part is optional when nothing in it is required. */
type Part<Name extends string, T> = {} extends T ? { [K in Name]?: T } : { [K in Name]: T };

/** The path parameters: the names the path declares, typed from the params schema's input. */
type ParamsInput<Path extends string, O> =
  SchemaOf<O, "params"> extends infer S extends AnySchema
    ? {
        [K in keyof PathParams<Path>]: K extends keyof Input<S>
          ? FromSchema<Input<S>[K], Scalar>
          : Scalar;
      }
    : { [K in keyof PathParams<Path>]: Scalar };

/** The query: the query schema's input, each value as the URL carries it. */
type QueryInput<O> =
  SchemaOf<O, "query"> extends infer S extends AnySchema
    ? { [K in keyof Input<S>]: FromSchema<Input<S>[K], QueryValue> }
    : Record<string, QueryValue>;

/** The headers: the headers schema's input (lower-case names), and any others. */
type HeadersInput<O> =
  SchemaOf<O, "headers"> extends infer S extends AnySchema
    ? { [K in keyof Input<S>]: FromSchema<Input<S>[K], string> } & Record<string, string>
    : Record<string, string>;

/** The body: the body schema's input, sent as JSON; without a schema, anything. */
type BodyInput<O> =
  SchemaOf<O, "body"> extends infer S extends AnySchema ? { body: Input<S> } : { body?: unknown };

/** A status code that is a success (2xx). */
type Success<K> = K extends string | number ? (`${K}` extends `2${string}` ? K : never) : never;

/** The declarations of a route's success responses. */
type SuccessDecl<O> = O extends { readonly responses: infer Rs }
  ? Rs[Success<keyof Rs> & keyof Rs]
  : never;

/** What the client makes of one declared response. */
type Decoded<D> = D extends null
  ? undefined
  : D extends NDJSONDecl<infer S, any>
    ? ItemStream<Output<S>>
    : D extends SSEDecl<infer S, infer E>
      ? EventStream<Output<S>, E>
      : D extends BodyDecl<infer S>
        ? Output<S>
        : D extends AnySchema
          ? Output<D>
          : unknown;

/** One item of a declared response: a body, an NDJSON item, an event's data. */
type ItemOf<D> =
  D extends NDJSONDecl<infer S, any>
    ? Output<S>
    : D extends SSEDecl<infer S, any>
      ? Output<S>
      : D extends BodyDecl<infer S>
        ? Output<S>
        : D extends AnySchema
          ? Output<D>
          : unknown;

/**
 * What a call of a route gives back: its declared success response (a JSON body's output type, an
 * `ItemStream` for NDJSON, an `EventStream` for SSE, undefined for no content); `unknown` for a
 * route that declares none.
 *
 * @example
 * type Movie = CallResult<{ responses: { 200: typeof MovieSchema } }>;
 */
export type CallResult<O> = [SuccessDecl<O>] extends [never] ? unknown : Decoded<SuccessDecl<O>>;

/** Options every call takes. */
export interface CallOptions<Item = unknown> {
  /** Aborting it cancels the request, or the stream (the server sees the client go away). */
  signal?: AbortSignal;
  /**
   * Checks what comes back against a schema (the route's own, or one whose output fits it): a JSON
   * body, each NDJSON item, each event's data. A failure throws a SchemaError.
   */
  validate?: StandardSchemaV1<unknown, Item>;
  /** How a stream resumes (see `ResumeOptions`); false: a lost connection ends it with an error. */
  resume?: ResumeOptions | false;
  /** Starts a stream after this id (sent as `Last-Event-ID`), as a resumed stream would. */
  lastEventId?: string;
}

/**
 * What a call of a route takes: its path parameters, query, headers and (for methods with a body)
 * body, typed from the route's path and schemas, plus the options of every call.
 *
 * @example
 * const input: CallInput<"/movies/:id", {}, false> = { params: { id: 7 } };
 */
export type CallInput<Path extends string, O, WithBody extends boolean> = Part<
  "params",
  ParamsInput<Path, O>
> &
  Part<"query", QueryInput<O>> &
  Part<"headers", HeadersInput<O>> &
  (WithBody extends true ? BodyInput<O> : {}) &
  CallOptions<ItemOf<SuccessDecl<O>>>;

/** The input argument: optional when nothing in it is required. */
type Args<Path extends string, O, WithBody extends boolean> =
  {} extends CallInput<Path, O, WithBody>
    ? [input?: CallInput<Path, O, WithBody>]
    : [input: CallInput<Path, O, WithBody>];

/** The paths with a route for a method; any path when the app's type records no routes. */
type PathsFor<R, M extends string> = [keyof R] extends [never]
  ? string
  : { [P in keyof R & string]: M extends keyof R[P] ? P : never }[keyof R & string];

/** The declared options of one route. */
type OptionsFor<R, P, M extends string> = P extends keyof R
  ? M extends keyof R[P]
    ? R[P][M]
    : {}
  : {};

/**
 * A client of one app, typed from the routes its type records: each method takes a route's path as
 * declared (`/movies/:id`), checks the input against its schemas, and resolves with its declared
 * success response; an error status rejects with a ProblemError.
 */
export interface Client<R> {
  /**
   * GET a route: its JSON body, an `ItemStream` (NDJSON) or an `EventStream` (SSE).
   *
   * @example
   * const movie = await api.get("/movies/:id", { params: { id: 7 } });
   */
  get<P extends PathsFor<R, "GET">>(
    path: P,
    ...input: Args<P, OptionsFor<R, P, "GET">, false>
  ): Promise<CallResult<OptionsFor<R, P, "GET">>>;
  /**
   * POST to a route, its body sent as JSON.
   *
   * @example
   * const item = await api.post("/items", { body: { name: "lamp", qty: 1 } });
   */
  post<P extends PathsFor<R, "POST">>(
    path: P,
    ...input: Args<P, OptionsFor<R, P, "POST">, true>
  ): Promise<CallResult<OptionsFor<R, P, "POST">>>;
  /**
   * PUT to a route.
   *
   * @example
   * await api.put("/items/:id", { params: { id: 1 }, body: { name: "lamp", qty: 2 } });
   */
  put<P extends PathsFor<R, "PUT">>(
    path: P,
    ...input: Args<P, OptionsFor<R, P, "PUT">, true>
  ): Promise<CallResult<OptionsFor<R, P, "PUT">>>;
  /**
   * PATCH a route.
   *
   * @example
   * await api.patch("/items/:id", { params: { id: 1 }, body: { qty: 3 } });
   */
  patch<P extends PathsFor<R, "PATCH">>(
    path: P,
    ...input: Args<P, OptionsFor<R, P, "PATCH">, true>
  ): Promise<CallResult<OptionsFor<R, P, "PATCH">>>;
  /**
   * DELETE a route.
   *
   * @example
   * await api.delete("/items/:id", { params: { id: 1 } });
   */
  delete<P extends PathsFor<R, "DELETE">>(
    path: P,
    ...input: Args<P, OptionsFor<R, P, "DELETE">, true>
  ): Promise<CallResult<OptionsFor<R, P, "DELETE">>>;
}

/**
 * The routes as one flat object, path → method → options. The app's type holds them as an
 * intersection, one member per route or mount; reading a route from that costs a walk over every
 * member at each call, from this only a lookup. Worked out once per client type.
 */
type Flat<R> = { [P in keyof R]: { [M in keyof R[P]]: R[P][M] } };

/**
 * The client type for an app type: `ClientOf<typeof app>`.
 *
 * @example
 * let api: ClientOf<typeof app>;
 */
export type ClientOf<A> = Client<Flat<RoutesOf<A>>>;
