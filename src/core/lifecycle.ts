import type { SluiceRequest } from "../http/request.ts";
import type { SluiceResponse } from "../responses/base.ts";
import type { StreamSource } from "../responses/stream.ts";
import type { AppPort } from "./port.ts";

/** A response being finished: the app to report to, the request it answered, the response. */
export interface Finishing {
  readonly app: Pick<AppPort, "report">;
  readonly request?: SluiceRequest<any> | undefined;
  readonly response: SluiceResponse;
}

/**
 * Closes a source that will never be iterated (HEAD, a response replaced before it started),
 * without calling into user code that would start it: a generator is finished without running its
 * body, a web stream cancelled, a Node stream destroyed.
 *
 * @example
 * await disposeSource(gen()); // the generator's body never runs
 */
export async function disposeSource(source: StreamSource<unknown>): Promise<void> {
  const s = source as unknown as {
    return?: () => unknown;
    next?: unknown;
    destroy?: () => void;
    pipe?: unknown;
  };
  if (source instanceof ReadableStream) {
    if (!source.locked) await source.cancel();
  } else if (typeof s.destroy === "function" && typeof s.pipe === "function") {
    // A Node Readable, recognised by its shape: nothing here imports node:stream.
    s.destroy();
  } else if (typeof s.next === "function" && typeof s.return === "function") {
    // An iterator object (a generator): finishing it before its first next() runs none of its code.
    await s.return();
  }
}

/**
 * Runs a response's teardown hooks once each; a failing hook is reported and the others still run.
 *
 * @example
 * await runTeardowns({ app, request: req, response });
 */
export async function runTeardowns(t: Finishing): Promise<void> {
  const hooks = t.response.teardowns.splice(0);
  for (const fn of hooks) {
    try {
      await fn();
    } catch (error) {
      t.app.report(error, { request: t.request, phase: "teardown" });
    }
  }
}

/**
 * Runs a response's background tasks in order, once its body has gone out in full; a failing
 * task is reported and the next still runs.
 *
 * @example
 * await runTasks({ app, request: req, response });
 */
export async function runTasks(t: Finishing): Promise<void> {
  for (const task of t.response.tasks.splice(0)) {
    try {
      await task();
    } catch (error) {
      t.app.report(error, { request: t.request, phase: "background" });
    }
  }
}

/**
 * After a response is done with: a stream source that never started is disposed (a web or Node
 * stream must be cancelled, never left to the garbage collector), teardown hooks run in every
 * case, and background tasks when the body went out in full. Failures go to the error hook.
 *
 * @example
 * res.once("close", () => void finishResponse({ app, request: req, response }, res.writableFinished));
 */
export async function finishResponse(t: Finishing, sent: boolean): Promise<void> {
  const source = (t.response as { source?: StreamSource<unknown> }).source;
  if (!sent && source !== undefined) {
    try {
      await disposeSource(source);
    } catch (error) {
      t.app.report(error, { request: t.request, phase: "teardown" });
    }
  }
  await runTeardowns(t);
  if (sent) await runTasks(t);
}
