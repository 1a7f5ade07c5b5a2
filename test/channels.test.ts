/**
 * Broadcast channels end to end, in memory: the contract routes GET/POST /channel/NAME through both
 * engines, the seam under a publisher running flat out, gaps, a stalled subscriber, a thousand
 * subscribers leaving at random, the keepalive, and a process restart.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { createContractApp } from "../examples/contract/app.ts";
import { createShowcaseApp } from "../examples/showcase/app.ts";
import { type App, Channels } from "../src/index.ts";
import { serve } from "../src/node/index.ts";
import { events, testClient } from "../src/testing/index.ts";
import { BOUND, MODES, problem } from "./helpers/app.ts";
import { ContractProcess, type Followed, followChannel, runContract } from "./helpers/contract.ts";
import { RawConnection, rawRequest } from "./helpers/raw-http.ts";
import { settled, until, within } from "./helpers/wait.ts";

const staticDir = fileURLToPath(new URL("../examples/contract/public", import.meta.url));

function contract(channels: Channels): App {
  return createContractApp({ staticDir, bigFile: `${staticDir}/none.bin`, channels });
}

const json = (body: unknown) => ({
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});

for (const mode of MODES) {
  describe(`channels over the contract routes (${mode})`, () => {
    let channels: Channels;
    let app: App;
    let client: ReturnType<typeof testClient>;
    before(() => {
      channels = new Channels({ history: 5, keepalive: false });
      app = contract(channels);
      client = testClient(app, mode);
    });
    after(async () => {
      await client.close();
      await channels.close();
    });
    const publish = async (name: string, body: unknown) => {
      const res = await client.fetch(`/channel/${name}`, json(body));
      assert.equal(res.status, 201);
      const { id } = (await res.json()) as { id: string };
      assert.equal(typeof id, "string");
      return id;
    };

    it(
      "delivers every event published after the headers, live, with id, event and data",
      BOUND,
      async () => {
        const res = await client.fetch("/channel/live?n=3");
        assert.equal(res.status, 200);
        assert.equal(res.headers.get("content-type"), "text/event-stream; charset=utf-8");
        const ids = [
          await publish("live", { data: { n: 1 }, event: "tick" }),
          await publish("live", { data: "two" }),
          await publish("live", { data: null, event: "" }),
        ];
        // ?n=3 ends the response cleanly after the third event: the whole body arrives.
        const text = await within(res.text(), 3000, "the body to end");
        assert.equal(
          text,
          `event: tick\nid: ${ids[0]}\ndata: {"n":1}\n\n` +
            `id: ${ids[1]}\ndata: "two"\n\n` +
            `event:\nid: ${ids[2]}\ndata: null\n\n`,
        );
      },
    );

    it("gives unique, increasing string ids", BOUND, async () => {
      const ids = [];
      for (let i = 0; i < 4; i++) ids.push(await publish("ids", { data: i }));
      assert.equal(new Set(ids).size, 4);
      assert.deepEqual([...ids].sort(), ids);
    });

    it("replays what the history holds after Last-Event-ID, then goes on live", BOUND, async () => {
      const ids = [];
      for (let i = 0; i < 4; i++) ids.push(await publish("resume", { data: i }));
      const res = await client.fetch("/channel/resume?n=3", {
        headers: { "last-event-id": ids[1]! },
      });
      const live = await publish("resume", { data: 4 });
      const got = [];
      for await (const ev of events(res)) got.push([ev.id, ev.data]);
      assert.deepEqual(got, [
        [ids[2], "2"],
        [ids[3], "3"],
        [live, "4"],
      ]);
    });

    it(
      "takes ?lastEventId= when no header is sent, and the header when both are",
      BOUND,
      async () => {
        const ids = [];
        for (let i = 0; i < 3; i++) ids.push(await publish("query", { data: i }));
        const byQuery = await client.fetch(`/channel/query?n=1&lastEventId=${ids[0]}`);
        assert.match(await byQuery.text(), new RegExp(`id: ${ids[1]}\n`));
        const both = await client.fetch(`/channel/query?n=1&lastEventId=${ids[0]}`, {
          headers: { "last-event-id": ids[1]! },
        });
        assert.match(await both.text(), new RegExp(`id: ${ids[2]}\n`));
      },
    );

    it(
      "answers an id the history no longer holds with one gap event, then everything held",
      BOUND,
      async () => {
        const ids = [];
        for (let i = 0; i < 8; i++) ids.push(await publish("gaps", { data: i }));
        // History 5: ids[0..2] are gone. ?n=5 counts events, not the gap.
        for (const lost of [ids[0]!, "1-1", "not an id"]) {
          const res = await client.fetch(`/channel/gaps?n=5`, {
            headers: { "last-event-id": lost },
          });
          const text = await res.text();
          const frames = text.split("\n\n").filter(Boolean);
          assert.equal(frames[0], `event: gap\ndata: ${JSON.stringify({ lastEventId: lost })}`);
          assert.deepEqual(
            frames.slice(1).map((f) => /^id: (.*)$/m.exec(f)![1]),
            ids.slice(3),
          );
        }
      },
    );

    it("tells a gap for an id on an empty channel, then goes on live", BOUND, async () => {
      const res = await client.fetch("/channel/empty-one?n=1", {
        headers: { "last-event-id": "5-5" },
      });
      const id = await publish("empty-one", { data: "first" });
      assert.equal(
        await res.text(),
        `event: gap\ndata: {"lastEventId":"5-5"}\n\nid: ${id}\ndata: "first"\n\n`,
      );
    });

    it("refuses a bad NAME with 400", BOUND, async () => {
      for (const name of ["a%2Fb", "a b", "%E2%98%83", "x".repeat(201), "a/b", ""]) {
        for (const init of [{}, json({ data: 1 })]) {
          const res = await client.fetch(`/channel/${name}`, init);
          await problem(res, 400);
        }
      }
      // Percent-decoded first: %61 is "a".
      const ok = await client.fetch("/channel/%61b.c_~-9", json({ data: 1 }));
      assert.equal(ok.status, 201);
    });

    it(
      "refuses a bad POST body: 400 malformed or misshapen, 415 not JSON, 413 over 1 MiB",
      BOUND,
      async () => {
        const post = (body: string, type = "application/json") =>
          client.fetch("/channel/posts", {
            method: "POST",
            headers: { "content-type": type },
            body,
          });
        for (const body of [
          "{",
          "[1]",
          "null",
          '"data"',
          "{}",
          '{"event":"x"}',
          '{"data":1,"event":5}',
          '{"data":1,"event":"a\\nb"}',
          '{"data":1,"event":"a\\rb"}',
          '{"data":1,"event":"a\\u0000b"}',
        ]) {
          const p = await problem(await post(body), 400);
          assert.ok(p.detail, body);
        }
        await problem(await post('{"data":1}', "text/plain"), 415);
        await problem(await post(JSON.stringify({ data: "x".repeat(1024 * 1024) })), 413);
        // None of these reached the history.
        const res = await client.fetch("/channel/posts?n=1", {
          headers: { "last-event-id": "0-0" },
        });
        const id = await publish("posts", { data: "after" });
        assert.equal(
          await res.text(),
          `event: gap\ndata: {"lastEventId":"0-0"}\n\nid: ${id}\ndata: "after"\n\n`,
        );
      },
    );

    it("counts a subscription as a stream with its teardown", BOUND, async () => {
      const before = { ...app.stats.streams };
      const res = await client.fetch("/channel/counted?n=1");
      await publish("counted", { data: 1 });
      await res.text();
      await until(() => app.stats.streams.completed === before.completed + 1, 2000, "completed");
      assert.equal(app.stats.streams.started, before.started + 1);
      assert.equal(channels.subscribers().counted, undefined);
    });
  });
}

describe("channels under load (socket)", () => {
  it(
    "keeps the seam exact under a publisher running flat out: every event once, in order",
    BOUND,
    async () => {
      const channels = new Channels({ history: 20_000, queue: 20_000, keepalive: false });
      const app = contract(channels);
      const server = await serve(app, { port: 0 });
      try {
        const ch = channels.channel("flat");
        const published: string[] = [];
        const TOTAL = 4000;
        const done = (f: Followed) =>
          f.events.length > 0 && f.events.at(-1)!.id === published[TOTAL - 1];
        // Readers join while the publisher runs: fresh ones, and ones that resume from an id a
        // while back; each leaves now and then and comes back with Last-Event-ID.
        const readers: Promise<{ got: Followed; from: number | undefined }>[] = [];
        for (let i = 0; i < TOTAL; i++) {
          published.push(await ch.publish({ i }));
          if (i % 500 === 250) {
            const k = readers.length;
            const resumeAt = k % 2 === 1 ? Math.floor(i / 2) : undefined;
            readers.push(
              followChannel([server.url], "/channel/flat", {
                lastEventId: resumeAt === undefined ? undefined : published[resumeAt],
                leaveAfter: 100 + (k % 3) * 50,
                done,
              }).then((got) => ({ got, from: resumeAt })),
            );
          }
          // A turn now and then, so that readers connect and read while the publisher runs.
          if (i % 50 === 0) await new Promise((r) => setImmediate(r));
        }
        for (const { got, from } of await Promise.all(readers)) {
          assert.deepEqual(got.gaps, []);
          const ids = got.events.map((e) => e.id);
          const first = published.indexOf(ids[0]!);
          // One that resumed starts right after its id; a fresh one with some live event.
          if (from !== undefined) assert.equal(first, from + 1);
          else assert.ok(first > 0);
          assert.deepEqual(ids, published.slice(first), "no event lost or repeated");
          assert.ok(got.connections > 1, "the reader resumed at least once");
        }
      } finally {
        await server.close();
        await channels.close();
      }
    },
  );

  it("cuts off a stalled subscriber once it is CHANNEL_QUEUE events behind: aborted with its teardown, memory flat; it resumes", {
    timeout: 30_000,
  }, async () => {
    const channels = new Channels({ history: 200, queue: 64, keepalive: false });
    const app = contract(channels);
    const server = await serve(app, { port: 0 });
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    try {
      const ch = channels.channel("stall");
      const conn = await RawConnection.open(server.port);
      conn.write("GET /channel/stall HTTP/1.1\r\nHost: x\r\n\r\n");
      await conn.read((b) => b.includes("\r\n\r\n"));
      conn.socket.pause();
      await until(() => channels.subscribers().stall === 1, 2000, "the subscriber");
      const before = { ...app.stats.streams };
      const teardowns = app.stats.teardowns;
      gc();
      const heap0 = process.memoryUsage().heapUsed;
      // 16 KiB events, 32 MiB in all: the socket buffers fill after a few hundred, then the
      // subscriber's queue of 64, and it is cut off.
      const big = "x".repeat(16 * 1024);
      const ids: string[] = [];
      for (let i = 0; i < 2000; i++) ids.push(await ch.publish({ i, big }));
      await until(() => app.stats.streams.aborted === before.aborted + 1, 5000, "the cut-off");
      await until(() => app.stats.teardowns === teardowns + 1, 2000, "its teardown");
      assert.equal(app.stats.streams.active, before.active - 1);
      assert.equal(channels.subscribers().stall, undefined);
      gc();
      const grew = process.memoryUsage().heapUsed - heap0;
      // The history (200 events, as JSON and as a frame: about 6.5 MiB) and nothing for the
      // stalled reader beyond its queue: far less than the 32 MiB published.
      assert.ok(grew < 16 * 1024 * 1024, `heap grew by ${(grew / 2 ** 20).toFixed(1)} MiB`);
      // The client sees the response cut short: no terminating chunk.
      conn.socket.resume();
      const raw = await conn.read(() => false, 10_000);
      assert.ok(!raw.includes("\r\n0\r\n\r\n"));
      conn.destroy();
      // It comes back with the last id it got: the history says what it lost, then sends the
      // rest it holds, up to the newest event.
      const lastSeen = [...raw.toString("latin1").matchAll(/id: (\S+)/g)].at(-1)?.[1];
      assert.ok(lastSeen !== undefined);
      const got = await followChannel([server.url], "/channel/stall", {
        lastEventId: lastSeen,
        done: (f) => f.events.at(-1)?.id === ids.at(-1),
      });
      assert.deepEqual(got.gaps, [lastSeen]);
      assert.deepEqual(
        got.events.map((e) => e.id),
        ids.slice(-200),
      );
    } finally {
      await server.close();
      await channels.close();
    }
  });
});

describe("a thousand subscribers leaving at random", () => {
  for (const [mode, count] of [
    ["memory", 1000],
    ["socket", 1000],
  ] as const) {
    it(`runs one teardown per subscription (${mode}, ${count})`, { timeout: 30_000 }, async () => {
      const channels = new Channels({ keepalive: 5 });
      const app = contract(channels);
      const client = testClient(app, mode);
      try {
        const ch = channels.channel("crowd");
        const before = { ...app.stats.streams };
        const t0 = app.stats.teardowns;
        const leaving: Promise<void>[] = [];
        for (let k = 0; k < count; k++) {
          const ac = new AbortController();
          const res = await client.fetch("/channel/crowd", { signal: ac.signal });
          assert.equal(res.status, 200);
          // Each leaves at a random moment: before any event, after some, by cancelling the body
          // or by aborting the request.
          const wait = Math.random() * 150;
          const reads = Math.floor(Math.random() * 3);
          leaving.push(
            (async () => {
              const reader = res.body!.getReader();
              const timer = new Promise((r) => setTimeout(r, wait));
              for (let i = 0; i < reads; i++) await Promise.race([reader.read(), timer]);
              await timer;
              if (k % 2 === 0) await reader.cancel();
              else ac.abort();
            })().catch(() => {}),
          );
        }
        for (let i = 0; i < 20; i++) {
          await ch.publish({ i });
          await new Promise((r) => setTimeout(r, 8));
        }
        await within(Promise.all(leaving), 10_000, "every subscriber to leave");
        await settled(() => app.stats.teardowns, 100, 10_000);
        const started = app.stats.streams.started - before.started;
        assert.equal(started, count);
        assert.equal(app.stats.teardowns - t0, count);
        assert.equal(app.stats.streams.active, before.active);
        assert.deepEqual(channels.subscribers(), {});
      } finally {
        await client.close();
        await channels.close();
      }
    });
  }
});

describe("the channel keepalive", () => {
  it(
    "pings idle subscribers with one timer per channel, not one per subscriber",
    BOUND,
    async () => {
      const channels = new Channels({ keepalive: 40 });
      const app = contract(channels);
      // Count the intervals the channels start: one per channel, whatever the subscribers.
      const real = globalThis.setInterval;
      const live = new Set<unknown>();
      const realClear = globalThis.clearInterval;
      globalThis.setInterval = ((fn: () => void, ms: number) => {
        const t = real(fn, ms);
        live.add(t);
        return t;
      }) as typeof setInterval;
      globalThis.clearInterval = ((t: Parameters<typeof clearInterval>[0]) => {
        live.delete(t);
        realClear(t);
      }) as typeof clearInterval;
      const timers = () => live.size;
      const ac = new AbortController();
      try {
        const bodies = [];
        for (let k = 0; k < 50; k++) {
          const res = await app.fetch(new Request("http://x/channel/quiet", { signal: ac.signal }));
          bodies.push(res.body!.getReader());
        }
        assert.equal(timers(), 1);
        const first = new TextDecoder().decode(
          (await within(bodies[0]!.read(), 2000, "a ping")).value,
        );
        assert.equal(first, ": ping\n\n");
        const last = new TextDecoder().decode(
          (await within(bodies[49]!.read(), 2000, "a ping")).value,
        );
        assert.equal(last, ": ping\n\n");
        ac.abort();
        await until(() => timers() === 0, 2000, "the timer to stop with the last subscriber");
      } finally {
        globalThis.setInterval = real;
        globalThis.clearInterval = realClear;
        ac.abort();
        await channels.close();
      }
    },
  );
});

describe("the contract app process (in memory)", () => {
  it("refuses WORKERS without REDIS_URL, saying so, with a non-zero exit", BOUND, async () => {
    const { code, output } = await runContract({ WORKERS: "2", REDIS_URL: "" }, 8000);
    assert.notEqual(code, 0);
    assert.match(output, /WORKERS needs REDIS_URL/);
  });

  it("refuses a HISTORY or CHANNEL_QUEUE that is not a positive integer", BOUND, async () => {
    for (const env of [{ HISTORY: "0" }, { CHANNEL_QUEUE: "ten" }] as Record<string, string>[]) {
      const { code, output } = await runContract(env, 8000);
      assert.equal(code, 1);
      assert.match(output, /must be a positive integer/);
    }
  });

  it("starts channel ids afresh after a restart: an old id is told as a gap", {
    timeout: 30_000,
  }, async () => {
    let app = await ContractProcess.start({ HISTORY: "10" });
    try {
      const post = async (base: string) => {
        const res = await fetch(`${base}/channel/restart`, json({ data: "x" }));
        return ((await res.json()) as { id: string }).id;
      };
      const old = await post(app.url);
      assert.equal(await app.stop(), 0);
      app = await ContractProcess.start({ HISTORY: "10" });
      const fresh = await post(app.url);
      assert.notEqual(fresh, old);
      const res = await rawRequest(
        Number(new URL(app.url).port),
        "GET",
        "/channel/restart?n=1",
        { "last-event-id": old },
        5000,
      );
      assert.equal(
        res.body.toString(),
        `event: gap\ndata: ${JSON.stringify({ lastEventId: old })}\n\nid: ${fresh}\ndata: "x"\n\n`,
      );
    } finally {
      await app.stop();
    }
  });
});

describe("the showcase's channels", () => {
  for (const mode of MODES) {
    it(
      `shows a chat message in every open tab, and a new tab starts with the history (${mode})`,
      BOUND,
      async () => {
        const channels = new Channels({ keepalive: false });
        const { app, stop } = createShowcaseApp({ channels });
        const client = testClient(app, mode);
        try {
          const tabs = [];
          for (let k = 0; k < 3; k++) tabs.push(events(await client.fetch("/room/events")));
          const sent = await client.fetch("/room/messages", json({ name: " ada ", text: "hello" }));
          assert.equal(sent.status, 201);
          for (const tab of tabs) {
            const ev = (await within(tab.next(), 2000, "the message")).value!;
            assert.equal(ev.event, "message");
            assert.deepEqual(JSON.parse(ev.data), { name: "ada", text: "hello" });
            await tab.return(undefined);
          }
          await problem(await client.fetch("/room/messages", json({ name: "x", text: "" })), 422);
          const late = events(await client.fetch("/room/events"));
          assert.deepEqual(JSON.parse((await within(late.next(), 2000, "history")).value!.data), {
            name: "ada",
            text: "hello",
          });
          await late.return(undefined);
        } finally {
          stop();
          await client.close();
        }
      },
    );
  }

  it(
    "ends each chart connection after 15 ticks; the reconnect resumes after the last tick drawn",
    BOUND,
    async () => {
      const channels = new Channels({ keepalive: false });
      const { app, stop } = createShowcaseApp({ channels });
      try {
        const ticks = channels.channel("ticks");
        const ids = [];
        for (let i = 0; i < 40; i++)
          ids.push(await ticks.publish({ at: `t${i}`, value: i }, { event: "tick" }));
        const res = await app.fetch(
          new Request("http://x/live/events", { headers: { "last-event-id": ids[10]! } }),
        );
        const got = [];
        for await (const ev of events(res)) got.push(ev.id);
        assert.deepEqual(got, ids.slice(11, 26));
      } finally {
        stop();
      }
    },
  );
});
