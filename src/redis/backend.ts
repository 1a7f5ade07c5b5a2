/// <reference types="node" preserve="true" />
// The declarations emitted for this module name Node's types: the directive keeps them resolvable in
// a consumer whose tsconfig lists no `types` (@types/node comes with the package).
import { createClient, type RedisClientOptions } from "@redis/client";
import type { ChannelBackend, StoredEvent } from "../channels/backend.ts";
import { compareIds } from "../channels/backend.ts";

/** Options of the Redis backend. */
export interface RedisBackendOptions {
  /** The server, `redis[s]://[[user]:password@]host[:port][/db]` (default redis://127.0.0.1:6379). */
  url?: string;
  /** More options for node-redis's `createClient` (TLS, credentials, `socket.reconnectStrategy`...). */
  client?: Omit<RedisClientOptions, "url" | "RESP">;
  /** Prefix of each channel's stream key (default `sluice:channel:`). */
  prefix?: string;
  /**
   * Events each channel keeps for resuming (default 1000): `XADD ... MAXLEN ~ history`, which keeps
   * at least that many (Redis trims whole nodes, so up to about 2 × history + 100). Every process
   * that publishes to a channel must use the same value.
   */
  history?: number;
  /** Milliseconds a command may take, reconnection included, before it fails (default 5000). */
  timeout?: number;
  /**
   * Hears about lost connections and failed reads (default: a line on stderr when the connection
   * is lost, and when it is back). The backend reconnects on its own, with backoff.
   */
  onError?: (error: unknown) => void;
}

type Client = ReturnType<typeof createClient>;
type Entry = [id: string, fields: string[] | null];
type Follower = {
  deliver: (events: readonly StoredEvent[]) => void;
  lost: () => void;
};
/** One followed stream: where the read loop is in it, and who hears about it. */
type Followed = { cursor: string; followers: Set<Follower> };

/** Entries per read of the loop, per stream. */
const COUNT = 1000;
/** How long one blocking read waits before it is issued again (ms): also a liveness check. */
const BLOCK_MS = 2000;

/**
 * Channels in Redis Streams, shared by every process that uses the same server and prefix: an
 * event published in one reaches the subscribers of all, a client resumes on any of them, and a
 * restarted process keeps the history. Ids are stream ids (`<ms>-<seq>`).
 *
 * Per process: one connection for commands and one for a single blocking `XREAD` loop that reads
 * every channel with subscribers here and feeds them (live delivery and replay come from the same
 * log; no pub/sub). node-redis reconnects with backoff; the loop resumes each stream from the last
 * id it read, so nothing that Redis kept is lost across a Redis restart. Streams hold fields `d`
 * (the JSON data) and, when given, `e` (the event name).
 *
 * @example
 * import { Channels } from "sluice";
 * import { RedisBackend } from "sluice/redis";
 * const backend = new RedisBackend({ url: process.env.REDIS_URL, history: 1000 });
 * await backend.connect();
 * const channels = new Channels({ backend });
 */
export class RedisBackend implements ChannelBackend {
  readonly prefix: string;
  readonly history: number;
  readonly #timeout: number;
  readonly #cmd: Client;
  readonly #block: Client;
  readonly #onError: (error: unknown) => void;
  #connecting: Promise<void> | undefined;
  #closed = false;
  /** Followed streams by key. */
  readonly #followed = new Map<string, Followed>();
  /** Bumped whenever a stream is added: a read in flight with an older set must be restarted. */
  #generation = 0;
  /** The generation of the read in flight, or -1 when none is. */
  #reading = -1;
  /** CLIENT ID of the blocking connection, so another connection can unblock it. */
  #blockId: number | undefined;
  #wake: (() => void) | undefined;
  #loop: Promise<void> | undefined;

  constructor(options: RedisBackendOptions = {}) {
    this.prefix = options.prefix ?? "sluice:channel:";
    this.history = options.history ?? 1000;
    if (!Number.isSafeInteger(this.history) || this.history < 1)
      throw new RangeError("history must be a positive integer");
    this.#timeout = options.timeout ?? 5000;
    this.#onError = options.onError ?? logTransitions();
    // RESP2: the replies read here (arrays of ids and fields) have one shape in every node-redis
    // version; RESP3 would turn some of them into maps.
    this.#cmd = createClient({
      ...options.client,
      url: options.url ?? "redis://127.0.0.1:6379",
      RESP: 2,
    }) as unknown as Client;
    this.#block = this.#cmd.duplicate();
    // node-redis emits "error" for every failed (re)connection attempt; without a listener an
    // EventEmitter would throw it.
    for (const c of [this.#cmd, this.#block]) {
      c.on("error", (error: unknown) => this.#onError(error));
      c.on("ready", () => this.#onError(null));
    }
    // A new connection has a new client id: ask again before the next blocking read.
    this.#block.on("ready", () => {
      this.#blockId = undefined;
    });
  }

  /**
   * Connects both connections (retrying with backoff until Redis answers). Commands connect on
   * first use anyway; call it at startup to fail or wait there instead.
   *
   * @example
   * await backend.connect();
   */
  connect(): Promise<void> {
    this.#connecting ??= Promise.all([this.#cmd.connect(), this.#block.connect()]).then(() => {});
    return this.#connecting;
  }

  async append(channel: string, event: string | undefined, json: string): Promise<string> {
    const args = ["XADD", this.#key(channel), "MAXLEN", "~", String(this.history), "*"];
    if (event !== undefined) args.push("e", event);
    args.push("d", json);
    return String(await this.#command(args));
  }

  async range(channel: string, from: string | undefined, count: number): Promise<StoredEvent[]> {
    const reply = (await this.#command([
      "XRANGE",
      this.#key(channel),
      from ?? "-",
      "+",
      "COUNT",
      String(count),
    ])) as Entry[];
    return reply.map(toEvent);
  }

  async last(channel: string): Promise<string | undefined> {
    const reply = (await this.#command([
      "XREVRANGE",
      this.#key(channel),
      "+",
      "-",
      "COUNT",
      "1",
    ])) as Entry[];
    return reply[0]?.[0];
  }

  async follow(
    channel: string,
    deliver: (events: readonly StoredEvent[]) => void,
    lost: () => void,
  ): Promise<() => void> {
    const key = this.#key(channel);
    const follower: Follower = { deliver, lost };
    let followed = this.#followed.get(key);
    if (followed === undefined) {
      // The loop reads from the newest entry as of now: everything appended later reaches it.
      const newest = await this.last(channel);
      followed = this.#followed.get(key);
      if (followed === undefined) {
        followed = { cursor: newest ?? "0-0", followers: new Set() };
        this.#followed.set(key, followed);
        this.#generation++;
        this.#restartRead();
      }
    }
    followed.followers.add(follower);
    this.#loop ??= this.#run();
    const f = followed;
    return () => {
      f.followers.delete(follower);
      // The read in flight may still name it; its entries are then dropped, nothing more.
      if (f.followers.size === 0 && this.#followed.get(key) === f) this.#followed.delete(key);
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#wake?.();
    for (const c of [this.#cmd, this.#block]) {
      // destroy(): the blocking read in flight is dropped at once, not waited for.
      if (c.isOpen) c.destroy();
    }
    await this.#loop;
  }

  #key(channel: string): string {
    return this.prefix + channel;
  }

  async #command(args: string[]): Promise<unknown> {
    if (this.#closed) throw new Error("the Redis backend is closed");
    if (!this.#cmd.isReady) {
      // Waits for the (re)connection, but no longer than a command may take in all.
      await within(this.connect(), this.#timeout, "connecting to Redis");
    }
    return this.#cmd.sendCommand(args, { timeout: this.#timeout });
  }

  /** The one read loop: a blocking XREAD over every followed stream, resumed after each reply. */
  async #run(): Promise<void> {
    let backoff = 50;
    while (!this.#closed) {
      if (this.#followed.size === 0) {
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
        this.#wake = undefined;
        continue;
      }
      const generation = this.#generation;
      const keys = [...this.#followed.keys()];
      const cursors = keys.map((k) => this.#followed.get(k)!.cursor);
      let reply: [key: string, entries: Entry[]][] | null;
      try {
        await this.connect();
        this.#blockId ??= Number(await this.#block.sendCommand(["CLIENT", "ID"]));
        this.#reading = generation;
        reply = (await this.#block.sendCommand([
          "XREAD",
          "COUNT",
          String(COUNT),
          "BLOCK",
          String(BLOCK_MS),
          "STREAMS",
          ...keys,
          ...cursors,
        ])) as typeof reply;
        this.#reading = -1;
        backoff = 50;
      } catch (error) {
        this.#reading = -1;
        if (this.#closed) return;
        this.#onError(error);
        // node-redis reconnects on its own; wait a little so a dead server is not spun on.
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 2000);
        continue;
      }
      if (reply === null) continue;
      for (const [key, entries] of reply) {
        const followed = this.#followed.get(key);
        if (followed === undefined || entries.length === 0) continue;
        const events = entries.map(toEvent);
        const from = followed.cursor;
        followed.cursor = events[events.length - 1]!.id;
        if (entries.length >= Math.min(COUNT, this.history) && (await this.#overtaken(key, from))) {
          for (const f of [...followed.followers]) f.lost();
          continue;
        }
        for (const f of followed.followers) {
          try {
            f.deliver(events);
          } catch (error) {
            // One follower's failure must not stop the loop that feeds every channel.
            this.#onError(error);
          }
        }
      }
    }
  }

  /**
   * XREAD silently skips entries that trimming removed. A reader can only have been overtaken when
   * it got a full batch (a trimmed stream still holds `history` entries, all after its cursor), so
   * only then it asks (XINFO STREAM) whether the stream still starts at or before its cursor:
   * trimming removes from the front, so then nothing after the cursor was removed. An entry
   * deleted after the cursor (XDEL, `max-deleted-entry-id`) counts as lost too.
   */
  async #overtaken(key: string, cursor: string): Promise<boolean> {
    try {
      const info = (await this.#cmd.sendCommand(["XINFO", "STREAM", key], {
        timeout: this.#timeout,
      })) as unknown[];
      const field = (name: string) => {
        const at = info.indexOf(name);
        return at === -1 ? undefined : info[at + 1];
      };
      const deleted = field("max-deleted-entry-id");
      if (typeof deleted === "string" && compareIds(deleted, cursor) > 0) return true;
      // Redis 7 records where the stream starts; before 7, its first entry says it.
      const first =
        field("recorded-first-entry-id") ?? (field("first-entry") as Entry | null)?.[0] ?? "0-0";
      return compareIds(String(first), cursor) > 0;
    } catch (error) {
      this.#onError(error);
      // Cannot tell: the subscribers resume from the history, which tells gaps exactly.
      return true;
    }
  }

  /** Makes a blocking read in flight return now (as a timeout) so the next one includes new streams. */
  #restartRead(delay = 1): void {
    this.#wake?.();
    if (this.#reading === -1 || this.#reading === this.#generation || this.#closed) return;
    const id = this.#blockId;
    if (id === undefined || !this.#cmd.isReady) return;
    this.#cmd.sendCommand(["CLIENT", "UNBLOCK", String(id)]).then(
      (unblocked) => {
        // The read may not have reached Redis yet: try again shortly, until it has been restarted.
        if (Number(unblocked) === 0 && delay < BLOCK_MS)
          setTimeout(() => this.#restartRead(delay * 2), delay);
      },
      // CLIENT UNBLOCK may be refused (ACLs): the read then ends within BLOCK_MS on its own.
      () => {},
    );
  }
}

function toEvent([id, fields]: Entry): StoredEvent {
  let event: string | undefined;
  let json = "null";
  if (fields !== null) {
    for (let i = 0; i + 1 < fields.length; i += 2) {
      const name = fields[i];
      if (name === "d") json = String(fields[i + 1]);
      // Only a name that can be framed: an entry written by another tool must not break a stream.
      else if (name === "e" && !/[\r\n\0]/.test(String(fields[i + 1])))
        event = String(fields[i + 1]);
    }
  }
  return { id: String(id), event, json, frame: undefined };
}

/** The default error hook: one line when the connection is lost, one when it is back. */
function logTransitions(): (error: unknown) => void {
  let down = false;
  return (error) => {
    if (error === null) {
      if (down) console.error("sluice/redis: connected again");
      down = false;
    } else if (!down) {
      down = true;
      console.error(`sluice/redis: ${(error as Error)?.message ?? error}; reconnecting`);
    }
  };
}

async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
