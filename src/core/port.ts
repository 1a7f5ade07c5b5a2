import type { SluiceRequest } from "../http/request.ts";
import type { SluiceResponse } from "../responses/base.ts";

/** What the error hook is told about where an error happened. */
export interface ErrorContext {
  /** The request being answered, when there is one. */
  request?: SluiceRequest<any> | undefined;
  /** handler (before the first byte), stream (after it), background, teardown, or server. */
  phase: "handler" | "stream" | "background" | "teardown" | "server";
}

/** The app's error hook. */
export type ErrorHook = (error: unknown, context: ErrorContext) => void;

/** Counters of the app's streams, kept by the engines (see `/__stats` in the contract app). */
export interface StreamStats {
  streams: { started: number; completed: number; aborted: number; errored: number; active: number };
  teardowns: number;
}

/**
 * All an engine knows of an app: answer a request with a response value, turn an error into its
 * response, report what went wrong after the fact, and count streams. Engines (node:http, HTTP/2,
 * `app.fetch`) depend on this, never on `App` itself.
 *
 * @example
 * const port: AppPort = app; // an App is a port
 * const res = await port.handle(req);
 */
export interface AppPort {
  /** Answers a request, errors included; never rejects. */
  handle(req: SluiceRequest<any>): Promise<SluiceResponse>;
  /**
   * Like `handle`, but answers at once when nothing on the way awaits: the response itself, else a
   * promise of it. Never throws, never rejects. Optional: an engine falls back to `handle`.
   */
  handleNow?(req: SluiceRequest<any>): SluiceResponse | Promise<SluiceResponse>;
  /** The problem+json response for a thrown value; unexpected ones are reported. */
  errorResponse(error: unknown, req?: SluiceRequest<any>): SluiceResponse;
  /** Hands an error to the app's error hook; a hook that throws is caught. */
  report(error: unknown, context: ErrorContext): void;
  /** The app's stream counters, shared by every engine serving it. */
  readonly stats: StreamStats;
}

/**
 * Fresh stream counters, all zero.
 *
 * @example
 * const stats = emptyStats(); // stats.streams.active === 0
 */
export function emptyStats(): StreamStats {
  return {
    streams: { started: 0, completed: 0, aborted: 0, errored: 0, active: 0 },
    teardowns: 0,
  };
}
