/**
 * What a channel's log is kept in. A backend stores each channel's events in order under ids it
 * issues, keeps the last `history` of them for resuming, and tells followers in this process about
 * each new event. The in-memory backend is one process's; `sluice/redis` keeps the log in a Redis
 * Stream that many processes share. Everything above the backend (subscribers, queues, the seam
 * between history and live events, gaps, keepalives) is the same for both.
 */

/**
 * One event as a backend stores it: its id, its event name, its data as JSON text. `frame` caches
 * the event's SSE frame once it has been encoded, so that every subscriber gets the same bytes.
 */
export interface StoredEvent {
  readonly id: string;
  readonly event: string | undefined;
  readonly json: string;
  /** @internal the SSE frame, encoded once on first use */
  frame?: Uint8Array;
}

/**
 * A channel log: append, read back in order, follow what comes next. Ids are `<int>-<int>` strings
 * (as Redis Stream ids), strictly increasing within a channel (see `compareIds`).
 *
 * @example
 * const backend: ChannelBackend = new MemoryBackend({ history: 500 });
 * const id = await backend.append("chat", "message", '{"text":"hi"}');
 */
export interface ChannelBackend {
  /** Appends one event and resolves with its id once it is in the history. */
  append(channel: string, event: string | undefined, json: string): Promise<string>;
  /**
   * Up to `count` events in order, starting AT `from` (inclusive) — or at the oldest event held
   * when `from` is undefined. When `from` is no longer held (trimmed, or never issued), the result
   * does not start with it: that is how a gap shows.
   */
  range(channel: string, from: string | undefined, count: number): Promise<StoredEvent[]>;
  /** The id of the newest event, or undefined when the channel holds none. */
  last(channel: string): Promise<string | undefined>;
  /**
   * Calls `deliver` with every event appended from now on, in order, in batches. Resolves once
   * that holds (every append that starts later reaches `deliver`) with a function that stops it.
   * `deliver` may also receive a few older events; subscribers drop them by id. When the backend
   * cannot vouch for continuity (its reader fell further behind than the history), it calls
   * `lost` instead, and the subscribers resume from the history, where the gap is told.
   */
  follow(
    channel: string,
    deliver: (events: readonly StoredEvent[]) => void,
    lost: () => void,
  ): Promise<() => void>;
  /** Releases the backend's resources (connections, timers). */
  close(): Promise<void>;
}

/** How the ids of every backend look: `<int>-<int>`, like Redis Stream ids. */
const ID = /^(\d{1,20})-(\d{1,20})$/;

/**
 * True for a string that has the shape of a channel id. Anything else can never have been issued.
 *
 * @example
 * isChannelId("1718000000000-3"); // true
 * isChannelId("42"); // false
 */
export function isChannelId(id: string): boolean {
  return ID.test(id);
}

/**
 * Orders two channel ids: negative when `a` came first, positive when after, 0 when equal. Both
 * parts compare as unbounded integers (by length, then digit by digit), so no precision is lost.
 *
 * @example
 * compareIds("5-10", "5-9"); // > 0
 */
export function compareIds(a: string, b: string): number {
  if (a === b) return 0;
  const da = a.indexOf("-");
  const db = b.indexOf("-");
  return (
    compareDigits(a, 0, da, b, 0, db) || compareDigits(a, da + 1, a.length, b, db + 1, b.length)
  );
}

/** Compares two runs of digits as integers, without allocating (this runs for every event sent). */
function compareDigits(
  a: string,
  as: number,
  ae: number,
  b: string,
  bs: number,
  be: number,
): number {
  // Leading zeros are not part of any issued id, but a client may send them.
  while (as < ae - 1 && a.charCodeAt(as) === 48) as++;
  while (bs < be - 1 && b.charCodeAt(bs) === 48) bs++;
  if (ae - as !== be - bs) return ae - as - (be - bs);
  for (let i = 0; i < ae - as; i++) {
    const d = a.charCodeAt(as + i) - b.charCodeAt(bs + i);
    if (d !== 0) return d;
  }
  return 0;
}
