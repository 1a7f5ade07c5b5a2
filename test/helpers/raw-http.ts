/**
 * One raw HTTP/1.x client over node:net, for the cases where the exact bytes on the wire matter:
 * targets the WHATWG URL parser would rewrite, framing, keep-alive, and what the server does to
 * the connection. `RawConnection` is the client; `rawExchange` (one request, everything that came
 * back) and `rawRequest` (one request, its response parsed) are its one-shot uses.
 */
import { connect, type Socket } from "node:net";
import { within } from "./wait.ts";

/** One HTTP/1.x response as it came off the wire. */
export interface RawResponse {
  /** The status line and header lines exactly as received, without the blank line. */
  head: string;
  status: number;
  /** Header fields by lower-case name; repeated fields joined with ", " (see `headerFields`). */
  headers: Record<string, string>;
  /** The body, de-chunked when it was chunked. */
  body: Buffer;
}

/** Header fields of a raw response head, by lower-case name (repeated names keep every value). */
export function headerFields(head: string): Map<string, string[]> {
  const fields = new Map<string, string[]>();
  for (const line of head.split("\r\n").slice(1)) {
    const colon = line.indexOf(":");
    const name = line.slice(0, colon).toLowerCase();
    fields.set(name, [...(fields.get(name) ?? []), line.slice(colon + 1).trim()]);
  }
  return fields;
}

/** The status code of a raw response head. */
function statusOf(head: string): number {
  return Number(head.split("\r\n", 1)[0]!.split(" ")[1]);
}

/** Header fields of a raw response head as one record, repeated fields joined with ", ". */
function joinedFields(head: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, values] of headerFields(head)) headers[name] = values.join(", ");
  return headers;
}

/** The chunks of a chunked body, whether its terminating chunk came, and where it ended. */
function scanChunked(body: Buffer): { parts: Buffer[]; complete: boolean; end: number } {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = body.indexOf("\r\n", at);
    if (eol === -1) return { parts, complete: false, end: body.length };
    const size = Number.parseInt(body.subarray(at, eol).toString("latin1"), 16);
    if (Number.isNaN(size)) return { parts, complete: false, end: body.length };
    if (size === 0) {
      const complete = body.subarray(eol, eol + 4).equals(CRLF2);
      return { parts, complete, end: complete ? eol + 4 : body.length };
    }
    const start = eol + 2;
    if (body.length < start + size + 2) {
      parts.push(body.subarray(start));
      return { parts, complete: false, end: body.length };
    }
    parts.push(body.subarray(start, start + size));
    at = start + size + 2;
  }
}
const CRLF2 = Buffer.from("\r\n\r\n");

/**
 * Decodes a chunked body; `complete` says whether the terminating `0\r\n\r\n` came, and `end` is
 * the offset just past it (the whole input when it did not come).
 */
export function dechunk(body: Buffer): { data: Buffer; complete: boolean; end: number } {
  const { parts, complete, end } = scanChunked(body);
  return { data: Buffer.concat(parts), complete, end };
}

/** True once a chunked response has come in full (its terminating chunk). */
export const chunkedEnd = (raw: Buffer): boolean => raw.includes("\r\n0\r\n\r\n");

/**
 * A raw TCP connection that speaks HTTP/1.x by hand: write exact bytes, read whole responses
 * (Content-Length, chunked, or until close) one after another on a kept-alive connection, or
 * everything until the server closes, and see when (and how) the connection ended.
 */
export class RawConnection {
  readonly socket: Socket;
  /** How many 'data' events the socket has delivered. */
  dataEvents = 0;
  /** The socket's error, if it had one (a reset, say): the connection ended with it. */
  error: Error | undefined;
  #buffer = Buffer.alloc(0);
  #ended = false;
  #wake: (() => void) | undefined;
  /** Settles once the server has ended or closed the connection. */
  readonly ended: Promise<void>;
  /** Settles once the socket has closed (after any error it had). */
  readonly gone: Promise<void>;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on("data", (chunk: Buffer) => {
      this.dataEvents++;
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      this.#wake?.();
    });
    this.ended = new Promise<void>((resolve) => {
      const done = () => {
        this.#ended = true;
        this.#wake?.();
        resolve();
      };
      socket.once("end", done);
      socket.once("close", done);
    });
    this.gone = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    socket.on("error", (err) => {
      this.error ??= err;
    });
  }

  /** Connects to `port` on the loopback, within `ms`. */
  static open(port: number, ms = 2000): Promise<RawConnection> {
    return within(
      new Promise<RawConnection>((resolve, reject) => {
        const socket = connect({ port, host: "127.0.0.1" });
        socket.once("connect", () => resolve(new RawConnection(socket)));
        socket.once("error", reject);
      }),
      ms,
      "a connection",
    );
  }

  write(data: string | Uint8Array): void {
    this.socket.write(data);
  }

  /** True once the server has ended or closed the connection. */
  get closed(): boolean {
    return this.#ended;
  }

  /** Waits (bounded) until `ready()` says the buffer holds enough, or the connection ends. */
  async #fill(ready: () => boolean, ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (!ready() && !this.#ended) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${ms} ms reading a response`);
      await within(
        new Promise<void>((resolve) => {
          this.#wake = resolve;
        }),
        left,
        "response bytes",
      );
      this.#wake = undefined;
    }
  }

  /**
   * Reads (bounded) until `done` says what came is enough, or else until the connection ends, and
   * returns every byte not read yet.
   */
  async read(done: (received: Buffer) => boolean = () => false, ms = 3000): Promise<Buffer> {
    await this.#fill(() => done(this.#buffer), ms);
    const out = this.#buffer;
    this.#buffer = Buffer.alloc(0);
    return out;
  }

  /**
   * Reads the next whole response. `noBody` is for answers to HEAD (headers only, whatever
   * Content-Length says).
   */
  async response(options: { noBody?: boolean; ms?: number } = {}): Promise<RawResponse> {
    const ms = options.ms ?? 3000;
    await this.#fill(() => this.#buffer.includes("\r\n\r\n"), ms);
    const end = this.#buffer.indexOf("\r\n\r\n");
    if (end === -1) throw new Error(`connection closed before a response head: ${this.#buffer}`);
    const head = this.#buffer.subarray(0, end).toString("latin1");
    this.#buffer = this.#buffer.subarray(end + 4);
    const status = statusOf(head);
    const headers = joinedFields(head);
    let body: Buffer;
    if (options.noBody || status === 204 || status === 304) {
      body = Buffer.alloc(0);
    } else if (headers["content-length"] !== undefined) {
      const n = Number(headers["content-length"]);
      await this.#fill(() => this.#buffer.length >= n, ms);
      body = this.#buffer.subarray(0, n);
      this.#buffer = this.#buffer.subarray(n);
    } else if (headers["transfer-encoding"] === "chunked") {
      await this.#fill(() => scanChunked(this.#buffer).complete, ms);
      const { data, complete, end } = dechunk(this.#buffer);
      if (!complete) throw new Error("connection closed in the middle of a chunked body");
      body = data;
      this.#buffer = this.#buffer.subarray(end);
    } else {
      body = await this.read(undefined, ms);
    }
    return { head, status, headers, body };
  }

  /** Bytes received and not yet read as part of a response. */
  get leftover(): Buffer {
    return this.#buffer;
  }

  /** Waits (bounded) for the server to end the connection. */
  async waitClosed(ms = 3000): Promise<void> {
    await within(this.ended, ms, "the server to close the connection");
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** The whole exchange of one raw request: everything that came back, split at the head's end. */
export interface RawExchange {
  /** The status line and header lines (everything, when no blank line came). */
  readonly head: string;
  /** What came after the head, as it was on the wire (not de-chunked). */
  readonly body: Buffer;
  readonly raw: Buffer;
  /** The socket's error, if the exchange ended with one (a reset, say). */
  readonly error: Error | undefined;
}

/**
 * Sends `request` as is over a fresh connection and collects everything the server sends until
 * it closes the connection, or until `done` says the response is complete; all within `ms`.
 *
 * @example
 * const { head, body } = await rawExchange(port, "GET /stream HTTP/1.0\r\n\r\n");
 */
export async function rawExchange(
  port: number,
  request: string | Uint8Array,
  ms = 5000,
  done?: (raw: Buffer) => boolean,
): Promise<RawExchange> {
  const started = Date.now();
  const conn = await RawConnection.open(port, ms);
  try {
    conn.write(request);
    let raw: Buffer;
    try {
      raw = await conn.read(done, ms - (Date.now() - started));
    } catch {
      throw new Error(`raw exchange did not end within ${ms} ms: ${conn.leftover}`);
    }
    // Ended by the server: wait for the socket to close, so a reset after its end is seen.
    if (conn.closed) await within(conn.gone, Math.max(1, ms - (Date.now() - started)), "a close");
    const split = raw.indexOf("\r\n\r\n");
    return {
      raw,
      head: split === -1 ? raw.toString("latin1") : raw.subarray(0, split).toString("latin1"),
      body: split === -1 ? Buffer.alloc(0) : raw.subarray(split + 4),
      error: conn.error,
    };
  } finally {
    conn.destroy();
  }
}

/**
 * Sends one request exactly as given (`target` unchanged, `Connection: close`) and reads the whole
 * response until the server closes. Rejects after `timeoutMs`, on a socket error, and on a
 * response cut short (no whole head, or a chunked body without its terminating chunk).
 *
 * @example
 * const res = await rawRequest(port, "GET", "/static/%2e%2e/secret.txt");
 */
export async function rawRequest(
  port: number,
  method: string,
  target: string,
  headers: Record<string, string> = {},
  timeoutMs = 3000,
): Promise<RawResponse> {
  const lines = [`${method} ${target} HTTP/1.1`, "Host: 127.0.0.1", "Connection: close"];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  const request = Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1");
  const { raw, head, body, error } = await rawExchange(port, request, timeoutMs);
  if (error) throw error;
  if (!raw.includes("\r\n\r\n")) {
    throw new Error(`incomplete response head: ${JSON.stringify(raw.toString())}`);
  }
  const res: RawResponse = { head, status: statusOf(head), headers: joinedFields(head), body };
  if (method === "HEAD") res.body = Buffer.alloc(0);
  else if (res.headers["transfer-encoding"] === "chunked") {
    const { data, complete } = dechunk(body);
    if (!complete) throw new Error("truncated chunked body");
    res.body = data;
  }
  return res;
}
