import type { SluiceRequest } from "../http/request.ts";
import type {
  AnySchema,
  BodyDecl,
  Input,
  NDJSONDecl,
  Output,
  ResponseDecl,
  SSEDecl,
} from "../http/schema.ts";
import type { APIResponse } from "../responses/api.ts";
import type { SluiceResponse } from "../responses/base.ts";
import type { EmptyResponse, JSONResponse, RedirectResponse } from "../responses/buffered.ts";
import type { NDJSONResponse } from "../responses/ndjson.ts";
import type { ProblemResponse } from "../responses/problem.ts";
import type { SSEResponse } from "../responses/sse.ts";

/**
 * The types of routes: what a handler receives and may return, middleware, route options, and
 * what is mounted under a prefix.
 */

/** What a handler may return (see `coerce`). */
export type HandlerResult =
  | SluiceResponse
  | globalThis.Response
  | string
  | Uint8Array
  | Record<string, unknown>
  | readonly unknown[]
  | undefined
  | void;

/** The names of a route's path parameters, from its path: `/a/:id/b/:slug` → "id" | "slug". */
type ParamNames<Path extends string> = Path extends `${string}:${infer Rest}`
  ? Rest extends `${infer Name}/${infer Tail}`
    ? CleanName<Name> | ParamNames<`/${Tail}`>
    : CleanName<Rest>
  : never;
type CleanName<N extends string> = N extends `${infer Base}(${string}` ? Base : N;

/**
 * The params object a route's path gives its handler: each `:name` a string, and `*` for a trailing
 * wildcard.
 *
 * @example
 * type P = PathParams<"/users/:id/files/*">; // { id: string; "*": string }
 */
export type PathParams<Path extends string> = {
  [K in ParamNames<Path>]: string;
} & (Path extends `${string}*` ? { "*": string } : unknown);

/**
 * What the declarations of a route make of its request: params from the path (or its params
 * schema), query, headers and body from their schemas.
 */
export type ShapeOf<Path extends string, O> = {
  params: O extends { params: infer S extends AnySchema } ? Output<S> : PathParams<Path>;
  query: O extends { query: infer S extends AnySchema } ? Output<S> : Record<string, string>;
  headers: O extends { headers: infer S extends AnySchema }
    ? Output<S>
    : Readonly<Record<string, string>>;
  body: O extends { body: infer S extends AnySchema } ? Output<S> : unknown;
};

/** What a handler may return for one declared response. */
type DeclResult<D> = D extends null
  ? EmptyResponse | undefined | void
  : D extends NDJSONDecl<infer S>
    ? NDJSONResponse<Input<S>>
    : D extends SSEDecl<infer S>
      ? SSEResponse<Input<S>>
      : D extends BodyDecl<infer S>
        ? Input<S> | JSONResponse<Input<S>> | APIResponse<S>
        : D extends AnySchema
          ? Input<D> | JSONResponse<Input<D>> | APIResponse<D>
          : never;

/**
 * What a handler may return: anything `coerce` accepts, or — when the route declares `responses`
 * — only what those declarations allow (plus problems and redirects).
 */
export type ResultOf<O> = O extends { responses: infer R }
  ? DeclResult<R[keyof R]> | ProblemResponse | Redirect
  : HandlerResult;

/**
 * A RedirectResponse has no members of its own, so any response would pass for one: a response
 * with content or a stream source is kept out, or a declared route could return anything.
 */
type Redirect = RedirectResponse & { readonly content?: never; readonly source?: never };

/**
 * A route handler: gets the request, returns a value (see `HandlerResult`), maybe asynchronously.
 * Its types follow the route's path and declarations.
 *
 * @example
 * const hello: Handler<"/hello/:name"> = (req) => `hello, ${req.params.name}`;
 */
export type Handler<Path extends string = string, O = {}> = (
  req: SluiceRequest<ShapeOf<Path, O>>,
) => ResultOf<O> | Promise<ResultOf<O>>;

/**
 * Middleware wraps what comes after it: it may act before, call `next()` to run the rest and get
 * its response, change that response, or return a value of its own without calling `next()`. When
 * what follows throws (a 404, an HTTPError, a failing handler), `next()` resolves to the problem
 * response the error renders as (already reported to the error hook), so after-hooks see errors too.
 *
 * @example
 * const timing: Middleware = async (req, next) => {
 *   const t = performance.now();
 *   const res = await next();
 *   return res.setHeader("server-timing", `app;dur=${(performance.now() - t).toFixed(1)}`);
 * };
 */
export type Middleware = (
  req: SluiceRequest<any>,
  next: () => Promise<SluiceResponse>,
) => HandlerResult | Promise<HandlerResult>;

/**
 * Options of one route: limits, middleware, documentation, and schemas (any Standard Schema
 * validator: zod, valibot, arktype, ...). Declared schemas validate the request before the handler
 * runs (a failure is a 422 listing each issue with its path), type the handler, check what it
 * returns, and describe the route in the OpenAPI document.
 */
export interface RouteOptions {
  /** Largest request body the readers accept, in bytes (default 1 MiB). */
  bodyLimit?: number;
  /** Middleware for this route only, run inside the app's. */
  use?: Middleware | Middleware[];
  /** A short summary, for the API document. */
  summary?: string;
  /** A longer description, for the API document. */
  description?: string;
  /** Tags, for the API document. */
  tags?: string[];
  /** A unique id for the operation, for the API document (default: from method and path). */
  operationId?: string;
  /** Marks the operation deprecated in the API document. */
  deprecated?: boolean;
  /** Leaves the route out of the API document. */
  hidden?: boolean;
  /** Schema of the path parameters (strings in; coerce where you need numbers). */
  params?: AnySchema;
  /** Schema of the query (first value of each name, strings). */
  query?: AnySchema;
  /** Schema of the headers (lower-case names, strings). */
  headers?: AnySchema;
  /** Schema of the body: JSON, or a form (urlencoded or multipart) read as an object. */
  body?: AnySchema;
  /** What the route answers, by status. */
  responses?: { readonly [status: number]: ResponseDecl };
}

/**
 * The routes an app declared, recorded in its type: each route method (`get`, `post`, ..., `route`,
 * `all`, `mount`) returns the app typed with one more entry, path → method → the route's options,
 * so a chain (`new App().get(...).post(...)`) ends in a type that lists every route. A phantom
 * member, never set at run time: the typed client (`sluice/client`) reads it from `typeof app`.
 * The options are kept as declared; nothing is computed from them until a client asks, so an app
 * that no client reads pays nothing for it.
 *
 * @example
 * const app = new App().get("/movies/:id", { responses: { 200: Movie } }, (req) => find(req.params.id));
 * type R = RoutesOf<typeof app>; // { "/movies/:id": { GET: { responses: { 200: typeof Movie } } } }
 */
export interface Routes<R> {
  /** @internal a type-level record, never set */
  readonly "~routes"?: R;
}

/**
 * One route as recorded in the app's type.
 *
 * @example
 * type R = Route<"GET", "/status", {}>; // Routes<{ "/status": { GET: {} } }>
 */
export type Route<M extends string, Path extends string, O> = Routes<{
  [P in Path]: { [K in M]: O };
}>;

/**
 * The routes recorded in an app's type (see `Routes`): `{}` for an app whose routes were declared
 * one statement at a time rather than chained.
 *
 * @example
 * type R = RoutesOf<typeof app>;
 */
export type RoutesOf<A> = A extends { readonly "~routes"?: infer R }
  ? unknown extends R
    ? {}
    : R
  : {};

/** A mount prefix as the app keeps it: without trailing slashes. */
type Trimmed<P extends string> = P extends `${infer Head}/` ? Trimmed<Head> : P;
/** A mounted route's path under its prefix, as `routes()` spells it. */
type Joined<Prefix extends string, P extends string> = P extends "/"
  ? Prefix extends ""
    ? "/"
    : Prefix
  : `${Prefix}${P}`;

/**
 * The routes of `target` under `prefix`, as mounting records them (a static directory has none).
 *
 * @example
 * type R = RoutesOf<Mounted<"/api", typeof api>>; // { "/api/status": ... }
 */
export type Mounted<Prefix extends string, T> = Routes<{
  [K in keyof RoutesOf<T> & string as Joined<Trimmed<Prefix>, K>]: RoutesOf<T>[K];
}>;

/** One route of the app, as the API document sees it. */
export interface RouteInfo {
  readonly method: string;
  /** The path as declared (`:param`, `:param(regex)`, a trailing `*`), with mount prefixes. */
  readonly path: string;
  readonly options: RouteOptions;
}

/**
 * Something mounted under a prefix: another app, or a static directory. It answers requests whose
 * path is below the prefix (the request's `path` is relative to it).
 */
export interface Mountable {
  /**
   * Answers a request below the prefix; undefined when it passes it on (only a `fallthrough`
   * mount may), and the app routes on as if the mount were not there.
   * @internal
   */
  dispatch(req: SluiceRequest<any>): Promise<SluiceResponse | undefined>;
  /**
   * It may pass requests on (a static mount with `fallthrough: true`): tried before the routes of
   * the same path, and its path may be shared with them.
   * @internal
   */
  readonly fallthrough?: boolean;
}

/** The methods `all()` declares, and the ones a mount answers. */
export const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;
/** Methods a route can be declared for. */
export type Method = (typeof METHODS)[number] | (string & {});
