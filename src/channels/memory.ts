import type { ChannelBackend, StoredEvent } from "./backend.ts";
import { isChannelId } from "./backend.ts";

/** Options of the in-memory backend. */
export interface MemoryBackendOptions {
  /** Events each channel keeps for resuming (default 1000): exactly the last this many. */
  history?: number;
  /**
   * Channels kept at most (default 10,000). Past it, the channel used longest ago that has no
   * follower is dropped with its history: a client that resumes on it is told of a gap.
   */
  maxChannels?: number;
}

/** The newest epoch given to a log in this process: epochs only grow, whatever the backend. */
let lastEpoch = 0;

interface Follower {
  deliver: (events: readonly StoredEvent[]) => void;
}

/** One channel's log: a ring of its last `history` events. */
class Log {
  /** Part of every id of this log, so that an id from an earlier log (or process) is never taken for one of its own. */
  readonly epoch: number;
  readonly ring: (StoredEvent | undefined)[];
  /** The sequence number the next event gets; events are numbered from 1. */
  next = 1;
  readonly followers = new Set<Follower>();

  constructor(epoch: number, history: number) {
    this.epoch = epoch;
    this.ring = new Array(history);
  }

  /** The sequence number of the oldest event held. */
  get first(): number {
    return Math.max(1, this.next - this.ring.length);
  }

  at(seq: number): StoredEvent {
    return this.ring[(seq - 1) % this.ring.length]!;
  }
}

/**
 * The default backend: each channel's history in this process's memory, exactly the last
 * `history` events. Ids are `<epoch>-<n>`, where the epoch is when the channel's log was made, so
 * an id from before a restart is reported as a gap instead of being taken for another event.
 *
 * @example
 * const channels = new Channels({ backend: new MemoryBackend({ history: 100 }) });
 */
export class MemoryBackend implements ChannelBackend {
  readonly history: number;
  readonly maxChannels: number;
  readonly #logs = new Map<string, Log>();

  constructor(options: MemoryBackendOptions = {}) {
    this.history = positive(options.history ?? 1000, "history");
    this.maxChannels = positive(options.maxChannels ?? 10_000, "maxChannels");
  }

  #log(channel: string, create: true): Log;
  #log(channel: string, create: false): Log | undefined;
  #log(channel: string, create: boolean): Log | undefined {
    let log = this.#logs.get(channel);
    if (log !== undefined) {
      // Most recently used last, so eviction takes the front.
      this.#logs.delete(channel);
      this.#logs.set(channel, log);
      return log;
    }
    if (!create) return undefined;
    lastEpoch = Math.max(Date.now(), lastEpoch + 1);
    log = new Log(lastEpoch, this.history);
    this.#logs.set(channel, log);
    if (this.#logs.size > this.maxChannels) {
      for (const [name, old] of this.#logs) {
        if (this.#logs.size <= this.maxChannels) break;
        if (old.followers.size === 0 && old !== log) this.#logs.delete(name);
      }
    }
    return log;
  }

  append(channel: string, event: string | undefined, json: string): Promise<string> {
    const log = this.#log(channel, true);
    const seq = log.next++;
    const stored: StoredEvent = { id: `${log.epoch}-${seq}`, event, json, frame: undefined };
    log.ring[(seq - 1) % log.ring.length] = stored;
    if (log.followers.size > 0) {
      const batch = [stored];
      for (const f of log.followers) f.deliver(batch);
    }
    return Promise.resolve(stored.id);
  }

  range(channel: string, from: string | undefined, count: number): Promise<StoredEvent[]> {
    const log = this.#log(channel, false);
    const out: StoredEvent[] = [];
    if (log === undefined || log.next === 1) return Promise.resolve(out);
    let seq = log.first;
    if (from !== undefined) {
      const at = this.#seqOf(log, from);
      // Not held: the result starts at the oldest event, which is not `from`.
      if (at !== undefined && at >= log.first) seq = at;
    }
    for (; seq < log.next && out.length < count; seq++) out.push(log.at(seq));
    return Promise.resolve(out);
  }

  last(channel: string): Promise<string | undefined> {
    const log = this.#log(channel, false);
    return Promise.resolve(
      log === undefined || log.next === 1 ? undefined : log.at(log.next - 1).id,
    );
  }

  follow(
    channel: string,
    deliver: (events: readonly StoredEvent[]) => void,
    // Delivery is synchronous with each append: this backend never falls behind, never loses track.
    _lost?: () => void,
  ): Promise<() => void> {
    const log = this.#log(channel, true);
    const follower: Follower = { deliver };
    log.followers.add(follower);
    return Promise.resolve(() => {
      log.followers.delete(follower);
    });
  }

  close(): Promise<void> {
    this.#logs.clear();
    return Promise.resolve();
  }

  /** The sequence number an id of this log names, or undefined when it is not one of its ids. */
  #seqOf(log: Log, id: string): number | undefined {
    if (!isChannelId(id)) return undefined;
    const dash = id.indexOf("-");
    if (id.slice(0, dash) !== String(log.epoch)) return undefined;
    const seq = Number(id.slice(dash + 1));
    return Number.isSafeInteger(seq) && seq >= 1 && seq < log.next ? seq : undefined;
  }
}

function positive(n: number, name: string): number {
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`${name} must be a positive integer`);
  return n;
}
