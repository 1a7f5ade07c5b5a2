/**
 * What every bench server shares: where it listens, what it serves, and the items it streams. The
 * item generator is shared so that peers differ only in how they put items on the wire.
 */
import { setTimeout as sleep } from "node:timers/promises";

export const HOST = "127.0.0.1";
export const PORT = Number(process.env.PORT ?? 3100);
/** The file behind /file (the runner creates it). */
export const BIG_FILE = process.env.BIG_FILE ?? "";

export const JSON_BODY = { hello: "world" };
/** The chunk of /infinite: 64 KiB, as in the contract app. */
export const INFINITE_CHUNK = new Uint8Array(64 * 1024).fill(0x62);

export type Item = { i: number; sq: number };

/** A non-negative integer query parameter, or the default. */
export function int(value: string | null | undefined, fallback: number): number {
  if (value === undefined || value === null || !/^\d{1,15}$/.test(value)) return fallback;
  return Number(value);
}

/** `n` items `{i, sq}`, one every `delay` ms after the first (which is ready at once). */
export async function* items(n: number, delay = 0, signal?: AbortSignal): AsyncGenerator<Item> {
  for (let i = 0; i < n; i++) {
    if (delay > 0 && i > 0) await sleep(delay, undefined, { signal });
    yield { i, sq: i * i };
  }
}

export const ndjsonLine = (item: Item): string => JSON.stringify(item) + "\n";

/** The contract app's SSE frame, byte for byte: `event`, `id`, `data`. */
export const sseFrame = (item: Item): string =>
  `event: tick\nid: ${item.i}\ndata: ${JSON.stringify(item)}\n\n`;

export const PING = ": ping\n\n";

/** The first event of /sse-hub: tells the client it is subscribed. */
export const READY = { event: "ready", data: "hello" };
export const READY_FRAME = "event: ready\ndata: hello\n\n";

/**
 * The broadcast hub behind `/sse-hub` and `/broadcast` (bench-only routes, the same on every
 * server): each open `/sse-hub` response subscribes a callback; `/broadcast` calls all of them with
 * the next item and answers `{"sent": N}`.
 */
export class Hub {
  readonly subscribers = new Set<(item: Item) => void>();
  private next = 0;

  subscribe(fn: (item: Item) => void): () => void {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }

  broadcast(): number {
    const i = this.next++;
    const item = { i, sq: i * i };
    for (const fn of this.subscribers) fn(item);
    return this.subscribers.size;
  }

  /** An endless async iterable of broadcast items for one subscriber; ends on `signal`. */
  async *stream(signal: AbortSignal): AsyncGenerator<Item> {
    const queue: Item[] = [];
    let wake: (() => void) | undefined;
    const unsubscribe = this.subscribe((item) => {
      queue.push(item);
      wake?.();
    });
    const onAbort = () => wake?.();
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      while (!signal.aborted) {
        const item = queue.shift();
        if (item !== undefined) {
          yield item;
          continue;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      }
    } finally {
      unsubscribe();
      signal.removeEventListener("abort", onAbort);
    }
  }
}

export function announce(name: string): void {
  console.log(`listening on http://${HOST}:${PORT} (${name})`);
}
