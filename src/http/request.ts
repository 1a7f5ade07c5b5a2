import { concatBytes } from "../internal/bytes.ts";
import { parseCookieHeader } from "../internal/cookie.ts";
import { HTTPError } from "./errors.ts";
import type { TemplateEngine } from "./templates.ts";

/** Default limit for request bodies read by `json()`, `text()`, `form()`, `bytes()`, `stream()`. */
export const DEFAULT_BODY_LIMIT = 1024 * 1024;

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;
const NON_ASCII = /[^\x00-\x7f]/;
const NOT_BYTES = /[^\x00-\xff]/;
const UTF8 = new TextDecoder("utf-8", { fatal: true });
const FORM_TYPE = /^(?:application\/x-www-form-urlencoded|multipart\/form-data)\s*(?:;|$)/i;

/**
 * The typed parts of a request: what a route's path and schemas make of params, query, headers and
 * body. Without schemas: params from the path, query and headers as strings, body unknown.
 */
export interface RequestShape {
  params: unknown;
  query: unknown;
  headers: unknown;
  body: unknown;
}

/** The shape of a request whose route declares nothing. */
export interface DefaultShape {
  params: Record<string, string>;
  query: Record<string, string>;
  headers: Readonly<Record<string, string>>;
  body: unknown;
}

/**
 * The request a handler receives. It is lazy: query, cookies and headers are parsed on first use,
 * and the body is read only when a reader is called, never past the route's limit (1 MiB by
 * default): over it 413, malformed 400, wrong content type 415, each a problem+json response.
 *
 * Engines subclass it; on Node it wraps `IncomingMessage` without building a web Request.
 *
 * @example
 * app.post("/echo", async (req) => ({ got: await req.json(), from: req.ip, q: req.query.q }));
 */
export abstract class SluiceRequest<S extends RequestShape = DefaultShape> {
  /** The method, upper case. */
  abstract readonly method: string;
  /** The request target as received: percent-encoded path and query. */
  abstract readonly url: string;
  /** HTTP version, such as "1.1" or "1.0". */
  abstract readonly httpVersion: string;
  /** The client's address (IP), when the engine knows it. */
  abstract readonly ip: string | undefined;
  /**
   * Aborts when the client goes away before the response is complete, or the server shuts down.
   * Pass it to what a handler or a stream's producer awaits, so those waits end then.
   */
  abstract readonly signal: AbortSignal;
  /**
   * Ends the exchange as if the client had left: `signal` aborts with `reason`, a stream being
   * sent ends as aborted (its teardown runs) and the client sees it cut short. A broadcast channel
   * uses it to drop a subscriber that fell too far behind.
   */
  abstract abort(reason: unknown): void;
  /** One header's value (names are case-insensitive), or undefined. */
  abstract header(name: string): string | undefined;
  /** All header fields as received, lower-case names. */
  protected abstract rawHeaders(): Readonly<Record<string, string>>;
  /** The raw body, chunk by chunk; null when there is none. Read once. */
  protected abstract rawBody(): AsyncIterable<Uint8Array> | null;
  /**
   * Whether `error`, met while reading the raw body, is the client's doing: the connection closed
   * or the upload was cut before the body was complete. Such an error is a 400 that nobody is
   * left to read, and it is not reported; any other error met while reading is a bug, a 500 that
   * the error hook hears. Engines know which errors their transport raises for a cut, and
   * override this; by default, an error met once the request's signal has aborted.
   */
  protected isClientCut(_error: unknown): boolean {
    return this.signal.aborted;
  }

  #params: S["params"] | undefined = undefined;
  /** Path parameters of the matched route, percent-decoded (validated when the route has a params schema). */
  get params(): S["params"] {
    // Made when first read: the router sets them on a match, so a default made up front would
    // only be garbage.
    if (this.#params === undefined) this.#params = {} as S["params"];
    return this.#params;
  }
  set params(value: S["params"]) {
    this.#params = value;
  }
  /**
   * The validated body, when the route declares a body schema (read and checked before the handler
   * runs); undefined otherwise — use the body readers.
   */
  body: S["body"] = undefined as S["body"];
  #validated: { query?: unknown; headers?: unknown } | undefined = undefined;
  /** @internal validated query and headers, set by the app when the route declares schemas */
  get validated(): { query?: unknown; headers?: unknown } {
    if (this.#validated === undefined) this.#validated = {};
    return this.#validated;
  }
  /** Largest body the readers accept, in bytes; set from the route's options. */
  bodyLimit = DEFAULT_BODY_LIMIT;
  /** @internal the prefix a mounted app stripped */
  basePath = "";
  /** @internal the template engine of the innermost app that has one (see `App.templates`) */
  templates: TemplateEngine | undefined = undefined;

  #path: string | undefined;
  #search: URLSearchParams | undefined;
  #query: Record<string, string> | undefined;
  #cookies: Record<string, string | undefined> | undefined;
  #bytes: Promise<Uint8Array> | undefined;
  #bodyReader: "bytes" | "stream" | undefined;

  /**
   * The path, percent-encoded as received, without the query (and below the mount prefix inside a
   * mounted app).
   */
  get path(): string {
    if (this.#path === undefined) {
      const q = this.url.indexOf("?");
      this.#path = (q === -1 ? this.url : this.url.slice(0, q)).slice(this.basePath.length) || "/";
    }
    return this.#path;
  }

  /** @internal */
  set path(value: string) {
    this.#path = value;
  }

  /** The query string parsed: every value of every name. */
  get searchParams(): URLSearchParams {
    if (this.#search === undefined) this.#search = new URLSearchParams(queryOf(this.url));
    return this.#search;
  }

  /** All header fields, lower-case names (validated when the route has a headers schema). */
  get headers(): S["headers"] {
    return (this.#validated?.headers ?? this.rawHeaders()) as S["headers"];
  }

  /**
   * The query as an object: the first value of each name (see `searchParams` for all of them), or
   * the validated query when the route has a query schema.
   */
  get query(): S["query"] {
    const query = this.#validated?.query;
    if (query !== undefined) return query as S["query"];
    return this.rawQuery();
  }

  /** The query as strings: the first value of each name. */
  rawQuery(): Record<string, string> {
    if (this.#query === undefined) {
      // No Object.prototype on its chain: "constructor" or "__proto__" in a query are names like
      // any other. A record of a class whose prototype is empty, rather than Object.create(null):
      // that one is a hash table from the start, several times the size of a few named fields, and
      // a request that streams keeps it as long as the stream lasts.
      const out = new QueryRecord();
      // Parsed without keeping the URLSearchParams (and its list) when nothing asked for it.
      const params = this.#search ?? new URLSearchParams(queryOf(this.url));
      for (const [k, v] of params) if (!Object.hasOwn(out, k)) out[k] = v;
      this.#query = out;
    }
    return this.#query;
  }

  /** Cookies sent by the client (`Cookie` header), by name. */
  get cookies(): Record<string, string | undefined> {
    if (this.#cookies === undefined) {
      const h = this.header("cookie");
      this.#cookies = parseCookieHeader(h ?? "");
    }
    return this.#cookies;
  }

  /**
   * The `Last-Event-ID` an EventSource sends when it reconnects, or undefined.
   *
   * @example
   * const from = Number(req.lastEventId ?? -1) + 1;
   */
  get lastEventId(): string | undefined {
    const raw = this.header("last-event-id");
    if (raw === undefined || !NON_ASCII.test(raw) || NOT_BYTES.test(raw)) return raw;
    // The header carries the id as UTF-8 (WHATWG HTML §9.2.4), and header values arrive one byte
    // per character: read the bytes back as UTF-8. Bytes that are not UTF-8 stay as they came.
    try {
      return UTF8.decode(Uint8Array.from(raw, (c) => c.charCodeAt(0)));
    } catch {
      return raw;
    }
  }

  /** The media type of the body, lower case, without parameters. */
  get contentType(): string | undefined {
    const ct = this.header("content-type");
    return ct === undefined ? undefined : ct.split(";", 1)[0]!.trim().toLowerCase();
  }

  /**
   * The body as bytes, at most `bodyLimit` of them (413 past that).
   *
   * @example
   * const raw = await req.bytes();
   */
  bytes(): Promise<Uint8Array> {
    this.#bytes ??= this.#readAll();
    return this.#bytes;
  }

  /**
   * The body as UTF-8 text (malformed UTF-8 is a 400).
   *
   * @example
   * const note = await req.text();
   */
  async text(): Promise<string> {
    const bytes = await this.bytes();
    try {
      return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      throw new HTTPError(400, "request body is not valid UTF-8");
    }
  }

  /**
   * The body parsed as JSON. It must be sent as `application/json` (or `+json`): another type is a
   * 415, malformed JSON a 400, a body over the limit a 413.
   *
   * @example
   * const item = await req.json<{ name: string }>();
   */
  async json<T = unknown>(): Promise<T> {
    const ct = this.header("content-type");
    if (!ct || !JSON_TYPE.test(ct)) {
      throw new HTTPError(
        415,
        `expected an application/json body, got ${ct ? JSON.stringify(ct) : "no content type"}`,
        {
          "accept-post": "application/json",
        },
      );
    }
    const text = await this.text();
    let value: T;
    try {
      value = JSON.parse(text) as T;
    } catch (err) {
      throw new HTTPError(400, `malformed JSON body: ${(err as Error).message}`);
    }
    // JSON.parse takes any depth, but serialising or walking such a value again overflows the
    // stack: a body nested deeper than any real document is refused up front.
    if (jsonDepthExceeds(text, MAX_JSON_DEPTH)) {
      throw new HTTPError(400, `JSON body is nested deeper than ${MAX_JSON_DEPTH} levels`);
    }
    return value;
  }

  /**
   * The body of an HTML form (`application/x-www-form-urlencoded` or `multipart/form-data`) as
   * FormData; another type is a 415.
   *
   * @example
   * const name = (await req.form()).get("name");
   */
  async form(): Promise<FormData> {
    const ct = this.header("content-type");
    if (!ct || !FORM_TYPE.test(ct)) {
      throw new HTTPError(
        415,
        `expected a form body, got ${ct ? JSON.stringify(ct) : "no content type"}`,
      );
    }
    const bytes = await this.bytes();
    try {
      return await new Response(bytes as Uint8Array<ArrayBuffer>, {
        headers: { "content-type": ct },
      }).formData();
    } catch {
      throw new HTTPError(400, "malformed form body");
    }
  }

  /**
   * The body as a web ReadableStream, for bodies read piece by piece. It errors with a 413
   * HTTPError once more than `bodyLimit` bytes have come.
   *
   * @example
   * for await (const chunk of req.stream()) hash.update(chunk);
   */
  stream(): ReadableStream<Uint8Array> {
    const source = this.#limited("stream");
    const it = source[Symbol.asyncIterator]();
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const r = await it.next();
          if (r.done) controller.close();
          else controller.enqueue(r.value);
        } catch (err) {
          controller.error(err);
        }
      },
      async cancel() {
        await it.return(undefined);
      },
    });
  }

  async *#limited(reader: "bytes" | "stream"): AsyncGenerator<Uint8Array> {
    // The body can be read once: bytes() keeps what it read for json(), text() and form(), but
    // stream() and bytes() cannot both have it. A second reader is a bug in the app, not the
    // client's fault: a TypeError that says so (a 500, reported), never an empty body.
    if (this.#bodyReader !== undefined) {
      throw new TypeError(
        `the request body was already read by ${this.#bodyReader === "stream" ? "stream()" : "bytes(), json(), text() or form()"}; ` +
          `${reader === "stream" ? "stream()" : "bytes(), json(), text() and form()"} cannot read it again`,
      );
    }
    this.#bodyReader = reader;
    const limit = this.bodyLimit;
    const declared = this.header("content-length");
    if (declared !== undefined && Number(declared) > limit) throw tooLarge(limit);
    const body = this.rawBody();
    if (!body) return;
    let total = 0;
    try {
      for await (const chunk of body) {
        total += chunk.byteLength;
        if (total > limit) throw tooLarge(limit);
        yield chunk;
      }
    } catch (err) {
      if (HTTPError.is(err) || !this.isClientCut(err)) throw err;
      // The client went away mid-upload: not a server error, and nobody is left to answer.
      throw new HTTPError(400, "the request body ended before it was complete");
    }
  }

  async #readAll(): Promise<Uint8Array> {
    const chunks: Uint8Array[] = [];
    for await (const chunk of this.#limited("bytes")) chunks.push(chunk);
    return chunks.length === 1 ? chunks[0]! : concatBytes(chunks);
  }
}

/** The query string of a request target, without its "?". */
function queryOf(url: string): string {
  const q = url.indexOf("?");
  return q === -1 ? "" : url.slice(q + 1);
}

/**
 * A query as a record: its own names only, nothing inherited (its prototype is an empty object
 * with no prototype of its own), so `constructor` or `__proto__` are plain names.
 */
const QueryRecord = function QueryRecord() {} as unknown as new () => Record<string, string>;
QueryRecord.prototype = Object.create(null);

/** Nesting deeper than this is refused by `json()`. */
export const MAX_JSON_DEPTH = 1000;

/** True when a JSON text nests arrays and objects deeper than `max` (one pass, strings skipped). */
function jsonDepthExceeds(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

function tooLarge(limit: number): HTTPError {
  // The rest of the body stays unread, so the connection cannot be reused (RFC 9112 §9.6).
  return new HTTPError(413, `request body is larger than the limit of ${limit} bytes`, {
    connection: "close",
  });
}
