import { SchemaError, type StandardSchemaV1 } from "../internal/standard-schema.ts";
import { problemError } from "./errors.ts";
import {
  EventStream,
  ItemStream,
  mediaTypeOf,
  type ResumeOptions,
  type StreamSetup,
} from "./stream.ts";
import type { CallOptions, ClientOf, QueryValue, Scalar } from "./types.ts";

/** Options of a client. */
export interface ClientOptions {
  /**
   * The fetch to send requests with (default: the runtime's `fetch`). It gets a `Request`, so an
   * app's own `app.fetch` works: a client of an app in memory, for tests.
   */
  fetch?: (request: Request) => Promise<Response>;
  /** Headers sent with every request (a call's own win), or a function that gives them per request. */
  headers?: HeadersInit | (() => HeadersInit | Promise<HeadersInit>);
  /** How streams resume by default (see `ResumeOptions`); false turns resuming off. */
  resume?: ResumeOptions | false;
}

/** What one call carries at run time, whatever its types said. */
interface RawInput extends CallOptions<unknown> {
  params?: Record<string, Scalar>;
  query?: Record<string, QueryValue>;
  headers?: Record<string, string>;
  body?: unknown;
}

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json$/;
const NDJSON_TYPES = new Set(["application/x-ndjson", "application/jsonl"]);
// A whole-segment parameter as routes declare it: `:name`, maybe with a pattern, or a trailing `*`.
const PARAM = /^:([A-Za-z_]\w*)(?:\(.*\))?$/;

/**
 * A typed client of a Sluice app. Its type comes from the app's: declare the app's routes as one
 * chain (`new App().get(...).post(...)`) and pass `typeof app`. Each call is checked against its
 * route (path parameters, query, headers and body from their schemas) and resolves with the
 * declared response: a JSON body, an `ItemStream` of an NDJSON route's items, an `EventStream` of
 * an SSE route's events. An error status rejects with a `ProblemError` carrying the problem. It
 * uses only web APIs (fetch, URL, streams, TextDecoder): it runs in browsers, Node, Bun, Deno and
 * Workers, and imports no type of the app at run time (`typeof app` is erased).
 *
 * @example
 * import { client } from "sluice/client";
 * import type { app } from "./server.ts";
 *
 * const api = client<typeof app>("https://api.example.com");
 * const movie = await api.get("/movies/:id", { params: { id: 7 } });
 * for await (const m of await api.get("/movies")) console.log(m.title);
 */
export function client<A = unknown>(
  baseURL: string | URL,
  options: ClientOptions = {},
): ClientOf<A> {
  const base = new URL(baseURL);
  // A base path ("https://host/api") is kept: route paths go below it.
  const prefix = base.pathname.replace(/\/+$/, "");
  const send = options.fetch ?? ((request: Request) => fetch(request));

  async function call(method: string, path: string, input: RawInput = {}): Promise<unknown> {
    const url = new URL(base.origin);
    url.pathname = prefix + fillPath(path, input.params ?? {});
    url.search = queryString(input.query);
    const headers = new Headers(
      typeof options.headers === "function" ? await options.headers() : options.headers,
    );
    for (const [name, value] of Object.entries(input.headers ?? {})) {
      if (value !== undefined) headers.set(name, String(value));
    }
    const body = encodeBody(input.body, headers);
    const resume = input.resume ?? options.resume ?? {};
    // One controller per call: its signal goes with every request of it, and it is aborted once
    // the call is done with (a buffered body read, a stream ended, closed or left).
    const controller = new AbortController();
    const signal = controller.signal;
    const user = input.signal;
    if (user) {
      const stop = () => controller.abort(user.reason);
      if (user.aborted) stop();
      user.addEventListener("abort", stop, { once: true });
      signal.addEventListener("abort", () => user.removeEventListener("abort", stop), {
        once: true,
      });
    }

    const open = (lastEventId: string | undefined, s: AbortSignal) => {
      const h = new Headers(headers);
      if (lastEventId !== undefined) h.set("last-event-id", headerBytes(lastEventId));
      return send(new Request(url, { method, headers: h, body, signal: s }));
    };
    let res: Response;
    try {
      res = await open(input.lastEventId, signal);
    } catch (err) {
      controller.abort();
      throw err;
    }
    if (res.type === "error") {
      controller.abort();
      throw new TypeError(`${method} ${url.pathname}: the request failed`);
    }
    if (!res.ok) {
      try {
        throw await problemError(res);
      } finally {
        controller.abort();
      }
    }
    const type = mediaTypeOf(res);
    if (type === "text/event-stream" || NDJSON_TYPES.has(type)) {
      const setup: StreamSetup = {
        first: res,
        reconnect: open,
        controller,
        signal: input.signal,
        resume,
        validate: input.validate,
        lastEventId: input.lastEventId,
      };
      return type === "text/event-stream" ? new EventStream(setup) : new ItemStream(setup);
    }
    try {
      return await decodeBody(res, type, input.validate);
    } finally {
      controller.abort();
    }
  }

  return {
    get: (path, ...input) => call("GET", path, input[0] as RawInput),
    post: (path, ...input) => call("POST", path, input[0] as RawInput),
    put: (path, ...input) => call("PUT", path, input[0] as RawInput),
    patch: (path, ...input) => call("PATCH", path, input[0] as RawInput),
    delete: (path, ...input) => call("DELETE", path, input[0] as RawInput),
  } as ClientOf<A>;
}

/**
 * An id as a `Last-Event-ID` value: its UTF-8 bytes, one character each (WHATWG HTML §9.2.4; a
 * header value is bytes, and fetch takes them as such a string).
 */
function headerBytes(id: string): string {
  if (!/[^\x00-\x7f]/.test(id)) return id;
  let out = "";
  for (const byte of new TextEncoder().encode(id)) out += String.fromCharCode(byte);
  return out;
}

/** The route's path with its parameters filled in, each percent-encoded (a wildcard segment by segment). */
function fillPath(path: string, params: Record<string, Scalar>): string {
  return path
    .split("/")
    .map((segment) => {
      if (segment === "*") return paramValue(params, "*", path).split("/").map(encode).join("/");
      const m = PARAM.exec(segment);
      return m ? encode(paramValue(params, m[1]!, path)) : segment;
    })
    .join("/");
}

function paramValue(params: Record<string, Scalar>, name: string, path: string): string {
  const value = params[name];
  if (value === undefined || value === null)
    throw new TypeError(`${path}: the path parameter "${name}" is missing`);
  return String(value);
}

// encodeURIComponent leaves !'()* as they are, which a path segment may carry.
const encode = (segment: string) => encodeURIComponent(segment);

/** The query string: each name once per value, in order; undefined and null left out. */
function queryString(query: Record<string, QueryValue> | undefined): string {
  if (!query) return "";
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) for (const v of value) search.append(name, String(v));
    else search.append(name, String(value));
  }
  const text = search.toString();
  return text === "" ? "" : `?${text}`;
}

/** The request body: JSON, except what fetch sends as it is (forms, blobs, bytes, streams). */
function encodeBody(body: unknown, headers: Headers): BodyInit | undefined {
  if (body === undefined) return undefined;
  if (
    body instanceof FormData ||
    body instanceof URLSearchParams ||
    body instanceof Blob ||
    body instanceof ArrayBuffer ||
    ArrayBuffer.isView(body)
  ) {
    return body as BodyInit;
  }
  if (!headers.has("content-type")) headers.set("content-type", "application/json");
  return JSON.stringify(body);
}

/** A buffered answer: JSON parsed (and checked), text as a string, anything else as bytes. */
async function decodeBody(
  res: Response,
  type: string,
  validate: StandardSchemaV1 | undefined,
): Promise<unknown> {
  if (res.status === 204 || res.status === 205 || res.body === null) return undefined;
  if (JSON_TYPE.test(type)) {
    const text = await res.text();
    if (text === "") return undefined;
    const value: unknown = JSON.parse(text);
    if (!validate) return value;
    const result = await validate["~standard"].validate(value);
    if (result.issues) throw new SchemaError("the response body", result.issues);
    return result.value;
  }
  if (type.startsWith("text/")) return res.text();
  return new Uint8Array(await res.arrayBuffer());
}
