// Helpers of the files suites: raw HTTP over a socket (where the wire matters: paths the WHATWG URL
// parser would rewrite, exact bytes), a multipart/byteranges reader, and an fd counter.

import { readdirSync } from "node:fs";
import { connect } from "node:net";
import type { App } from "../src/index.ts";
import { serve } from "../src/node/index.ts";

/** A response read off the wire. */
export interface RawResponse {
  status: number;
  /** Lower-case names; repeated fields joined with ", ". */
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * Sends one request exactly as given (`target` unchanged, `Connection: close`) and reads the whole
 * response. Rejects after `timeoutMs`, so a hung server fails the test instead of stalling it.
 *
 * @example
 * const res = await rawRequest(port, "GET", "/static/%2e%2e/secret.txt");
 */
export function rawRequest(
  port: number,
  method: string,
  target: string,
  headers: Record<string, string> = {},
  timeoutMs = 3000,
): Promise<RawResponse> {
  const lines = [`${method} ${target} HTTP/1.1`, "Host: 127.0.0.1", "Connection: close"];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  const head = Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1");
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete response to ${method} ${target} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on("connect", () => socket.write(head));
    socket.on("data", (c) => chunks.push(c));
    socket.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    socket.on("close", () => {
      clearTimeout(timer);
      try {
        resolve(parseResponse(Buffer.concat(chunks), method === "HEAD"));
      } catch (e) {
        reject(e);
      }
    });
  });
}

function parseResponse(raw: Buffer, head: boolean): RawResponse {
  const end = raw.indexOf("\r\n\r\n");
  if (end === -1) throw new Error(`incomplete response head: ${JSON.stringify(raw.toString())}`);
  const [statusLine, ...fields] = raw.subarray(0, end).toString("latin1").split("\r\n");
  const status = Number(statusLine!.split(" ")[1]);
  const headers: Record<string, string> = {};
  for (const field of fields) {
    const colon = field.indexOf(":");
    const name = field.slice(0, colon).trim().toLowerCase();
    const value = field.slice(colon + 1).trim();
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  let body = raw.subarray(end + 4);
  if (head) body = Buffer.alloc(0);
  else if (headers["transfer-encoding"] === "chunked") body = unchunk(body);
  return { status, headers, body };
}

function unchunk(data: Buffer): Buffer {
  const out: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = data.indexOf("\r\n", at);
    if (lineEnd === -1) throw new Error("truncated chunked body");
    const size = Number.parseInt(data.subarray(at, lineEnd).toString(), 16);
    if (size === 0) return Buffer.concat(out);
    out.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
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

/**
 * The number of open file descriptors of this process (Linux, `/proc/self/fd`).
 *
 * @example
 * const before = openFds();
 */
export function openFds(): number {
  return readdirSync("/proc/self/fd").length;
}

/**
 * Waits until `check()` is true, polling every 20 ms, for at most `timeoutMs`; returns whether it
 * became true.
 *
 * @example
 * assert.ok(await eventually(() => openFds() <= before, 2000));
 */
export async function eventually(check: () => boolean, timeoutMs = 2000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Sends a request through `app.fetch` (memory) or over a raw socket (socket: the target goes out
 * byte for byte, the body comes back undecoded), and answers in one shape either way.
 *
 * @example
 * const send = sender(app, "socket");
 * const res = await send("GET", "/static/a%20b.txt");
 * await send.close();
 */
export function sender(
  appOrGetter: App | (() => App),
  mode: "memory" | "socket",
): ((method: string, target: string, headers?: Record<string, string>) => Promise<RawResponse>) & {
  close(): Promise<void>;
} {
  let server: Promise<{ port: number; close(): Promise<void> }> | undefined;
  const send = async (method: string, target: string, headers: Record<string, string> = {}) => {
    // The app may be made later than the sender (in a `before` hook): take it when first used.
    const app = typeof appOrGetter === "function" ? appOrGetter() : appOrGetter;
    if (mode === "socket") {
      server ??= serve(app, { port: 0, host: "127.0.0.1" });
      return rawRequest((await server).port, method, target, headers);
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
      if (server) await (await server).close();
    },
  });
}
