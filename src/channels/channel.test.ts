import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { z } from "zod";
import { HTTPError } from "../http/errors.ts";
import type { SluiceRequest } from "../http/request.ts";
import { SSEFormatError } from "../internal/sse.ts";
import { SchemaError } from "../internal/standard-schema.ts";
import type { StreamBody } from "../responses/body.ts";
import { type ChannelBackend, compareIds, isChannelId } from "./backend.ts";
import {
  type ChannelEvent,
  type ChannelGap,
  ChannelOverrunError,
  Channels,
  isChannelName,
} from "./channel.ts";
import { MemoryBackend } from "./memory.ts";

/** A request as far as a subscription looks at it: target, headers, query, signal, abort. */
function fakeRequest(headers: Record<string, string> = {}, query = "") {
  const controller = new AbortController();
  return {
    url: query === "" ? "/chat" : `/chat?${query}`,
    lastEventId: headers["last-event-id"],
    searchParams: new URLSearchParams(query),
    signal: controller.signal,
    aborted: undefined as unknown,
    abort(reason: unknown) {
      this.aborted = reason;
      controller.abort(reason);
    },
  };
}
const asRequest = (r: ReturnType<typeof fakeRequest>) => r as unknown as SluiceRequest<any>;

/** The iterator a subscription response's stream is made of. */
function sourceOf(res: { body(): unknown }): AsyncIterator<Uint8Array> {
  return (res.body() as StreamBody).source as unknown as AsyncIterator<Uint8Array>;
}

async function take<T>(it: AsyncIterator<T>, n: number): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i++) {
    const r = await it.next();
    if (r.done) break;
    out.push(r.value);
  }
  return out;
}

describe("channel ids", () => {
  it("compares both parts as unbounded integers", () => {
    const table: [string, string, number][] = [
      ["1-0", "1-0", 0],
      ["1-1", "1-0", 1],
      ["2-0", "1-99", 1],
      ["10-0", "9-0", 1],
      ["5-9", "5-10", -1],
      ["99999999999999999999-0", "99999999999999999998-5", 1],
      ["007-1", "7-1", 0],
    ];
    for (const [a, b, sign] of table) assert.equal(Math.sign(compareIds(a, b)), sign, `${a} ${b}`);
  });

  it("knows the shape of an id", () => {
    for (const id of ["0-0", "1718000000000-3"]) assert.ok(isChannelId(id), id);
    for (const id of ["", "1", "1-", "-1", "a-1", "1-1-1", " 1-1", `${"9".repeat(21)}-0`])
      assert.ok(!isChannelId(id), id);
  });

  it("knows a channel name", () => {
    for (const n of ["a", "room-42", "a.b_c~d", "x".repeat(200)]) assert.ok(isChannelName(n), n);
    for (const n of ["", "a/b", "a b", "☃", "x".repeat(201), "a\nb"])
      assert.ok(!isChannelName(n), n);
  });
});

describe("the in-memory backend", () => {
  it("keeps exactly the last `history` events, read inclusive of where a read starts", async () => {
    const b = new MemoryBackend({ history: 3 });
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(await b.append("c", undefined, String(i)));
    const held = await b.range("c", undefined, 10);
    assert.deepEqual(
      held.map((e) => e.json),
      ["2", "3", "4"],
    );
    assert.deepEqual(
      (await b.range("c", ids[3], 10)).map((e) => e.id),
      [ids[3], ids[4]],
    );
    // Not held: the read starts at the oldest, not at the id.
    assert.equal((await b.range("c", ids[0], 10))[0]!.id, ids[2]);
    assert.equal(await b.last("c"), ids[4]);
    assert.equal(await b.last("none"), undefined);
  });

  it("never gives two logs of a name the same ids, so an id from before is a gap", async () => {
    const a = new MemoryBackend();
    const b = new MemoryBackend();
    const x = await a.append("c", undefined, "1");
    const y = await b.append("c", undefined, "1");
    assert.notEqual(x, y);
    assert.equal((await b.range("c", x, 1))[0]!.id, y);
  });

  it("drops the least recently used idle channel past maxChannels", async () => {
    const b = new MemoryBackend({ maxChannels: 2 });
    await b.append("one", undefined, "1");
    const stop = await b.follow(
      "two",
      () => {},
      () => {},
    );
    await b.append("two", undefined, "2");
    await b.append("three", undefined, "3");
    assert.equal(await b.last("one"), undefined);
    assert.notEqual(await b.last("two"), undefined);
    stop();
  });
});

describe("Channels", () => {
  it("refuses bad options and names", () => {
    assert.throws(() => new Channels({ backend: new MemoryBackend(), history: 5 }), TypeError);
    assert.throws(() => new Channels({ queue: 0 }), RangeError);
    assert.throws(() => new Channels().channel("a/b"), TypeError);
  });

  it("validates and transforms published data with the channel's schema", async () => {
    const channels = new Channels();
    const ch = channels.channel("s", { schema: z.object({ n: z.coerce.number() }) });
    const it = ch.events({ after: "0-0" });
    await ch.publish({ n: "5" as unknown as number });
    await assert.rejects(ch.publish({ n: "x" as unknown as number }), SchemaError);
    const items = await take(it, 2);
    assert.deepEqual((items[1] as ChannelEvent<{ n: number }>).data, { n: 5 });
    await it.return!();
    await channels.close();
  });

  it("refuses an event name that cannot be framed, and data without JSON", async () => {
    const ch = new Channels().channel("e");
    for (const event of ["a\nb", "a\rb", "a\0b"])
      await assert.rejects(ch.publish(1, { event }), SSEFormatError);
    await assert.rejects(ch.publish(undefined), TypeError);
    await assert.rejects(ch.publish(10n), TypeError);
  });

  it("yields live events, then resumes after an id with the history first", async () => {
    const channels = new Channels();
    const ch = channels.channel<number>("live");
    const live = ch.events();
    const first = await ch.publish(1, { event: "one" });
    const second = await ch.publish(2);
    assert.deepEqual(await take(live, 2), [
      { id: first, event: "one", data: 1 },
      { id: second, event: undefined, data: 2 },
    ]);
    await live.return!();
    const resumed = ch.events({ after: first, limit: 2 });
    const third = await ch.publish(3);
    assert.deepEqual(
      (await take(resumed, 3)).map((e) => (e as ChannelEvent<number>).id),
      [second, third],
    );
    assert.deepEqual(channels.subscribers(), {});
  });

  it("starts a fresh subscriber with the whole history when asked", async () => {
    const ch = new Channels().channel<number>("start");
    await ch.publish(1);
    await ch.publish(2);
    const it = ch.events({ fromStart: true });
    assert.deepEqual(
      (await take(it, 2)).map((e) => (e as ChannelEvent<number>).data),
      [1, 2],
    );
    await it.return!();
  });

  it("yields a gap first for an id no longer held, then everything held", async () => {
    const ch = new Channels({ history: 2 }).channel<number>("gap");
    const ids = [];
    for (let i = 0; i < 4; i++) ids.push(await ch.publish(i));
    const it = ch.events({ after: ids[0] });
    const items = await take(it, 3);
    assert.deepEqual(items[0], { gap: true, lastEventId: ids[0]! } satisfies ChannelGap);
    assert.deepEqual(
      items.slice(1).map((e) => (e as ChannelEvent<number>).data),
      [2, 3],
    );
    await it.return!();
  });

  it("throws a ChannelOverrunError to a consumer further behind than the queue", async () => {
    const channels = new Channels({ queue: 3 });
    const ch = channels.channel<number>("slow");
    const it = ch.events();
    const first = await ch.publish(0);
    await take(it, 1);
    for (let i = 1; i <= 4; i++) await ch.publish(i);
    await assert.rejects(it.next(), (err: unknown) => {
      assert.ok(err instanceof ChannelOverrunError);
      assert.equal(err.lastEventId, first);
      return true;
    });
    assert.deepEqual(await it.next(), { done: true, value: undefined });
    assert.deepEqual(channels.subscribers(), {});
  });

  it("ends an iteration when its signal aborts, also while it waits", async () => {
    const channels = new Channels();
    const ac = new AbortController();
    const it = channels.channel("sig").events({ signal: ac.signal });
    const pending = it.next();
    await new Promise((r) => setTimeout(r, 5));
    ac.abort();
    assert.deepEqual(await pending, { done: true, value: undefined });
    assert.deepEqual(channels.subscribers(), {});
  });

  it("hands every SSE subscriber the same bytes for an event", async () => {
    const channels = new Channels({ keepalive: false });
    const ch = channels.channel("bytes");
    const a = await ch.subscribe(asRequest(fakeRequest()));
    const b = await ch.subscribe(asRequest(fakeRequest()));
    const sa = sourceOf(a);
    const sb = sourceOf(b);
    const [fa, fb] = [sa.next(), sb.next()];
    const id = await ch.publish({ x: 1 }, { event: "e" });
    const [ra, rb] = await Promise.all([fa, fb]);
    assert.equal(ra.value, rb.value);
    assert.equal(new TextDecoder().decode(ra.value), `event: e\nid: ${id}\ndata: {"x":1}\n\n`);
    await sa.return!();
    await sb.return!();
  });

  it("aborts the request of an SSE subscriber further behind than the queue", async () => {
    const channels = new Channels({ queue: 2, keepalive: false });
    const ch = channels.channel("cut");
    const req = fakeRequest();
    await ch.subscribe(asRequest(req));
    for (let i = 0; i < 3; i++) await ch.publish(i);
    assert.ok(req.aborted instanceof ChannelOverrunError);
    assert.deepEqual(channels.subscribers(), {});
  });

  it("resumes a request after ?lastEventId= when it sends no Last-Event-ID", async () => {
    const ch = new Channels({ keepalive: false }).channel("q");
    const ids = [await ch.publish(1), await ch.publish(2)];
    const res = await ch.subscribe(asRequest(fakeRequest({}, `lastEventId=${ids[0]}`)));
    const source = sourceOf(res);
    assert.match(
      new TextDecoder().decode((await source.next()).value),
      new RegExp(`id: ${ids[1]}`),
    );
    await source.return!();
  });

  it("sends a retry field first when asked, and refuses one that cannot be framed", async () => {
    const channels = new Channels({ keepalive: false });
    const ch = channels.channel("retry");
    const res = await ch.subscribe(asRequest(fakeRequest()), { retry: 1500 });
    assert.equal((res.body() as StreamBody).prelude, "retry: 1500\n\n");
    await sourceOf(res).return!();
    await assert.rejects(ch.subscribe(asRequest(fakeRequest()), { retry: -1 }), SSEFormatError);
    assert.deepEqual(channels.subscribers(), {});
  });

  it("answers 503 when the backend fails", async () => {
    const failing: ChannelBackend = {
      append: () => Promise.reject(new Error("down")),
      range: () => Promise.reject(new Error("down")),
      last: () => Promise.reject(new Error("down")),
      follow: () => Promise.reject(new Error("down")),
      close: () => Promise.resolve(),
    };
    const channels = new Channels({ backend: failing });
    const ch = channels.channel("down");
    for (const attempt of [() => ch.publish(1), () => ch.subscribe(asRequest(fakeRequest()))]) {
      await assert.rejects(attempt(), (err: unknown) => HTTPError.is(err) && err.status === 503);
    }
    assert.deepEqual(channels.subscribers(), {});
  });
});
