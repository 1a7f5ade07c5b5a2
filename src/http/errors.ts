import type { ErrorStatus } from "./status.ts";
import { statusText } from "./status.ts";

const BRAND = Symbol.for("sluice.HTTPError");

/** Extra members of an RFC 9457 problem details object. */
export type ProblemExtensions = Record<string, unknown>;

/**
 * The one error class of Sluice. Thrown anywhere (handler, middleware, body reader, response
 * constructor), it renders as `application/problem+json` (RFC 9457) with its status.
 *
 * @example
 * throw new HTTPError(404, "no movie with id 42");
 * throw new HTTPError(401, "sign in first", { "www-authenticate": "Bearer" });
 */
export class HTTPError extends Error {
  readonly status: ErrorStatus;
  readonly detail: string | undefined;
  readonly headers: Record<string, string>;
  /** Further members of the problem object, such as `type`, `title` or an `errors` list. */
  readonly extensions: ProblemExtensions;

  constructor(
    status: ErrorStatus,
    detail?: string,
    headers?: Record<string, string>,
    extensions?: ProblemExtensions,
  ) {
    super(detail ?? statusText(status));
    this.name = "HTTPError";
    this.status = status;
    this.detail = detail;
    this.headers = headers ?? {};
    this.extensions = extensions ?? {};
    Object.defineProperty(this, BRAND, { value: true });
  }

  /**
   * True when `value` is an HTTPError, also one made by another copy of Sluice (a duplicate
   * install), where `instanceof` would say no.
   *
   * @example
   * try { await run(); } catch (e) { if (HTTPError.is(e)) console.log(e.status); }
   */
  static is(value: unknown): value is HTTPError {
    return (
      typeof value === "object" &&
      value !== null &&
      (value as Record<symbol, unknown>)[BRAND] === true
    );
  }
}

/**
 * The RFC 9457 problem object for an error status: `type`, `title`, `status`, `detail`, plus
 * extensions. Extensions never override `status`.
 *
 * @example
 * problemBody(404, "no such movie"); // { type: "about:blank", title: "Not Found", status: 404, detail: "no such movie" }
 */
export function problemBody(
  status: number,
  detail?: string,
  extensions?: ProblemExtensions,
): Record<string, unknown> {
  const body: Record<string, unknown> = { type: "about:blank", title: statusText(status) };
  if (extensions) Object.assign(body, extensions);
  body.status = status;
  if (detail !== undefined) body.detail = detail;
  return body;
}
