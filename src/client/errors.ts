/**
 * What the typed client throws: a problem the server answered with, and a stream that could not go
 * on. Both are plain Errors with a brand, so `is()` works across duplicate installs.
 */

import { statusText } from "../http/status.ts";

const PROBLEM = Symbol.for("sluice.ProblemError");
const STREAM = Symbol.for("sluice.StreamError");

/**
 * An RFC 9457 problem details object, as Sluice renders every error: `type`, `title`, `status`,
 * `detail`, and extensions such as the `errors` list of a 422.
 *
 * @example
 * const p: Problem = { type: "about:blank", title: "Not Found", status: 404, detail: "no movie 7" };
 */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  /** The issues of a 422 from a route's schemas: where (`in`), which path, what. */
  errors?: { in?: string; path: string; message: string }[];
  [extension: string]: unknown;
}

/**
 * The server answered with an error status. `problem` is the problem+json body it sent; an error
 * answer without one (a proxy's HTML page, say) gets the problem its status stands for (RFC 9457
 * §4.2.1: `about:blank`, the status text as title).
 *
 * @example
 * try {
 *   await api.post("/items", { body: { name: "", qty: 0 } });
 * } catch (err) {
 *   if (ProblemError.is(err) && err.status === 422) for (const e of err.problem.errors ?? []) show(e.path, e.message);
 * }
 */
export class ProblemError extends Error {
  readonly status: number;
  readonly problem: Problem;
  /** The response headers (a 405's `Allow`, a 429's `Retry-After`, ...). */
  readonly headers: Headers;

  constructor(problem: Problem, headers: Headers = new Headers()) {
    super(
      problem.detail
        ? `${problem.status} ${problem.title}: ${problem.detail}`
        : `${problem.status} ${problem.title}`,
    );
    this.name = "ProblemError";
    this.status = problem.status;
    this.problem = problem;
    this.headers = headers;
    Object.defineProperty(this, PROBLEM, { value: true });
  }

  /**
   * True for a ProblemError, also one made by another copy of Sluice.
   *
   * @example
   * if (ProblemError.is(err) && err.status === 404) return undefined;
   */
  static is(value: unknown): value is ProblemError {
    return (
      typeof value === "object" &&
      value !== null &&
      (value as Record<symbol, unknown>)[PROBLEM] === true
    );
  }
}

/**
 * A stream could not go on: it was cut and cannot resume (no id to resume from, or resuming is off),
 * it came back as something else, or reconnecting failed `maxAttempts` times in a row. `cause` is
 * the error underneath (a network error, a ProblemError of the last attempt).
 *
 * @example
 * try { for await (const row of rows) save(row); }
 * catch (err) { if (StreamError.is(err)) console.error("export cut short:", err.cause); }
 */
export class StreamError extends Error {
  /** The last event ID the stream had when it stopped, if any. */
  readonly lastEventId: string | undefined;

  constructor(message: string, lastEventId: string | undefined, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "StreamError";
    this.lastEventId = lastEventId;
    Object.defineProperty(this, STREAM, { value: true });
  }

  /**
   * True for a StreamError, also one made by another copy of Sluice.
   *
   * @example
   * if (StreamError.is(err)) retryLater(err.lastEventId);
   */
  static is(value: unknown): value is StreamError {
    return (
      typeof value === "object" &&
      value !== null &&
      (value as Record<symbol, unknown>)[STREAM] === true
    );
  }
}

/**
 * Reads an error answer into a ProblemError: its problem+json (or JSON) body when it has one that
 * looks like a problem, else the problem its status stands for.
 */
export async function problemError(res: Response): Promise<ProblemError> {
  const fallback: Problem = {
    type: "about:blank",
    title: statusText(res.status),
    status: res.status,
  };
  let problem = fallback;
  const type = res.headers.get("content-type") ?? "";
  if (/^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(type)) {
    try {
      const body: unknown = JSON.parse(await res.text());
      if (typeof body === "object" && body !== null && !Array.isArray(body)) {
        // The status line is the truth; a body that disagrees does not change it.
        problem = { ...fallback, ...(body as Record<string, unknown>), status: res.status };
      }
    } catch {
      // Not JSON after all: the status says what there is to say.
    }
  } else {
    await res.body?.cancel().catch(() => {});
  }
  return new ProblemError(problem, res.headers);
}
