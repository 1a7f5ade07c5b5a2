/**
 * What end-to-end tests of an app share: the engine matrix, every test's own bound, a recorder for
 * the error hook, a problem+json reader, a sender that answers in one shape through either engine,
 * a multipart/byteranges reader, and a node:http GET.
 */
import assert from "node:assert/strict";
import { request as httpRequest, type IncomingMessage } from "node:http";
import type { ClientHttp2Session } from "node:http2";
import type { App, ErrorContext } from "../../src/index.ts";
import { type AnyServer, type RunningServer, serve } from "../../src/node/index.ts";
import {
  type ClientMode,
  type SelfSignedCertificate,
  selfSignedCertificate,
} from "../../src/testing/index.ts";
import { h2Connect, h2Request } from "./h2.ts";
import { type RawResponse, rawRequest } from "./raw-http.ts";
import { within } from "./wait.ts";

/**
 * Every engine: in memory through `app.fetch`, over a loopback socket through node:http
 * (HTTP/1.1), and through node:http2 (HTTP/2 over TLS).
 */
export const MODES: readonly ClientMode[] = ["memory", "socket", "h2"];

let certificate: SelfSignedCertificate | undefined;

/** The certificate this test process serves TLS with (made once, never committed). */
export function testCertificate(): SelfSignedCertificate {
  certificate ??= selfSignedCertificate();
  return certificate;
}

/** Every test's own bound: nothing here may hang the suite. */
export const BOUND = { timeout: 10_000 };

/** One report heard by the app's error hook. */
export interface Report {
  error: unknown;
  context: ErrorContext;
}

/** Records what the app's error hook hears; `next()` waits (bounded) for the next report. */
export class Reports {
  readonly all: Report[] = [];
  #waiters: ((r: Report) => void)[] = [];

  constructor(app: App) {
    app.onError((error, context) => {
      const report = { error, context };
      this.all.push(report);
      for (const w of this.#waiters.splice(0)) w(report);
    });
  }

  /** The next report after now, within `ms`. */
  next(ms = 2000): Promise<Report> {
    return within(
      new Promise<Report>((resolve) => this.#waiters.push(resolve)),
      ms,
      "an error report",
    );
  }

  clear(): void {
    this.all.length = 0;
  }
}

/** Reads a problem+json response and checks its shape (RFC 9457). */
export async function problem(
  res: Response,
  status: number,
): Promise<{ type: string; title: string; status: number; detail?: string }> {
  assert.equal(res.status, status);
  assert.equal(res.headers.get("content-type"), "application/problem+json");
  const body = (await res.json()) as {
    type: string;
    title: string;
    status: number;
    detail?: string;
  };
  assert.equal(body.status, status);
  assert.equal(body.type, "about:blank");
  assert.equal(typeof body.title, "string");
  return body;
}

/** A response as `sender` answers it, whichever the engine. */
export type SentResponse = Pick<RawResponse, "status" | "headers" | "body">;

/**
 * Sends a request through `app.fetch` (memory), over a raw socket (socket: the target goes out
 * byte for byte, the body comes back undecoded) or on HTTP/2 (h2: `:path` as given, the body
 * undecoded; a body cut short is an error), and answers in one shape either way.
 *
 * @example
 * const send = sender(app, "socket");
 * const res = await send("GET", "/static/a%20b.txt");
 * await send.close();
 */
export function sender(
  appOrGetter: App | (() => App),
  mode: ClientMode,
): ((method: string, target: string, headers?: Record<string, string>) => Promise<SentResponse>) & {
  close(): Promise<void>;
} {
  let server: Promise<RunningServer<AnyServer>> | undefined;
  let session: Promise<ClientHttp2Session> | undefined;
  const send = async (
    method: string,
    target: string,
    headers: Record<string, string> = {},
  ): Promise<SentResponse> => {
    // The app may be made later than the sender (in a `before` hook): take it when first used.
    const app = typeof appOrGetter === "function" ? appOrGetter() : appOrGetter;
    if (mode === "socket") {
      server ??= serve(app, { port: 0, host: "127.0.0.1" });
      const res = await rawRequest((await server).port, method, target, headers);
      return { status: res.status, headers: res.headers, body: res.body };
    }
    if (mode === "h2") {
      server ??= serve(app, { port: 0, host: "127.0.0.1", tls: testCertificate() });
      const url = (await server).url;
      session ??= h2Connect(url, { ca: testCertificate().cert });
      const res = await h2Request(await session, method, target, headers);
      if (!res.ended) throw new Error(`the stream was reset (code ${res.rstCode})`);
      const out: Record<string, string> = {};
      for (const [k, v] of Object.entries(res.headers)) {
        if (v !== undefined) out[k] = Array.isArray(v) ? v.join(", ") : String(v);
      }
      return { status: res.status, headers: out, body: res.body };
    }
    const res = await app.fetch(new Request(`http://localhost${target}`, { method, headers }));
    const out: Record<string, string> = {};
    res.headers.forEach((v, k) => {
      out[k] = v;
    });
    return { status: res.status, headers: out, body: Buffer.from(await res.arrayBuffer()) };
  };
  return Object.assign(send, {
    async close() {
      if (session) (await session).close();
      if (server) await (await server).close();
    },
  });
}

/** One part of a multipart/byteranges body. */
export interface Part {
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * Reads a multipart/byteranges body back (RFC 9110 §14.6, RFC 2046 §5.1.1) strictly: each
 * delimiter, header block and the closing delimiter must be where they belong. Throws otherwise.
 *
 * @example
 * const parts = parseByteranges(body, "b0undary");
 */
export function parseByteranges(body: Buffer, boundary: string): Part[] {
  const parts: Part[] = [];
  const open = Buffer.from(`--${boundary}\r\n`);
  const next = Buffer.from(`\r\n--${boundary}`);
  if (!body.subarray(0, open.length).equals(open)) throw new Error("body does not open with --B");
  let at = open.length;
  for (;;) {
    const headEnd = body.indexOf("\r\n\r\n", at);
    if (headEnd === -1) throw new Error("part without a header block");
    const headers: Record<string, string> = {};
    for (const line of body.subarray(at, headEnd).toString("latin1").split("\r\n")) {
      const colon = line.indexOf(":");
      headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
    }
    // The part's length comes from its Content-Range, so bytes that look like a delimiter inside
    // the file cannot confuse the reader.
    const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(headers["content-range"] ?? "");
    if (m === null)
      throw new Error(`part without a valid Content-Range: ${headers["content-range"]}`);
    const length = Number(m[2]) - Number(m[1]) + 1;
    const start = headEnd + 4;
    parts.push({ headers, body: body.subarray(start, start + length) });
    at = start + length;
    if (!body.subarray(at, at + next.length).equals(next))
      throw new Error("part not followed by a delimiter");
    at += next.length;
    const rest = body.subarray(at).toString("latin1");
    if (rest === "--\r\n") return parts;
    if (!rest.startsWith("\r\n")) throw new Error("delimiter not followed by CRLF");
    at += 2;
  }
}

/** A node:http GET whose response the test reads (or pauses) itself. */
export function nodeGet(
  url: string,
  headers: Record<string, string> = {},
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers, agent: false }, resolve);
    req.on("error", reject);
    req.end();
  });
}
