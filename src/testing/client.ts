import type { App } from "../app.ts";
import { type RunningServer, type ServeOptions, serve } from "../engine/node/serve.ts";
import {
  bodyChunks,
  type ParsedEvent,
  parseLines,
  parseNDJSON,
  parseSSE,
} from "../internal/event-stream.ts";

/** Where a test client sends its requests. */
export type ClientMode = "memory" | "socket";

/** A fetch-shaped client bound to one app. */
export interface TestClient {
  readonly mode: ClientMode;
  /** Like fetch, with a path (or full URL) relative to the app. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** The server's base URL (socket mode; starts it). */
  url(): Promise<string>;
  /** Stops the server, if one was started. */
  close(): Promise<void>;
}

/**
 * A client for tests that runs requests through `app.fetch` in memory, or over a real loopback
 * socket through the Node engine. Both answer with a web Response, so one test body serves both.
 *
 * @example
 * for (const mode of ["memory", "socket"] as const) {
 *   const client = testClient(app, mode);
 *   const res = await client.fetch("/json");
 *   assert.deepEqual(await res.json(), { hello: "world" });
 *   await client.close();
 * }
 */
export function testClient(
  app: App,
  mode: ClientMode = "memory",
  options: ServeOptions = {},
): TestClient {
  let server: Promise<RunningServer> | undefined;
  const start = () => {
    server ??= serve(app, { port: 0, host: "127.0.0.1", ...options });
    return server;
  };
  return {
    mode,
    async fetch(path, init) {
      if (mode === "memory") {
        return app.fetch(new Request(new URL(path, "http://localhost"), init));
      }
      const s = await start();
      return fetch(new URL(path, s.url), init);
    },
    async url() {
      return mode === "memory" ? "http://localhost" : (await start()).url;
    },
    async close() {
      if (server) await (await server).close();
    },
  };
}

/**
 * The body of a response as raw chunks, as they arrive.
 *
 * @example
 * for await (const chunk of chunks(res)) console.log(chunk.byteLength);
 */
export async function* chunks(res: Response): AsyncGenerator<Uint8Array> {
  // Leaving the loop early (break, throw) cancels the body: a disconnect, seen by the server.
  if (res.body) yield* bodyChunks(res.body);
}

/**
 * The body of a response as text lines, as they arrive (LF or CRLF ends a line). Breaking out of
 * the loop cancels the body, as a client that goes away would.
 *
 * @example
 * for await (const line of lines(res)) if (line === "done") break;
 */
export function lines(res: Response): AsyncGenerator<string, void, undefined> {
  return parseLines(chunks(res));
}

/**
 * The body of an NDJSON response as parsed values, one per line, as they arrive. A line that is not
 * JSON throws a SyntaxError naming its line number. Breaking out of the loop cancels the body.
 *
 * @example
 * for await (const row of ndjson<{ id: number }>(res)) console.log(row.id);
 */
export function ndjson<T = unknown>(res: Response): AsyncGenerator<T, void, undefined> {
  return parseNDJSON<T>(chunks(res));
}

/**
 * The body of an event stream as the events an EventSource would dispatch (WHATWG rules: comments
 * and pings skipped, data lines joined, the last event ID carried over). Breaking out of the loop
 * cancels the body.
 *
 * @example
 * for await (const ev of events(res)) if (ev.event === "done") break;
 */
export function events(res: Response): AsyncGenerator<ParsedEvent, void, undefined> {
  return parseSSE(chunks(res));
}
