import { HTTPError } from "../http/errors.ts";
import {
  decodePath,
  isPlainPath,
  plainPathUnder,
  readSegments,
  underPrefix,
} from "../http/paths.ts";
import type { SluiceRequest } from "../http/request.ts";
import type { TemplateEngine } from "../http/templates.ts";
import type { SluiceResponse } from "../responses/base.ts";
import { EmptyResponse } from "../responses/buffered.ts";
import { ProblemResponse } from "../responses/problem.ts";
import type { StreamSource } from "../responses/stream.ts";
import { coerce } from "./coerce.ts";
import { disposeSource, runTeardowns } from "./lifecycle.ts";
import { runLayers } from "./middleware.ts";
import {
  type AppPort,
  type ErrorContext,
  type ErrorHook,
  emptyStats,
  type StreamStats,
} from "./port.ts";
import { cutPrefix, NO_PARAMS_MATCHED, type RouteMatch, RouteTable } from "./router.ts";
import {
  type Handler,
  METHODS,
  type Method,
  type Middleware,
  type Mountable,
  type Mounted,
  type Route,
  type RouteInfo,
  type RouteOptions,
} from "./routes.ts";
import { checkResponse, validateRequest } from "./validate.ts";

/** A handler as the app stores it, whatever its declared types. */
type AnyHandler = (req: SluiceRequest<any>) => unknown;

/** What the route table holds: a route, or a mount under a prefix. */
type Entry =
  | {
      readonly kind: "route";
      readonly run: (req: SluiceRequest<any>) => SluiceResponse | Promise<SluiceResponse>;
    }
  | { readonly kind: "mount"; readonly target: Mountable; readonly prefix: string };

/**
 * The engine-independent core of an app: routes, middleware, mounts, the error hook and the stream
 * counters, and `handle`, which answers a request with a response value. It imports no engine:
 * `App` adds `app.fetch`, and `serve` from `sluice/node` writes to node:http.
 *
 * @example
 * class MyApp extends AppCore {}
 * const res = await new MyApp().get("/", () => "hi").handle(req);
 */
export class AppCore implements Mountable, AppPort {
  readonly #table = new RouteTable<Entry>();
  // App middleware in the order it was added; `segments` is the decoded prefix of a scoped one.
  readonly #layers: { segments: string[] | null; mw: Middleware }[] = [];
  readonly #methods = new Set<string>();
  readonly #routes: RouteInfo[] = [];
  readonly #mounts: { prefix: string; target: Mountable }[] = [];
  #onError: ErrorHook = defaultErrorHook;
  #templates: TemplateEngine | undefined;
  /** Stream counters, shared by every engine serving this app. */
  readonly stats: StreamStats = emptyStats();

  /**
   * Adds a route for a method (any token: GET, POST, PROPFIND, ...).
   *
   * @example
   * app.route("PURGE", "/cache/:key", (req) => cache.delete(req.params.key));
   */
  route<M extends Method, Path extends string>(
    method: M,
    path: Path,
    handler: Handler<Path>,
  ): this & Route<Uppercase<M>, Path, {}>;
  route<M extends Method, Path extends string, const O extends RouteOptions>(
    method: M,
    path: Path,
    options: O,
    handler: Handler<Path, O>,
  ): this & Route<Uppercase<M>, Path, O>;
  route(method: Method, path: string, a: RouteOptions | AnyHandler, b?: AnyHandler): this {
    const handler = (typeof a === "function" ? a : b) as AnyHandler;
    const options = typeof a === "function" ? {} : a;
    if (typeof handler !== "function")
      throw new TypeError(`route ${method} ${path} has no handler`);
    const m = method.toUpperCase();
    this.#methods.add(m);
    this.#table.add(m, path, { kind: "route", run: this.#compile(handler, options) });
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
      if (target instanceof AppCore) {
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
  get<Path extends string>(path: Path, handler: Handler<Path>): this & Route<"GET", Path, {}>;
  get<Path extends string, const O extends RouteOptions>(
    path: Path,
    options: O,
    handler: Handler<Path, O>,
  ): this & Route<"GET", Path, O>;
  get(path: string, a: any, b?: any): this {
    return this.route("GET", path, a, b);
  }

  /**
   * Adds a POST route.
   *
   * @example
   * app.post("/items", async (req) => ({ created: await req.json() }));
   */
  post<Path extends string>(path: Path, handler: Handler<Path>): this & Route<"POST", Path, {}>;
  post<Path extends string, const O extends RouteOptions>(
    path: Path,
    options: O,
    handler: Handler<Path, O>,
  ): this & Route<"POST", Path, O>;
  post(path: string, a: any, b?: any): this {
    return this.route("POST", path, a, b);
  }

  /**
   * Adds a PUT route.
   *
   * @example
   * app.put("/items/:id", async (req) => save(req.params.id, await req.json()));
   */
  put<Path extends string>(path: Path, handler: Handler<Path>): this & Route<"PUT", Path, {}>;
  put<Path extends string, const O extends RouteOptions>(
    path: Path,
    options: O,
    handler: Handler<Path, O>,
  ): this & Route<"PUT", Path, O>;
  put(path: string, a: any, b?: any): this {
    return this.route("PUT", path, a, b);
  }

  /**
   * Adds a PATCH route.
   *
   * @example
   * app.patch("/items/:id", async (req) => update(req.params.id, await req.json()));
   */
  patch<Path extends string>(path: Path, handler: Handler<Path>): this & Route<"PATCH", Path, {}>;
  patch<Path extends string, const O extends RouteOptions>(
    path: Path,
    options: O,
    handler: Handler<Path, O>,
  ): this & Route<"PATCH", Path, O>;
  patch(path: string, a: any, b?: any): this {
    return this.route("PATCH", path, a, b);
  }

  /**
   * Adds a DELETE route.
   *
   * @example
   * app.delete("/items/:id", (req) => { remove(req.params.id); });
   */
  delete<Path extends string>(path: Path, handler: Handler<Path>): this & Route<"DELETE", Path, {}>;
  delete<Path extends string, const O extends RouteOptions>(
    path: Path,
    options: O,
    handler: Handler<Path, O>,
  ): this & Route<"DELETE", Path, O>;
  delete(path: string, a: any, b?: any): this {
    return this.route("DELETE", path, a, b);
  }

  /**
   * Adds an OPTIONS route (without one, OPTIONS is answered with 204 and `Allow`).
   *
   * @example
   * app.options("/upload", () => new EmptyResponse({ headers: { "accept-post": "image/png" } }));
   */
  options<Path extends string>(
    path: Path,
    handler: Handler<Path>,
  ): this & Route<"OPTIONS", Path, {}>;
  options<Path extends string, const O extends RouteOptions>(
    path: Path,
    options: O,
    handler: Handler<Path, O>,
  ): this & Route<"OPTIONS", Path, O>;
  options(path: string, a: any, b?: any): this {
    return this.route("OPTIONS", path, a, b);
  }

  /**
   * Adds a route for every common method (GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS).
   *
   * @example
   * app.all("/anything", (req) => ({ method: req.method }));
   */
  all<Path extends string>(
    path: Path,
    handler: Handler<Path>,
  ): this & Route<(typeof METHODS)[number], Path, {}>;
  all<Path extends string, const O extends RouteOptions>(
    path: Path,
    options: O,
    handler: Handler<Path, O>,
  ): this & Route<(typeof METHODS)[number], Path, O>;
  all(path: string, a: any, b?: any): this {
    for (const m of METHODS) this.route(m, path, a, b);
    return this;
  }

  /**
   * Adds middleware for the whole app (around routing, so it sees 404s and 405s too), or for the
   * paths below a prefix. A prefix is matched on decoded path segments, read the same way the
   * static file server reads a path (`decodePath`), so no encoding trick (`%2F`, `//`,
   * `%70rivate`) slips past a guard; where a path holds a segment that reading refuses (`..`, an
   * encoded slash), the guard runs (it fails closed) and the file server refuses the path anyway.
   *
   * @example
   * app.use(async (req, next) => (await next()).setHeader("x-frame-options", "DENY"));
   * app.use("/admin", (req, next) => req.header("authorization") ? next() : new ProblemResponse(401));
   */
  use(mw: Middleware): this;
  use(prefix: string, mw: Middleware): this;
  use(a: string | Middleware, b?: Middleware): this {
    if (typeof a === "function") this.#layers.push({ segments: null, mw: a });
    else if (b) {
      const prefix = decodePath(a);
      if (!prefix.ok) throw new TypeError(`cannot scope middleware to ${a}: ${prefix.reason}`);
      this.#layers.push({ segments: prefix.segments, mw: b });
    }
    return this;
  }

  /**
   * Mounts another app, or anything mountable (a static directory from `sluice/node`), under a
   * prefix. Inside it, `req.path` is relative to the prefix.
   *
   * @example
   * const api = new App();
   * api.get("/status", () => ({ ok: true }));
   * app.mount("/api", api); // GET /api/status
   */
  mount<Prefix extends string, T extends Mountable>(
    prefix: Prefix,
    target: T,
  ): this & Mounted<Prefix, T>;
  mount(prefix: string, target: Mountable): this {
    if (typeof (target as Partial<Mountable> | null)?.dispatch !== "function") {
      throw new TypeError(
        `mount ${prefix}: the target is not mountable (an App, or serveStatic(dir) from "sluice/node")`,
      );
    }
    if (typeof prefix !== "string" || !prefix.startsWith("/"))
      throw new TypeError(`mount prefix must start with "/": ${prefix}`);
    // "/" mounts at the site root: every path no route claims reaches it.
    const p = prefix.replace(/\/+$/, "");
    const entry: Entry = { kind: "mount", target, prefix: p };
    const yields = target.fallthrough === true;
    this.#mounts.push({ prefix: p, target });
    if (p !== "") this.#table.addAny(p, entry, { yields });
    this.#table.addAny(`${p}/*`, entry, { yields });
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
   *
   * @example
   * app.report(new Error("cache unreachable"), { phase: "server" });
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
   * Answers a request with a response value, errors included: the engine-independent core. Never
   * rejects.
   *
   * @example
   * const res = await app.handle(req);
   */
  handle(req: SluiceRequest<any>): Promise<SluiceResponse> {
    const answer = this.handleNow(req);
    return answer instanceof Promise ? answer : Promise.resolve(answer);
  }

  /**
   * Like `handle`, but answers at once when nothing on the way awaits (a handler that returns its
   * value, no async middleware): then the response itself, else a promise of it. Never throws,
   * never rejects. Engines call it on their hot path: a plain route costs no promise.
   *
   * @example
   * const answer = app.handleNow(req);
   * if (answer instanceof Promise) answer.then(send); else send(answer);
   */
  handleNow(req: SluiceRequest<any>): SluiceResponse | Promise<SluiceResponse> {
    let answer: SluiceResponse | Promise<SluiceResponse>;
    try {
      // An origin-form target cannot carry a fragment (RFC 9112 §3.2.1). The router would stop
      // reading at "#" while a guard reads on: refuse it rather than let the two disagree.
      if (req.url.includes("#"))
        throw new HTTPError(400, "the request target must not contain '#'");
      answer = this.#dispatch(req);
    } catch (err) {
      return this.errorResponse(err, req);
    }
    if (answer instanceof Promise)
      return answer.then(undefined, (err) => this.errorResponse(err, req));
    return answer;
  }

  /**
   * Turns a thrown value into its problem+json response, reporting unexpected ones.
   *
   * @example
   * const res = app.errorResponse(new HTTPError(404), req); // a 404 ProblemResponse
   */
  errorResponse(err: unknown, req?: SluiceRequest<any>): SluiceResponse {
    if (HTTPError.is(err)) {
      if (err.status >= 500) this.report(err, { request: req, phase: "handler" });
      return new ProblemResponse(err.status, err.detail, err.headers, err.extensions);
    }
    this.report(err, { request: req, phase: "handler" });
    // Nothing of the error (message, stack) reaches the client.
    return new ProblemResponse(500);
  }

  /** @internal */
  dispatch(req: SluiceRequest<any>): Promise<SluiceResponse> {
    try {
      const answer = this.#dispatch(req);
      return answer instanceof Promise ? answer : Promise.resolve(answer);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Routing through the app's middleware; answers at once when nothing awaits. May throw. */
  #dispatch(req: SluiceRequest<any>): SluiceResponse | Promise<SluiceResponse> {
    if (this.#templates) req.templates = this.#templates;
    const layers = this.#layers;
    if (layers.length === 0) return this.#route(req);
    // Only the middleware that applies to this path runs; the path is read once for all the
    // scoped ones, the way the file server will read it (failing closed where it cannot be). A
    // path without escapes that the reading accepts is matched in place (no segments built): the
    // common case costs no allocation.
    const path = req.path;
    let plain: boolean | undefined;
    let read: ReturnType<typeof readSegments> | undefined;
    let applicable: Middleware[] | undefined;
    for (const layer of layers) {
      let applies: boolean;
      if (layer.segments === null) applies = true;
      else {
        plain ??= isPlainPath(path);
        if (plain) applies = plainPathUnder(path, layer.segments);
        else {
          read ??= readSegments(path);
          applies = underPrefix(read, layer.segments);
        }
      }
      if (!applies) continue;
      if (applicable === undefined) applicable = [layer.mw];
      else applicable.push(layer.mw);
    }
    if (applicable === undefined) return this.#route(req);
    return runLayers(applicable, req, this.#routeBound, this.#errorBound);
  }

  // Middleware's next() is a promise whatever the route answers.
  #routeBound = (req: SluiceRequest<any>): Promise<SluiceResponse> => {
    try {
      const answer = this.#route(req);
      return answer instanceof Promise ? answer : Promise.resolve(answer);
    } catch (err) {
      return Promise.reject(err);
    }
  };
  #errorBound = (err: unknown, req: SluiceRequest<any>): SluiceResponse =>
    this.errorResponse(err, req);

  #route(req: SluiceRequest<any>): SluiceResponse | Promise<SluiceResponse> {
    const found = this.#lookup(req.method, req.path);
    if (found === null) return this.#miss(req);
    const entry = found.store;
    if (entry.kind === "route") {
      req.params = paramsOf(found);
      return entry.run(req);
    }
    if (entry.target.fallthrough !== true)
      return this.#enter(req, entry) as Promise<SluiceResponse>;
    return this.#routeOn(req);
  }

  /**
   * The entry for a method and path. HEAD is answered by a HEAD route, else as GET would be: a GET
   * route wins over a mount that would take the HEAD for itself.
   */
  #lookup(method: string, path: string): RouteMatch<Entry> | null {
    if (method !== "HEAD") return this.#table.find(method, path);
    const head = this.#table.find("HEAD", path);
    if (head !== null && head.method === "HEAD") return head;
    return this.#table.find("GET", path) ?? head;
  }

  /** Every entry for a method and path, in the order they are tried (see `#lookup`). */
  #candidates(method: string, path: string): RouteMatch<Entry>[] {
    if (method !== "HEAD") return this.#table.findAll(method, path);
    const head = this.#table.findAll("HEAD", path).filter((m) => m.method === "HEAD");
    return [...head, ...this.#table.findAll("GET", path)];
  }

  /**
   * Routing past mounts that pass a request on (static mounts with `fallthrough`): each entry in
   * turn, most specific first, until one answers; then the app's own 404 or 405, as if the mounts
   * that passed were not there.
   */
  async #routeOn(req: SluiceRequest<any>): Promise<SluiceResponse> {
    const passed = new Set<Entry>();
    for (const match of this.#candidates(req.method, req.path)) {
      const entry = match.store;
      if (passed.has(entry)) continue;
      if (entry.kind === "route") {
        req.params = paramsOf(match);
        return entry.run(req);
      }
      const res = await this.#enter(req, entry);
      if (res !== undefined) return res;
      passed.add(entry);
    }
    return this.#miss(req, passed);
  }

  /** Hands a request to a mount, its path made relative to the prefix; put back if it passes. */
  async #enter(
    req: SluiceRequest<any>,
    entry: Extract<Entry, { kind: "mount" }>,
  ): Promise<SluiceResponse | undefined> {
    const path = req.path;
    const basePath = req.basePath;
    const [head, sub] = cutPrefix(path, entry.prefix);
    req.basePath += head;
    req.path = sub === "" ? "/" : sub;
    const res = await entry.target.dispatch(req);
    if (res === undefined) {
      if (entry.target.fallthrough !== true) {
        throw new TypeError("a mount that is not fallthrough answered nothing");
      }
      req.basePath = basePath;
      req.path = path;
    }
    return res;
  }

  #miss(req: SluiceRequest<any>, passed?: ReadonlySet<Entry>): SluiceResponse {
    const allowed = this.#allowed(req.path, passed);
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
    return this.#allowed(path);
  }

  /** The methods with a route for `path`, leaving out the mounts that passed this request on. */
  #allowed(path: string, passed?: ReadonlySet<Entry>): string[] {
    const out: string[] = [];
    for (const m of this.#methods) {
      const found =
        passed === undefined || passed.size === 0
          ? this.#table.find(m, path) !== null
          : this.#table.findAll(m, path).some((x) => !passed.has(x.store));
      if (found) out.push(m);
    }
    if (out.length === 0) return out;
    if (out.includes("GET") && !out.includes("HEAD")) out.splice(out.indexOf("GET") + 1, 0, "HEAD");
    if (!out.includes("OPTIONS")) out.push("OPTIONS");
    return out;
  }

  /** A route's handler wrapped with its validation, declarations and middleware. */
  #compile(handler: AnyHandler, options: RouteOptions) {
    const limit = options.bodyLimit;
    const declared = options.params || options.query || options.headers || options.body;
    const responses = options.responses;
    // The rest of a route once the handler has answered, for what awaits: an answer that comes
    // later, a response to prepare or to check against its declaration.
    const settle = async (req: SluiceRequest<any>, value: unknown): Promise<SluiceResponse> => {
      let res = coerce(isThenable(value) ? await value : value);
      if (res.prepare) res = await res.prepare(req);
      if (responses) res = await checkResponse(res, responses);
      const allowed = (res as { allowedMethods?: string[] }).allowedMethods;
      if (allowed && !allowed.includes(req.method)) {
        // An event stream answers GET only (an EventSource never sends anything else): the
        // producer is closed unstarted and its teardown runs.
        const source = (res as { source?: StreamSource<unknown> }).source;
        if (source)
          void disposeSource(source).catch((e) =>
            this.report(e, { request: req, phase: "teardown" }),
          );
        void runTeardowns({ app: this, request: req, response: res });
        const allow = allowed.join(", ");
        throw new HTTPError(
          405,
          `${req.method} cannot answer with this response; allowed: ${allow}`,
          { allow },
        );
      }
      return res;
    };
    const validated = async (req: SluiceRequest<any>): Promise<SluiceResponse> => {
      await validateRequest(req, options);
      return settle(req, handler(req));
    };
    // A plain route answers at once: the handler's value, coerced, with no promise on the way.
    const run = (req: SluiceRequest<any>): SluiceResponse | Promise<SluiceResponse> => {
      if (limit !== undefined) req.bodyLimit = limit;
      if (declared) return validated(req);
      const value = handler(req);
      if (isThenable(value)) return settle(req, value);
      const res = coerce(value);
      if (
        res.prepare !== undefined ||
        responses !== undefined ||
        (res as { allowedMethods?: string[] }).allowedMethods !== undefined
      ) {
        return settle(req, res);
      }
      return res;
    };
    const mws =
      options.use === undefined ? [] : Array.isArray(options.use) ? options.use : [options.use];
    if (mws.length === 0) return run;
    const inner = (req: SluiceRequest<any>): Promise<SluiceResponse> => {
      try {
        const answer = run(req);
        return answer instanceof Promise ? answer : Promise.resolve(answer);
      } catch (err) {
        return Promise.reject(err);
      }
    };
    return (req: SluiceRequest<any>) => runLayers(mws, req, inner, this.#errorBound);
  }
}

/**
 * The params a request gets from a match: none from a route without params (the request then
 * makes its own `{}` if it is ever read, rather than share the router's frozen one).
 */
function paramsOf(match: RouteMatch<unknown>): Record<string, string> {
  return match.params === NO_PARAMS_MATCHED
    ? (undefined as unknown as Record<string, string>)
    : match.params;
}

/** A promise or another thenable, which a handler's answer is awaited as. */
function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value instanceof Promise ||
    (typeof value === "object" &&
      value !== null &&
      typeof (value as { then?: unknown }).then === "function")
  );
}

function defaultErrorHook(error: unknown, context: ErrorContext): void {
  const where = context.request ? ` ${context.request.method} ${context.request.url}` : "";
  console.error(`[sluice] ${context.phase} error${where}:`, error);
}
