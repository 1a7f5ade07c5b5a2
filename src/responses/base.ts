import { assertHeader, HeaderError } from "../http/headers.ts";
import type { SluiceRequest } from "../http/request.ts";
import type { StatusCode } from "../http/status.ts";
import { type CookieAttributes, formatSetCookie } from "../internal/cookie.ts";
import type { Body } from "./body.ts";

export type { Body, FileBody, FileRange } from "./body.ts";

/** Header input accepted wherever a response takes headers. */
export type HeadersInit = Record<string, string> | Headers | Iterable<readonly [string, string]>;

/** Options every response accepts. */
export interface ResponseInit<S extends number = StatusCode> {
  status?: S;
  headers?: HeadersInit;
}

/** Cookie attributes for `setCookie`; each is validated, none can inject another attribute. */
export type CookieOptions = CookieAttributes;

/** A task run after the body has been sent; its failure goes to the app's error hook. */
export type BackgroundTask = () => unknown;

/**
 * The base of every Sluice response: a status, headers, cookies, background tasks and teardown
 * hooks. It describes what to send and never touches a socket; the engines write it.
 *
 * @example
 * class CSVText extends SluiceResponse {
 *   constructor(readonly text: string) { super(); this.setHeader("content-type", "text/csv"); }
 *   body(): Body { return { kind: "bytes", data: this.text }; }
 * }
 */
export abstract class SluiceResponse {
  status: number;
  /** Header fields by lower-case name; `set-cookie` (and appended fields) may hold several values. */
  readonly headers: Record<string, string | string[]> = {};
  // Made when first needed: most responses have neither, and a buffered answer should cost no
  // more than its headers and bytes.
  #tasks: BackgroundTask[] | undefined = undefined;
  #teardowns: (() => unknown)[] | undefined = undefined;

  /** @internal the background tasks, in order */
  get tasks(): BackgroundTask[] {
    if (this.#tasks === undefined) this.#tasks = [];
    return this.#tasks;
  }

  /** @internal the teardown hooks, in order */
  get teardowns(): (() => unknown)[] {
    if (this.#teardowns === undefined) this.#teardowns = [];
    return this.#teardowns;
  }

  /** @internal True when a background task or a teardown hook waits for the response to end. */
  get hasFollowUps(): boolean {
    return (
      (this.#tasks !== undefined && this.#tasks.length > 0) ||
      (this.#teardowns !== undefined && this.#teardowns.length > 0)
    );
  }

  constructor(init?: ResponseInit<number>) {
    this.status = init?.status ?? 200;
    if (init?.headers) this.setHeaders(init.headers);
  }

  /** The body source the engines write. */
  abstract body(): Body;

  /**
   * Rewrites the body as it is sent, with the headers that describe it: set by `sluice/compress`
   * to apply a content coding. Engines send `encodedBody(response)`, never `body()` alone.
   * @internal
   */
  declare encodeBody?: (body: Body) => Body;

  /**
   * On a 304: what the 200 it stands for would have carried (its content headers and length), so a
   * content coding that 200 would get can show in the 304's validator (RFC 9110 §15.4.5). Set by
   * FileResponse; read by `sluice/compress`.
   * @internal
   */
  declare represents?: {
    readonly headers: Readonly<Record<string, string>>;
    readonly length: number;
  };

  /**
   * Resolves what this response needs to know about the request before it can be sent (a file's
   * metadata, preconditions, ranges), and returns the response to send: itself or another.
   * Called once, right after the handler returns, so middleware sees the final response.
   */
  prepare?(req: SluiceRequest<any>): SluiceResponse | Promise<SluiceResponse>;

  /**
   * Sets a header, replacing any earlier value. Throws a HeaderError for a name that is not a token
   * or a value with CR, LF, NUL or another control character.
   *
   * @example
   * new TextResponse("hi").setHeader("cache-control", "no-store");
   */
  setHeader(name: string, value: string | number): this {
    const v = String(value);
    assertHeader(name, v);
    this.headers[name.toLowerCase()] = v;
    return this;
  }

  /**
   * Adds a value to a header, keeping earlier ones (sent as separate field lines).
   *
   * @example
   * res.appendHeader("vary", "accept-encoding");
   */
  appendHeader(name: string, value: string): this {
    assertHeader(name, value);
    const key = name.toLowerCase();
    const prev = this.headers[key];
    if (prev === undefined) this.headers[key] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else this.headers[key] = [prev, value];
    return this;
  }

  /**
   * Sets several headers at once, each validated as by `setHeader`.
   *
   * @example
   * res.setHeaders({ "x-a": "1", "x-b": "2" });
   */
  setHeaders(headers: HeadersInit): this {
    const entries =
      headers instanceof Headers || Symbol.iterator in headers
        ? (headers as Iterable<readonly [string, string]>)
        : Object.entries(headers);
    for (const [name, value] of entries) {
      if (name.toLowerCase() === "set-cookie") this.appendHeader(name, value);
      else this.setHeader(name, value);
    }
    return this;
  }

  /**
   * The value of a header, or undefined. Several values are joined with ", ".
   *
   * @example
   * res.getHeader("content-type"); // "application/json"
   */
  getHeader(name: string): string | undefined {
    const v = this.headers[name.toLowerCase()];
    return Array.isArray(v) ? v.join(", ") : v;
  }

  /**
   * Removes a header.
   *
   * @example
   * res.deleteHeader("etag");
   */
  deleteHeader(name: string): this {
    delete this.headers[name.toLowerCase()];
    return this;
  }

  /**
   * Adds a `Set-Cookie` header. Throws a HeaderError naming the rule, rather than send a cookie a
   * browser would drop or misread:
   *
   * - the name must be an RFC 6265 token (no `,` `:` `"` `/` `(` `)`, spaces, ...);
   * - the value is percent-encoded where needed; each attribute is validated, and nothing can
   *   inject another attribute or header (CR, LF, `;`);
   * - `__Secure-` names need `secure: true`; `__Host-` names need `secure: true`, `path: "/"` and
   *   no `domain` (RFC 6265bis §4.1.3, matched case-insensitively);
   * - `sameSite: "none"` and `partitioned` need `secure: true`;
   * - name and value at most 4096 bytes together, `path` and `domain` at most 1024 characters.
   *
   * @example
   * res.setCookie("session", "abc123", { httpOnly: true, secure: true, sameSite: "lax", path: "/" });
   * res.setCookie("__Host-csrf", token, { secure: true, path: "/" });
   */
  setCookie(name: string, value: string, options: CookieOptions = {}): this {
    const result = formatSetCookie(name, value, options);
    if (!result.ok) throw new HeaderError(`cannot set cookie: ${result.reason}`);
    return this.appendHeader("set-cookie", result.value);
  }

  /**
   * Tells the client to delete a cookie (empty value, `Max-Age=0`, an expiry in the past). Pass the
   * same `path` and `domain` (and `partitioned`) the cookie was set with. A `__Secure-` or
   * `__Host-` cookie is deleted with the attributes its prefix requires (Secure; `Path=/` for
   * `__Host-`), since browsers ignore a deletion that breaks them.
   *
   * @example
   * res.deleteCookie("session", { path: "/" });
   */
  deleteCookie(
    name: string,
    options: Pick<CookieOptions, "path" | "domain" | "secure" | "partitioned"> = {},
  ): this {
    const lower = typeof name === "string" ? name.toLowerCase() : "";
    const prefixed = lower.startsWith("__secure-") || lower.startsWith("__host-");
    const path = lower.startsWith("__host-") ? (options.path ?? "/") : options.path;
    return this.setCookie(name, "", {
      ...options,
      ...(path === undefined ? {} : { path }),
      ...(prefixed ? { secure: options.secure ?? true } : {}),
      maxAge: 0,
      expires: new Date(0),
    });
  }

  /**
   * Runs `task` after the body has been sent in full. A failure is reported to the app's error
   * hook; the client has its response already and never sees it.
   *
   * @example
   * return new JSONResponse({ ok: true }).background(() => audit.log("signup"));
   */
  background(task: BackgroundTask): this {
    this.tasks.push(task);
    return this;
  }

  /**
   * Runs `fn` exactly once when the response is done with, however that happens: sent, client
   * gone, error, HEAD, server shutdown — also when a stream body is never iterated. Use it to scope a
   * resource (a cursor, a file handle, a subscription) to the response.
   *
   * @example
   * const cursor = await db.open();
   * return new NDJSONResponse(cursor.rows()).teardown(() => cursor.close());
   */
  teardown(fn: () => unknown): this {
    this.teardowns.push(fn);
    return this;
  }
}

/**
 * The body an engine sends for a response: `body()`, through the response's content coding when
 * one is set (see `sluice/compress`). Headers may change with it, so engines call it before they
 * write the head.
 *
 * @example
 * const body = encodedBody(response); // then write response.headers and the body
 * @internal
 */
export function encodedBody(response: SluiceResponse): Body {
  const body = response.body();
  return response.encodeBody === undefined ? body : response.encodeBody(body);
}

/**
 * Options of a buffered response: status, headers, and the media type.
 */
export interface BufferedInit<S extends number = StatusCode> extends ResponseInit<S> {
  mediaType?: string;
}

/**
 * A response whose body is known in full and sent with Content-Length in one write. Give it a
 * string (sent as UTF-8) or bytes and a media type; subclasses only choose a media type and how
 * their content renders.
 *
 * @example
 * app.get("/robots.txt", () => new BufferedResponse("User-agent: *\nDisallow:\n", { mediaType: "text/plain; charset=utf-8" }));
 */
export class BufferedResponse<S extends number = StatusCode> extends SluiceResponse {
  readonly content: unknown;

  constructor(content: string | Uint8Array, init?: BufferedInit<S>);
  constructor(content: unknown, init?: BufferedInit<S>, defaultMediaType?: string);
  constructor(content: unknown, init?: BufferedInit<S>, defaultMediaType?: string) {
    super(init);
    this.content = content;
    if (this.headers["content-type"] === undefined) {
      if (init?.mediaType !== undefined) this.setHeader("content-type", init.mediaType);
      // A class's own media type is a constant known to be valid: no check per response.
      else if (defaultMediaType !== undefined) this.headers["content-type"] = defaultMediaType;
    }
  }

  /** Renders the content to the bytes (or UTF-8 string) that are sent. */
  render(): string | Uint8Array {
    const c = this.content;
    if (typeof c === "string" || c instanceof Uint8Array) return c;
    throw new TypeError("BufferedResponse content must be a string or a Uint8Array");
  }

  body(): Body {
    return { kind: "bytes", data: this.render() };
  }
}
