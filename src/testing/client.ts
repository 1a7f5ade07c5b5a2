import type { App } from "../app.ts";
import {
  type AnyServer,
  type RunningServer,
  type ServeOptions,
  serve,
} from "../engine/node/serve.ts";
import {
  bodyChunks,
  type ParsedEvent,
  parseLines,
  parseNDJSON,
  parseSSE,
} from "../internal/event-stream.ts";
import { type SelfSignedCertificate, selfSignedCertificate } from "./cert.ts";
import { H2Fetcher } from "./h2-fetch.ts";

/**
 * Where a test client sends its requests: through `app.fetch` in memory, over a loopback socket
 * on HTTP/1.1 (node:http), or on HTTP/2 over TLS (node:http2, a certificate made for the run).
 */
export type ClientMode = "memory" | "socket" | "h2";

/** A fetch-shaped client bound to one app. */
export interface TestClient {
  readonly mode: ClientMode;
  /** Like fetch, with a path (or full URL) relative to the app, or a Request. */
  fetch(path: string | Request, init?: RequestInit): Promise<Response>;
  /** The server's base URL (socket and h2 modes; starts it). */
  url(): Promise<string>;
  /**
   * The certificate the h2 server presents (h2 mode; starts it): trust it as `ca` in another
   * client.
   */
  certificate(): Promise<SelfSignedCertificate | undefined>;
  /** Stops the server, if one was started. */
  close(): Promise<void>;
}

let certificate: SelfSignedCertificate | undefined;

/**
 * A client for tests that runs requests through `app.fetch` in memory, or over a real loopback
 * socket through the Node engine: HTTP/1.1 with `socket`, HTTP/2 over TLS with `h2` (a
 * self-signed certificate made once per process). Each answers with a web Response, the way
 * fetch does (h2: bodies decoded, redirects followed unless `redirect` says otherwise, a body cut
 * short an error when read, a cancelled body a reset), so one test body serves all three.
 *
 * @example
 * for (const mode of ["memory", "socket", "h2"] as const) {
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
  let server: Promise<RunningServer<AnyServer>> | undefined;
  let h2: H2Fetcher | undefined;
  const start = () => {
    if (server === undefined) {
      const tls =
        mode === "h2" ? { cert: cert().cert, key: cert().key, ...options.tls } : options.tls;
      server = serve(app, { port: 0, host: "127.0.0.1", ...options, tls });
    }
    return server;
  };
  return {
    mode,
    async fetch(path, init) {
      if (mode === "memory") {
        const target = typeof path === "string" ? new URL(path, "http://localhost") : path;
        return app.fetch(new Request(target, init));
      }
      const s = await start();
      const target = typeof path === "string" ? new URL(path, s.url) : path;
      if (mode === "socket") return fetch(target, init);
      h2 ??= new H2Fetcher(s.url, { ca: cert().cert });
      return h2.fetch(target, init);
    },
    async url() {
      return mode === "memory" ? "http://localhost" : (await start()).url;
    },
    async certificate() {
      if (mode !== "h2") return undefined;
      await start();
      return cert();
    },
    async close() {
      h2?.close();
      if (server) await (await server).close();
    },
  };
}

function cert(): SelfSignedCertificate {
  certificate ??= selfSignedCertificate();
  return certificate;
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
