/**
 * Shared helpers of the streaming end-to-end suites: raw HTTP over node:net, bounded waits, and a
 * gate a producer waits on until the test opens it.
 */
import { readdirSync } from "node:fs";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { connect } from "node:net";
import type { ClientMode } from "../src/testing/index.ts";

export const MODES: readonly ClientMode[] = ["memory", "socket"];

/** Every test's own bound: nothing here may hang the suite. */
export const BOUND = { timeout: 10_000 };

/**
 * Rejects when `promise` has not settled within `ms`, naming what was awaited; the timer never
 * outlives the race.
 */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `check` until it holds, at most `ms`; rejects naming `what` otherwise. */
export async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A promise the test resolves by hand. */
export function gate<T = void>(): PromiseWithResolvers<T> {
  return Promise.withResolvers<T>();
}

/** The whole exchange of one raw request: what came back, and whether the server closed. */
export interface RawExchange {
  readonly head: string;
  readonly body: Buffer;
  readonly raw: Buffer;
}

/**
 * Sends `request` as is over a fresh TCP connection and collects everything the server sends
 * until it closes the connection, or until `done` says the response is complete (bounded by `ms`).
 */
export function rawExchange(
  port: number,
  request: string,
  ms = 5000,
  done?: (raw: Buffer) => boolean,
): Promise<RawExchange> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    const parts: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`raw exchange did not end within ${ms} ms: ${Buffer.concat(parts)}`));
    }, ms);
    socket.on("data", (d: Buffer) => {
      parts.push(d);
      if (done?.(Buffer.concat(parts))) socket.destroy();
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      clearTimeout(timer);
      const raw = Buffer.concat(parts);
      const split = raw.indexOf("\r\n\r\n");
      resolve({
        raw,
        head: split === -1 ? raw.toString("latin1") : raw.subarray(0, split).toString("latin1"),
        body: split === -1 ? Buffer.alloc(0) : raw.subarray(split + 4),
      });
    });
    socket.write(request);
  });
}

/** True once a chunked response has come in full (its terminating chunk). */
export const chunkedEnd = (raw: Buffer): boolean => raw.includes("\r\n0\r\n\r\n");

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

/** Decodes a chunked body; `complete` says whether the terminating `0\r\n\r\n` came. */
export function dechunk(body: Buffer): { data: Buffer; complete: boolean } {
  const out: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = body.indexOf("\r\n", at);
    if (eol === -1) return { data: Buffer.concat(out), complete: false };
    const size = Number.parseInt(body.subarray(at, eol).toString("latin1"), 16);
    if (Number.isNaN(size)) return { data: Buffer.concat(out), complete: false };
    if (size === 0) {
      return { data: Buffer.concat(out), complete: body.subarray(eol, eol + 4).equals(CRLF2) };
    }
    const start = eol + 2;
    if (body.length < start + size + 2) {
      out.push(body.subarray(start));
      return { data: Buffer.concat(out), complete: false };
    }
    out.push(body.subarray(start, start + size));
    at = start + size + 2;
  }
}
const CRLF2 = Buffer.from("\r\n\r\n");

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

/** How many file descriptors this process has open (Linux). */
export function openFds(): number {
  return readdirSync("/proc/self/fd").length;
}

/**
 * Waits until `value()` has not changed for `quietMs` (it stopped on its own), at most `ms`, and
 * returns it.
 */
export async function settled(value: () => number, quietMs: number, ms: number): Promise<number> {
  const deadline = Date.now() + ms;
  let last = value();
  let since = Date.now();
  for (;;) {
    await new Promise((r) => setTimeout(r, 10));
    const now = value();
    if (now !== last) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) return now;
    if (Date.now() > deadline) throw new Error(`value kept changing for ${ms} ms (now ${now})`);
  }
}
