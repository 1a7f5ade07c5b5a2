import { type ProblemExtensions, problemBody } from "../http/errors.ts";
import type { ErrorStatus } from "../http/status.ts";
import { BufferedResponse } from "./base.ts";

declare const problemBrand: unique symbol;

/**
 * An application problem+json response (RFC 9457): the body every error renders as. Build one to
 * answer an error without throwing. Its arguments come in the order of `HTTPError`'s.
 *
 * @example
 * return new ProblemResponse(409, "the name is taken", undefined, { name: "dune" });
 * return new ProblemResponse(401, "sign in first", { "www-authenticate": "Bearer" });
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
    headers?: Record<string, string | string[]>,
    extensions?: ProblemExtensions,
  ) {
    super(JSON.stringify(problemBody(status, detail, extensions)), {
      status,
      mediaType: "application/problem+json",
    });
    if (headers) {
      for (const [name, value] of Object.entries(headers)) {
        if (Array.isArray(value)) for (const v of value) this.appendHeader(name, v);
        else this.setHeader(name, value);
      }
    }
  }
}
