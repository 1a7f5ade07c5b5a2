import FindMyWay, { type HTTPMethod } from "find-my-way";
import { coerce } from "./coerce.ts";
import { fetchApp } from "./engine/fetch/fetch.ts";
import type { FetchInfo } from "./engine/fetch/request.ts";
import type { RunningServer, ServeOptions } from "./engine/node/serve.ts";
import { disposeSource, runTeardowns } from "./engine/pump.ts";
import { HTTPError, problemBody } from "./errors.ts";
import type { SluiceRequest } from "./request.ts";
import { APIResponse } from "./responses/api.ts";
import { BufferedResponse, type SluiceResponse } from "./responses/base.ts";
import { EmptyResponse, JSONResponse, type RedirectResponse } from "./responses/buffered.ts";
import type { NDJSONResponse } from "./responses/ndjson.ts";
import type { SSEResponse } from "./responses/sse.ts";
import type { StreamSource } from "./responses/stream.ts";
import {
  type AnySchema,
  type BodyDecl,
  declSchema,
  type Input,
  type NDJSONDecl,
  type Output,
  type ResponseDecl,
  type SSEDecl,
  validateRequestPart,
} from "./schema.ts";
import { type StaticOptions, staticMount } from "./static/mount.ts";
import type { ErrorStatus } from "./status.ts";
import type { TemplateEngine } from "./templates/engine.ts";

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

/** One route of the app, as the API document sees it. */
export interface RouteInfo {
  readonly method: string;
  /** The path as declared (find-my-way syntax: `:param`, `*`), with mount prefixes. */
  readonly path: string;
  readonly options: RouteOptions;
}

/** What the error hook is told about where an error happened. */
export interface ErrorContext {
  /** The request being answered, when there is one. */
  request?: SluiceRequest<any>;
  /** handler (before the first byte), stream (after it), background, teardown, or server. */
  phase: "handler" | "stream" | "background" | "teardown" | "server";
}

/** The app's error hook. */
export type ErrorHook = (error: unknown, context: ErrorContext) => void;

/**
 * Something mounted under a prefix: another app, or a static directory. It answers requests whose
 * path is below the prefix (the request's `path` is relative to it).
 */
export interface Mountable {
  /** @internal */
  dispatch(req: SluiceRequest<any>): Promise<SluiceResponse>;
}

/** Counters of the app's streams, kept by the engines (see `/__stats` in the contract app). */
export interface StreamStats {
  streams: { started: number; completed: number; aborted: number; errored: number; active: number };
  teardowns: number;
}

/** A handler as the app stores it, whatever its declared types. */
type AnyHandler = (req: SluiceRequest<any>) => unknown;

interface Route {
  handler: AnyHandler;
  options: RouteOptions;
  run: (req: SluiceRequest<any>) => Promise<SluiceResponse>;
}

interface Store {
  route?: Route;
  mount?: Mountable;
  prefix?: string;
}

const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;
/** Methods a route can be declared for. */
export type Method = (typeof METHODS)[number] | (string & {});

declare const problemBrand: unique symbol;

/**
 * An application problem+json response (RFC 9457): the body every error renders as. Build one to
 * answer an error without throwing.
 *
 * @example
 * return new ProblemResponse(409, "the name is taken", { name: "dune" });
 */
export class ProblemResponse extends BufferedResponse {
  // Nominal: another buffered response is not a problem response, so a route that declares its
  // responses cannot return a plain text body through this door.
  declare private readonly problemBrand: never;
  // Only in types: without it any buffered response (a TextResponse, a JSONResponse of the wrong
  // shape) would pass for a problem where a route declares what it returns.
  declare readonly [problemBrand]: true;
  constructor(
    status: ErrorStatus,
    detail?: string,
    extensions?: Record<string, unknown>,
    headers?: Record<string, string>,
  ) {
    super(JSON.stringify(problemBody(status, detail, extensions)), {
      status,
      headers,
      mediaType: "application/problem+json",
    });
  }
}

/**
 * A Sluice application: routes, middleware, mounts and an error hook. Serve it with `serve(app)`
 * (Node) or hand `app.fetch` to any runtime with web Request and Response.
 *
 * @example
 * const app = new App();
 * app.get("/hello/:name", (req) => ({ hello: req.params.name }));
 * app.listen({ port: 3000 });
 */
export class App implements Mountable {
  readonly #router = FindMyWay<FindMyWay.HTTPVersion.V1>({
    ignoreTrailingSlash: false,
    maxParamLength: 1000,
  });
  // App middleware in the order it was added; `segments` is the decoded prefix of a scoped one.
  readonly #layers: { segments: string[] | null; mw: Middleware }[] = [];
  readonly #methods = new Set<string>();
  readonly #routes: RouteInfo[] = [];
  readonly #mounts: { prefix: string; target: Mountable }[] = [];
  #onError: ErrorHook = defaultErrorHook;
  #templates: TemplateEngine | undefined;
  /** Stream counters, shared by every engine serving this app. */
  readonly stats: StreamStats = {
    streams: { started: 0, completed: 0, aborted: 0, errored: 0, active: 0 },
    teardowns: 0,
  };

  /**
   * Adds a route for a method (any token: GET, POST, PROPFIND, ...).
   *
   * @example
   * app.route("PURGE", "/cache/:key", (req) => cache.delete(req.params.key));
   */
  route<Path extends string>(method: Method, path: Path, handler: Handler<Path>): this;
  route<Path extends string, const O extends RouteOptions>(
    method: Method,
    path: Path,
    options: O,
    handler: Handler<Path, O>,
  ): this;
  route(method: Method, path: string, a: RouteOptions | AnyHandler, b?: AnyHandler): this {
    const handler = (typeof a === "function" ? a : b) as AnyHandler;
    const options = typeof a === "function" ? {} : a;
    if (typeof handler !== "function")
      throw new TypeError(`route ${method} ${path} has no handler`);
    const m = method.toUpperCase();
    this.#methods.add(m);
    const route: Route = { handler, options, run: compileRoute(this, handler, options) };
    this.#router.on(m as HTTPMethod, path, noop, { route } satisfies Store);
    this.#routes.push({ method: m, path, options });
    return this;
  }

  /**
   * Every route of the app, mounted apps included (with their prefix), in the order declared: what
   * the OpenAPI document is built from.
   *
   * @example
   * for (const r of app.routes()) console.log(r.method, r.path);
   */
  routes(): RouteInfo[] {
    const out: RouteInfo[] = [...this.#routes];
    for (const { prefix, target } of this.#mounts) {
      if (target instanceof App) {
        for (const r of target.routes())
          out.push({ ...r, path: prefix + (r.path === "/" ? "" : r.path) || "/" });
      }
    }
    return out;
  }

  /**
   * Adds a GET route; HEAD is answered for it too (headers only, the handler's body never sent and a
   * stream never pulled).
   *
   * @example
   * app.get("/movies/:id", (req) => movies.get(req.params.id));
   */
  get<Path extends string>(path: Path, handler: Handler<Path>): this;
  get<Path extends string, const O extends RouteOptions>(
    path: Path,
    options: O,
    handler: Handler<Path, O>,
  ): this;
  get(path: string, a: any, b?: any): this {
    return this.route("GET", path, a, b);
  }

  /**
   * Adds a POST route.
   *
   * @example
   * app.post("/items", async (req) => ({ created: await req.json() }));
   */
  post<Path extends string>(path: Path, handler: Handler<Path>): this;
  post<Path extends string, const O extends RouteOptions>(
    path: Path,
    options: O,
    handler: Handler<Path, O>,
  ): this;
  post(path: string, a: any, b?: any): this {
    return this.route("POST", path, a, b);
  }

  /**
   * Adds a PUT route.
   *
   * @example
   * app.put("/items/:id", async (req) => save(req.params.id, await req.json()));
   */
  put<Path extends string>(path: Path, handler: Handler<Path>): this;
  put<Path extends string, const O extends RouteOptions>(
    path: Path,
    options: O,
    handler: Handler<Path, O>,
  ): this;
  put(path: string, a: any, b?: any): this {
    return this.route("PUT", path, a, b);
  }

  /**
   * Adds a PATCH route.
   *
   * @example
   * app.patch("/items/:id", async (req) => update(req.params.id, await req.json()));
   */
  patch<Path extends string>(path: Path, handler: Handler<Path>): this;
  patch<Path extends string, const O extends RouteOptions>(
    path: Path,
    options: O,
    handler: Handler<Path, O>,
  ): this;
  patch(path: string, a: any, b?: any): this {
    return this.route("PATCH", path, a, b);
  }

  /**
   * Adds a DELETE route.
   *
   * @example
   * app.delete("/items/:id", (req) => { remove(req.params.id); });
   */
  delete<Path extends string>(path: Path, handler: Handler<Path>): this;
  delete<Path extends string, const O extends RouteOptions>(
    path: Path,
    options: O,
    handler: Handler<Path, O>,
  ): this;
  delete(path: string, a: any, b?: any): this {
    return this.route("DELETE", path, a, b);
  }

  /**
   * Adds an OPTIONS route (without one, OPTIONS is answered with 204 and `Allow`).
   *
   * @example
   * app.options("/upload", () => new EmptyResponse({ headers: { "accept-post": "image/png" } }));
   */
  options<Path extends string>(path: Path, handler: Handler<Path>): this;
  options<Path extends string, const O extends RouteOptions>(
    path: Path,
    options: O,
    handler: Handler<Path, O>,
  ): this;
  options(path: string, a: any, b?: any): this {
    return this.route("OPTIONS", path, a, b);
  }

  /**
   * Adds a route for every common method (GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS).
   *
   * @example
   * app.all("/anything", (req) => ({ method: req.method }));
   */
  all<Path extends string>(path: Path, handler: Handler<Path>): this;
  all<Path extends string, const O extends RouteOptions>(
    path: Path,
    options: O,
    handler: Handler<Path, O>,
  ): this;
  all(path: string, a: any, b?: any): this {
    for (const m of METHODS) this.route(m, path, a, b);
    return this;
  }

  /**
   * Adds middleware for the whole app (around routing, so it sees 404s and 405s too), or for the
   * paths below a prefix. A prefix is matched on decoded path segments, the same way the static
   * file server reads a path, so no encoding trick (`%2F`, `//`, `%70rivate`) slips past a guard.
   *
   * @example
   * app.use(async (req, next) => (await next()).setHeader("x-frame-options", "DENY"));
   * app.use("/admin", (req, next) => req.header("authorization") ? next() : new ProblemResponse(401));
   */
  use(mw: Middleware): this;
  use(prefix: string, mw: Middleware): this;
  use(a: string | Middleware, b?: Middleware): this {
    if (typeof a === "function") this.#layers.push({ segments: null, mw: a });
    else if (b) this.#layers.push({ segments: splitSegments(a) ?? [], mw: b });
    return this;
  }

  /**
   * Mounts another app (or anything mountable, such as a static directory) under a prefix. Inside
   * it, `req.path` is relative to the prefix.
   *
   * @example
   * const api = new App();
   * api.get("/status", () => ({ ok: true }));
   * app.mount("/api", api); // GET /api/status
   * app.mount("/static", "public", { cacheControl: { maxAge: 3600 } }); // a directory
   * app.mount("/favicon.ico", "assets/favicon.ico"); // one file
   */
  mount(prefix: string, target: Mountable): this;
  mount(prefix: string, path: string, options?: StaticOptions): this;
  mount(prefix: string, mountable: Mountable | string, options?: StaticOptions): this {
    const target = typeof mountable === "string" ? staticMount(mountable, options) : mountable;
    const p = prefix.replace(/\/+$/, "");
    if (!p.startsWith("/")) throw new TypeError(`mount prefix must start with "/": ${prefix}`);
    const store: Store = { mount: target, prefix: p };
    this.#mounts.push({ prefix: p, target });
    this.#router.all(p, noop, store);
    this.#router.all(`${p}/*`, noop, store);
    for (const m of METHODS) this.#methods.add(m);
    return this;
  }

  /**
   * Sets the error hook. It hears every unexpected error (a 5xx before the first byte, a stream that
   * fails midway, a failed background task or teardown); the client only ever gets a problem+json
   * without internals. The default writes to stderr.
   *
   * @example
   * app.onError((err, { phase, request }) => logger.error({ err, phase, path: request?.path }));
   */
  onError(hook: ErrorHook): this {
    this.#onError = hook;
    return this;
  }

  /**
   * Reports an error to the error hook. Engines call it; a hook that throws is itself caught.
   * @internal
   */
  report(error: unknown, context: ErrorContext): void {
    try {
      this.#onError(error, context);
    } catch (hookError) {
      defaultErrorHook(hookError, { phase: "server" });
    }
  }

  /**
   * Sets the template engine TemplateResponse renders with (see `sluice/templates`), for this app
   * and the apps mounted in it; a mounted app with an engine of its own uses its own.
   *
   * @example
   * app.templates(liquidEngine({ dir: "templates" }));
   * app.get("/", () => new TemplateResponse("index", { title: "Home" }));
   */
  templates(engine: TemplateEngine): this {
    this.#templates = engine;
    return this;
  }

  /**
   * Answers a web Request with a web Response, so the app runs on Bun, Deno and Workers, and a test
   * can call it directly. Bound: pass `app.fetch` around as it is.
   *
   * @example
   * export default { fetch: app.fetch };
   * const res = await app.fetch(new Request("http://localhost/json"));
   */
  readonly fetch = (request: Request, info?: FetchInfo): Promise<Response> =>
    fetchApp(this, request, info);

  /**
   * Serves the app on node:http (see `serve`).
   *
   * @example
   * const server = await app.listen({ port: 3000 });
   */
  async listen(options?: ServeOptions): Promise<RunningServer> {
    const { serve } = await import("./engine/node/serve.ts");
    return serve(this, options);
  }

  /**
   * Answers a request with a response value, errors included: the engine-independent core. Never
   * rejects.
   *
   * @example
   * const res = await app.handle(req);
   */
  handle(req: SluiceRequest<any>): Promise<SluiceResponse> {
    let pending: Promise<SluiceResponse>;
    try {
      // An origin-form target cannot carry a fragment (RFC 9112 §3.2.1). The router would stop
      // reading at "#" while a guard reads on: refuse it rather than let the two disagree.
      if (req.url.includes("#"))
        throw new HTTPError(400, "the request target must not contain '#'");
      pending = this.dispatch(req);
    } catch (err) {
      return Promise.resolve(this.errorResponse(err, req));
    }
    return pending.catch((err) => this.errorResponse(err, req));
  }

  /**
   * Turns a thrown value into its problem+json response, reporting unexpected ones.
   * @internal
   */
  errorResponse(err: unknown, req?: SluiceRequest<any>): SluiceResponse {
    if (HTTPError.is(err)) {
      if (err.status >= 500) this.report(err, { request: req, phase: "handler" });
      return new ProblemResponse(err.status, err.detail, err.extensions, err.headers);
    }
    this.report(err, { request: req, phase: "handler" });
    // Nothing of the error (message, stack) reaches the client.
    return new ProblemResponse(500);
  }

  /** @internal */
  dispatch(req: SluiceRequest<any>): Promise<SluiceResponse> {
    if (this.#templates) req.templates = this.#templates;
    const layers = this.#layers;
    if (layers.length === 0) return this.#route(req);
    // Only the middleware that applies to this path runs; the path is decoded once for all the
    // scoped ones, the way the file server will read it.
    let segments: string[] | null | undefined;
    const applicable: Middleware[] = [];
    for (const layer of layers) {
      if (layer.segments === null) applicable.push(layer.mw);
      else {
        if (segments === undefined) {
          segments = splitSegments(req.path);
          if (segments === null) throw new HTTPError(400, "the path is not valid percent-encoding");
        }
        if (underPrefix(segments, layer.segments)) applicable.push(layer.mw);
      }
    }
    if (applicable.length === 0) return this.#route(req);
    return runLayers(this, applicable, req, this.#routeBound);
  }

  #routeBound = (req: SluiceRequest<any>): Promise<SluiceResponse> => this.#route(req);

  #route(req: SluiceRequest<any>): Promise<SluiceResponse> {
    const path = req.path;
    let method = req.method;
    let found = this.#router.find(method as HTTPMethod, path);
    if (found === null && method === "HEAD") {
      method = "GET";
      found = this.#router.find("GET", path);
    }
    if (found === null) return Promise.resolve(this.#miss(req));
    const store = found.store as Store;
    if (store.mount) {
      const [head, sub] = cutPrefix(path, store.prefix!);
      req.basePath += head;
      req.path = sub === "" ? "/" : sub;
      return store.mount.dispatch(req);
    }
    // The router's params object has a prototype of its own, so a handler returning it would not
    // be recognised as plain JSON: hand out a plain copy.
    req.params = { ...found.params } as Record<string, string>;
    return store.route!.run(req);
  }

  #miss(req: SluiceRequest<any>): SluiceResponse {
    const allowed = this.allowedMethods(req.path);
    if (allowed.length === 0) throw new HTTPError(404, `no route for ${req.method} ${req.path}`);
    const allow = allowed.join(", ");
    if (req.method === "OPTIONS") return new EmptyResponse({ headers: { allow } });
    throw new HTTPError(405, `${req.method} is not allowed here; allowed: ${allow}`, { allow });
  }

  /**
   * The methods with a route for `path` (HEAD wherever GET is, OPTIONS wherever anything is).
   *
   * @example
   * app.allowedMethods("/items"); // ["GET", "HEAD", "POST", "OPTIONS"]
   */
  allowedMethods(path: string): string[] {
    const out: string[] = [];
    for (const m of this.#methods) {
      if (this.#router.find(m as HTTPMethod, path) !== null) out.push(m);
    }
    if (out.length === 0) return out;
    if (out.includes("GET") && !out.includes("HEAD")) out.splice(out.indexOf("GET") + 1, 0, "HEAD");
    if (!out.includes("OPTIONS")) out.push("OPTIONS");
    return out;
  }
}

function noop(): void {}

function defaultErrorHook(error: unknown, context: ErrorContext): void {
  const where = context.request ? ` ${context.request.method} ${context.request.url}` : "";
  console.error(`[sluice] ${context.phase} error${where}:`, error);
}

const FORM_BODY = /^(?:application\/x-www-form-urlencoded|multipart\/form-data)$/;

/** Reads and validates the parts of a request that the route declares schemas for. */
async function validateRequest(req: SluiceRequest<any>, o: RouteOptions): Promise<void> {
  if (o.params) req.params = await validateRequestPart(o.params, req.params, "params");
  if (o.query) req.validated.query = await validateRequestPart(o.query, req.rawQuery(), "query");
  if (o.headers)
    req.validated.headers = await validateRequestPart(o.headers, req.headers, "headers");
  if (o.body) {
    const raw = FORM_BODY.test(req.contentType ?? "")
      ? Object.fromEntries(await req.form())
      : await req.json();
    req.body = await validateRequestPart(o.body, raw, "body");
  }
}

/**
 * Holds a response to its route's declarations: a JSON body is validated (and serialised through
 * the schema, so transforms apply) against the schema of its status; a declared stream gets its
 * item schema, so each item is checked as it is sent.
 */
async function checkResponse(
  res: SluiceResponse,
  responses: NonNullable<RouteOptions["responses"]>,
): Promise<SluiceResponse> {
  const decl = responses[res.status];
  if (decl === undefined || decl === null) return res;
  if ("stream" in decl) {
    const r = res as { schema?: AnySchema };
    if (decl.validate && "schema" in res && r.schema === undefined) r.schema = decl.item;
    return res;
  }
  const schema = declSchema(decl);
  if (!schema) return res;
  if (res instanceof APIResponse) {
    res.schema ??= schema;
    return res.prepare();
  }
  if (res instanceof JSONResponse) return APIResponse.from(res, schema).prepare();
  return res;
}

function compileRoute(app: App, handler: AnyHandler, options: RouteOptions) {
  const limit = options.bodyLimit;
  const declared = options.params || options.query || options.headers || options.body;
  const responses = options.responses;
  const run = async (req: SluiceRequest<any>): Promise<SluiceResponse> => {
    if (limit !== undefined) req.bodyLimit = limit;
    if (declared) await validateRequest(req, options);
    let res = coerce(await handler(req));
    if (res.prepare) res = await res.prepare(req);
    if (responses) res = await checkResponse(res, responses);
    const allowed = (res as { allowedMethods?: string[] }).allowedMethods;
    if (allowed && !allowed.includes(req.method)) {
      // An event stream answers GET only (an EventSource never sends anything else): the producer
      // is closed unstarted and its teardown runs.
      const source = (res as { source?: StreamSource<unknown> }).source;
      if (source)
        void disposeSource(source).catch((e) => app.report(e, { request: req, phase: "teardown" }));
      void runTeardowns({ app, request: req, response: res });
      const allow = allowed.join(", ");
      throw new HTTPError(
        405,
        `${req.method} cannot answer with this response; allowed: ${allow}`,
        { allow },
      );
    }
    return res;
  };
  const mws =
    options.use === undefined ? [] : Array.isArray(options.use) ? options.use : [options.use];
  return mws.length === 0 ? run : (req: SluiceRequest<any>) => runLayers(app, mws, req, run);
}

/** Runs middleware in order around `inner`, each layer's `next()` calling the following one. */
function runLayers(
  app: App,
  layers: Middleware[],
  req: SluiceRequest<any>,
  inner: (req: SluiceRequest<any>) => Promise<SluiceResponse>,
): Promise<SluiceResponse> {
  const call = (i: number): Promise<SluiceResponse> =>
    i === layers.length ? inner(req) : callLayer(app, layers[i]!, req, () => call(i + 1));
  return call(0);
}

async function callLayer(
  app: App,
  mw: Middleware,
  req: SluiceRequest<any>,
  next: () => Promise<SluiceResponse>,
): Promise<SluiceResponse> {
  let called = false;
  let inner: SluiceResponse | undefined;
  const result = await mw(req, async () => {
    if (called) throw new Error("middleware called next() twice");
    called = true;
    // What follows may throw (a 404, a failed handler): next() hands back its problem response,
    // so after-hooks (security headers, logging) see errors too.
    inner = await next().catch((err) => app.errorResponse(err, req));
    return inner;
  });
  const res = coerce(result);
  // A response of the middleware's own (a file for an SPA fallback, say) is prepared like a
  // handler's; the one next() gave back already was.
  return res !== inner && res.prepare ? res.prepare(req) : res;
}

/**
 * Splits a percent-encoded path into the segments a file system would see: each segment decoded
 * once, then split again at "/" and "\\" (an encoded slash is still a slash to a file system),
 * empty and "." segments dropped. Null when a segment cannot be decoded.
 */
function splitSegments(path: string): string[] | null {
  const out: string[] = [];
  // Without escapes or backslashes there is nothing to decode or split again.
  if (!path.includes("%") && !path.includes("\\")) {
    for (const s of path.split("/")) if (s !== "" && s !== ".") out.push(s);
    return out;
  }
  for (const raw of path.split("/")) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(raw);
    } catch {
      return null;
    }
    for (const s of decoded.split(/[/\\]/)) if (s !== "" && s !== ".") out.push(s);
  }
  return out;
}

/**
 * Cuts a percent-encoded path after a mount prefix. The router matched the prefix on the decoded
 * path, so the cut falls after as many segments as the prefix has, not as many characters: under
 * `/api`, `/%61pi/status` is `/status`.
 */
function cutPrefix(path: string, prefix: string): [head: string, rest: string] {
  const head = path.split("/", prefix.split("/").length).join("/");
  return [head, path.slice(head.length)];
}

function underPrefix(segments: string[] | null, prefix: string[]): boolean {
  // A path that cannot be decoded is treated as inside every guarded prefix: fail closed.
  if (segments === null) return true;
  if (segments.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (segments[i] !== prefix[i]) return false;
  return true;
}
