/**
 * Helpers shared by the foundation suites: the engine matrix, bounded waits, a recorder for the
 * error hook, and a raw HTTP/1.1 connection for the cases that need the exact bytes on the wire.
 */
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import type { App, ErrorContext } from "../src/index.ts";
import type { ClientMode } from "../src/testing/client.ts";

/** Both engines: in memory through `app.fetch`, and over a loopback socket through node:http. */
export const modes: readonly ClientMode[] = ["memory", "socket"];

/** Resolves with `promise`, or rejects once `ms` have passed. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A promise with its resolve function outside. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

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

/** One HTTP/1.x response as it came off the wire. */
export interface RawResponse {
  /** The status line and header lines exactly as received, without the blank line. */
  head: string;
  status: number;
  /** Header fields, lower-case names; repeated fields joined with "\n". */
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * A raw TCP connection that speaks HTTP/1.x by hand: write exact bytes, read whole responses
 * (Content-Length, chunked, or until close), and see when the server closes.
 */
export class RawConnection {
  readonly socket: Socket;
  /** How many 'data' events the socket has delivered. */
  dataEvents = 0;
  #buffer = Buffer.alloc(0);
  #ended = false;
  #wake: (() => void) | undefined;
  readonly ended: Promise<void>;

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
    socket.on("error", () => {});
  }

  static open(port: number): Promise<RawConnection> {
    return within(
      new Promise<RawConnection>((resolve, reject) => {
        const socket = connect({ port, host: "127.0.0.1" });
        socket.once("connect", () => resolve(new RawConnection(socket)));
        socket.once("error", reject);
      }),
      2000,
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
    const [statusLine, ...lines] = head.split("\r\n");
    const status = Number(statusLine!.split(" ")[1]);
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const at = line.indexOf(":");
      const name = line.slice(0, at).toLowerCase();
      const value = line.slice(at + 1).trim();
      headers[name] = name in headers ? `${headers[name]}\n${value}` : value;
    }
    let body: Buffer;
    if (options.noBody || status === 204 || status === 304) {
      body = Buffer.alloc(0);
    } else if (headers["content-length"] !== undefined) {
      const n = Number(headers["content-length"]);
      await this.#fill(() => this.#buffer.length >= n, ms);
      body = this.#buffer.subarray(0, n);
      this.#buffer = this.#buffer.subarray(n);
    } else if (headers["transfer-encoding"] === "chunked") {
      const parts: Buffer[] = [];
      for (let i = 0; i < 100_000; i++) {
        await this.#fill(() => this.#buffer.includes("\r\n"), ms);
        const lineEnd = this.#buffer.indexOf("\r\n");
        const size = Number.parseInt(this.#buffer.subarray(0, lineEnd).toString(), 16);
        await this.#fill(() => this.#buffer.length >= lineEnd + 2 + size + 2, ms);
        parts.push(this.#buffer.subarray(lineEnd + 2, lineEnd + 2 + size));
        this.#buffer = this.#buffer.subarray(lineEnd + 2 + size + 2);
        if (size === 0) break;
      }
      body = Buffer.concat(parts);
    } else {
      await this.#fill(() => false, ms);
      body = this.#buffer;
      this.#buffer = Buffer.alloc(0);
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
