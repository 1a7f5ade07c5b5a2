import { HeaderError } from "../http/headers.ts";
import type { ContentfulStatus, ContentlessStatus, RedirectStatus } from "../http/status.ts";
import { type Body, BufferedResponse, type ResponseInit, SluiceResponse } from "./base.ts";

/**
 * A JSON body (`application/json`), rendered with `JSON.stringify` when the engine writes it.
 * Returning a plain object or array from a handler makes one of these.
 *
 * @example
 * app.get("/movies/:id", (req) => new JSONResponse({ id: req.params.id }, { status: 200 }));
 */
export class JSONResponse<T = unknown> extends BufferedResponse<ContentfulStatus> {
  declare readonly content: T;

  constructor(content: T, init?: ResponseInit<ContentfulStatus> & { mediaType?: string }) {
    super(content, init, "application/json");
  }

  override render(): string {
    const text = JSON.stringify(this.content);
    // JSON.stringify answers undefined (not a string) for undefined, functions and symbols.
    if (text === undefined) throw new TypeError("JSONResponse content is not serialisable as JSON");
    return text;
  }
}

/**
 * A `text/plain; charset=utf-8` body. Returning a string from a handler makes one of these.
 *
 * @example
 * app.get("/text", () => new TextResponse("hello, world"));
 */
export class TextResponse extends BufferedResponse<ContentfulStatus> {
  constructor(content: string, init?: ResponseInit<ContentfulStatus>) {
    super(content, init, "text/plain; charset=utf-8");
  }
}

/**
 * A `text/html; charset=utf-8` body. The content is sent as given: escape user input with `html`
 * (or render a template) before building it.
 *
 * @example
 * app.get("/", () => new HTMLResponse("<h1>Hello</h1>"));
 */
export class HTMLResponse extends BufferedResponse<ContentfulStatus> {
  constructor(content: string, init?: ResponseInit<ContentfulStatus>) {
    super(content, init, "text/html; charset=utf-8");
  }
}

/**
 * A response without content: 204 by default, or 205 or 304. Giving it a body is a type error.
 *
 * @example
 * app.delete("/movies/:id", () => new EmptyResponse()); // 204
 */
export class EmptyResponse extends SluiceResponse {
  constructor(init?: ResponseInit<ContentlessStatus>) {
    super({ status: 204, ...init });
  }

  body(): Body {
    return { kind: "empty" };
  }
}

// URI characters (RFC 3986 §2.2, §2.3) that may stand in a Location as they are.
const URI_SAFE = /[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=]/;

/**
 * Percent-encodes what a Location header may not carry raw (spaces, non-ASCII, quotes, ...),
 * keeping reserved characters and existing `%XX` escapes. Throws a HeaderError rather than send a
 * target that is not what it says:
 *
 * - CR, LF or NUL: almost always an injection attempt, never encoded.
 * - A target that percent-encoding would point at another origin. Browsers parse a Location with
 *   the WHATWG URL parser, which reads `\` as `/` and strips leading spaces and controls, so
 *   `http://allowed.example\@evil.example` is host `allowed.example` as given but host
 *   `evil.example` once the `\` is encoded as `%5C`; `/\evil.example` and ` //evil.example` are
 *   other hosts as given but paths once encoded. The target as given and as encoded are both
 *   parsed (relative ones against a placeholder base) and must agree on scheme, host and port.
 * - A target the URL parser refuses (`http://[::1`), which no browser could follow.
 *
 * @example
 * encodeLocation("/search?q=naïve café"); // "/search?q=na%C3%AFve%20caf%C3%A9"
 * encodeLocation("http://allowed.example\\@evil.example"); // throws HeaderError
 */
export function encodeLocation(url: string): string {
  if (/[\r\n\0]/.test(url)) throw new HeaderError("redirect target contains CR, LF or NUL");
  let out = "";
  for (let i = 0; i < url.length; i++) {
    const ch = url[i]!;
    if (URI_SAFE.test(ch)) out += ch;
    else if (ch === "%" && /^[0-9A-Fa-f]{2}$/.test(url.slice(i + 1, i + 3))) out += ch;
    else {
      const cp = url.codePointAt(i)!;
      const s = String.fromCodePoint(cp);
      if (s.length === 2) i++;
      // A lone surrogate cannot be UTF-8 encoded; encodeURIComponent would throw.
      out += cp >= 0xd800 && cp <= 0xdfff ? "%EF%BF%BD" : encodeURIComponent(s);
    }
  }
  // Most targets need no encoding: nothing can have moved.
  if (out !== url) assertSameOrigin(url, out);
  else if (originOf(url) === undefined) throw invalidTarget(url);
  return out;
}

// Relative targets resolve against this; the `.invalid` TLD never names a real host (RFC 6761).
const BASE = "http://base.invalid/a/";

/** `scheme://host:port` of a target as a browser reads it, or undefined when it is no URL. */
function originOf(target: string): string | undefined {
  let url: URL;
  try {
    url = new URL(target, BASE);
  } catch {
    return undefined;
  }
  return `${url.protocol}//${url.host}`;
}

function assertSameOrigin(given: string, encoded: string): void {
  const before = originOf(given);
  if (before === undefined) throw invalidTarget(given);
  const after = originOf(encoded);
  if (after !== before) {
    throw new HeaderError(
      `redirect target ${JSON.stringify(given)} would change host once percent-encoded ` +
        `(${describeOrigin(before)} as given, ${after === undefined ? "no valid URL" : describeOrigin(after)} as sent): ` +
        "a browser reads the encoded Location, so the target is refused",
    );
  }
}

function describeOrigin(origin: string): string {
  return origin.startsWith("http://base.invalid") ? "a path on this origin" : origin;
}

function invalidTarget(target: string): HeaderError {
  return new HeaderError(`redirect target ${JSON.stringify(target)} is not a valid URL reference`);
}

/**
 * True when `target` is a path on this origin that no browser reads as another host: it starts
 * with one `/`, not `//` or `/\`, and has no leading whitespace or control characters. Use it to
 * refuse open redirects built from user input.
 *
 * @example
 * isLocalPath("/account"); // true
 * isLocalPath("//evil.example"); // false
 */
export function isLocalPath(target: string): boolean {
  return /^\/(?![/\\])/.test(target) && !/[\0-\x20\\]/.test(target.slice(0, 2));
}

/**
 * A redirect: 307 by default (method and body kept), or 301, 302, 303, 308. The Location is
 * percent-encoded (see `encodeLocation`); CR, LF or NUL in it, or a target that encoding would
 * point at another host (`http://allowed.example\@evil.example`, `/\evil.example`), throws a
 * HeaderError. Building a target from user input? Check it with `isLocalPath` first.
 *
 * @example
 * app.get("/old", () => new RedirectResponse("/new", 308));
 */
export class RedirectResponse extends SluiceResponse {
  // Nominal: any response without content is not a redirect (see ProblemResponse).
  declare private readonly redirectBrand: never;
  constructor(
    url: string | URL,
    status: RedirectStatus = 307,
    init?: Omit<ResponseInit, "status">,
  ) {
    super({ ...init, status });
    this.setHeader("location", encodeLocation(String(url)));
  }

  body(): Body {
    return { kind: "empty" };
  }
}
