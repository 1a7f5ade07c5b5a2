/**
 * Broadcast channels on Redis Streams, against a real redis-server this suite starts (on a free
 * loopback port, in a temporary directory) and stops: the backend, the seam under a publisher
 * running flat out, gaps (also when the read loop is overtaken by trimming), two processes sharing
 * a Redis, a Redis restart mid-stream, a process restart, and WORKERS.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { createClient } from "@redis/client";
import { createContractApp } from "../examples/contract/app.ts";
import { Channels, compareIds } from "../src/index.ts";
import { serve } from "../src/node/index.ts";
import { RedisBackend } from "../src/redis/index.ts";
import { ContractProcess, type Followed, followChannel } from "./helpers/contract.ts";
import { rawRequest } from "./helpers/raw-http.ts";
import { freePort, RedisServer, redisSkip } from "./helpers/redis.ts";
import { gate, until, within } from "./helpers/wait.ts";

const staticDir = fileURLToPath(new URL("../examples/contract/public", import.meta.url));
const SLOW = { timeout: 60_000 };

const post = async (base: string, name: string, data: unknown, event?: string) => {
  const res = await fetch(`${base}/channel/${name}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(event === undefined ? { data } : { data, event }),
  });
  assert.equal(res.status, 201, await res.clone().text());
  return ((await res.json()) as { id: string }).id;
};

describe("channels on Redis Streams", { skip: redisSkip }, () => {
  let redis: RedisServer;
  before(async () => {
    redis = await RedisServer.start();
  });
  after(async () => {
    await redis?.destroy();
  });

  /** An in-process contract app over a Redis backend, on a loopback socket. */
  async function served(history: number, queue = 1024) {
    const backend = new RedisBackend({ url: redis.url, history, onError: () => {} });
    await backend.connect();
    const channels = new Channels({ backend, queue, keepalive: false });
    const app = createContractApp({ staticDir, bigFile: `${staticDir}/none.bin`, channels });
    const server = await serve(app, { port: 0 });
    return {
      backend,
      channels,
      app,
      server,
      async close() {
        await server.close();
        await channels.close();
      },
    };
  }

  it(
    "stores events as stream entries: ids from XADD, reads inclusive of where they start",
    SLOW,
    async () => {
      const backend = new RedisBackend({ url: redis.url, history: 50, onError: () => {} });
      try {
        const ids = [];
        for (let i = 0; i < 5; i++)
          ids.push(await backend.append("store", i % 2 ? "odd" : undefined, `{"i":${i}}`));
        for (const id of ids) assert.match(id, /^\d+-\d+$/);
        assert.deepEqual(
          (await backend.range("store", ids[2], 2)).map((e) => [e.id, e.event, e.json]),
          [
            [ids[2], undefined, '{"i":2}'],
            [ids[3], "odd", '{"i":3}'],
          ],
        );
        assert.equal(await backend.last("store"), ids[4]);
        assert.equal(await backend.last("nothing-here"), undefined);
        // Approximate trimming keeps at least the history.
        for (let i = 0; i < 400; i++) await backend.append("store", undefined, "0");
        const held = await backend.range("store", undefined, 10_000);
        assert.ok(held.length >= 50 && held.length <= 2 * 50 + 100, `holds ${held.length}`);
      } finally {
        await backend.close();
      }
    },
  );

  it("keeps the seam exact under a publisher running flat out", SLOW, async () => {
    const s = await served(20_000, 20_000);
    try {
      const ch = s.channels.channel("flat");
      const published: string[] = [];
      const TOTAL = 3000;
      const done = (f: Followed) => f.events.at(-1)?.data === "end";
      const readers: Promise<{ got: Followed; from: number | undefined }>[] = [];
      // Publishes are pipelined (several in flight), as fast as Redis takes them.
      for (let i = 0; i < TOTAL; i += 10) {
        const batch = await Promise.all(
          Array.from({ length: 10 }, (_, k) => ch.publish({ i: i + k })),
        );
        published.push(...batch);
        if (i % 500 === 250) {
          const k = readers.length;
          const resumeAt = k % 2 === 1 ? Math.floor(i / 2) : undefined;
          readers.push(
            followChannel([s.server.url], "/channel/flat", {
              lastEventId: resumeAt === undefined ? undefined : published[resumeAt],
              leaveAfter: 100 + (k % 3) * 50,
              done,
              ms: 40_000,
            }).then((got) => ({ got, from: resumeAt })),
          );
        }
      }
      await ch.publish("end");
      // Ids from concurrent publishes arrive in the stream's order, which is the id order.
      published.sort(compareIds);
      for (const { got, from } of await Promise.all(readers)) {
        assert.deepEqual(got.gaps, []);
        const ids = got.events.map((e) => e.id).slice(0, -1);
        const first = published.indexOf(ids[0]!);
        if (from !== undefined) assert.ok(first >= 0 && first <= from + 10);
        assert.deepEqual(ids, published.slice(first), "no event lost or repeated");
      }
    } finally {
      await s.close();
    }
  });

  it(
    "tells a gap for a trimmed id, a never-issued id and an id of another shape",
    SLOW,
    async () => {
      const s = await served(10);
      try {
        const ids = [];
        for (let i = 0; i < 300; i++) ids.push(await s.channels.channel("gaps").publish(i));
        const held = await s.backend.range("gaps", undefined, 10_000);
        assert.ok(held.length < 300);
        for (const lost of [ids[0]!, "1-1", "99999999999999-0", "bogus"]) {
          const res = await rawRequest(s.server.port, "GET", `/channel/gaps?n=${held.length}`, {
            "last-event-id": lost,
          });
          const frames = res.body.toString().split("\n\n").filter(Boolean);
          assert.equal(frames[0], `event: gap\ndata: ${JSON.stringify({ lastEventId: lost })}`);
          assert.deepEqual(
            frames.slice(1).map((f) => /^id: (.*)$/m.exec(f)![1]),
            held.map((e) => e.id),
          );
        }
      } finally {
        await s.close();
      }
    },
  );

  it(
    "cuts off subscribers whose read loop trimming overtook, and tells them the gap when they resume",
    SLOW,
    async () => {
      const s = await served(10);
      const raw = createClient({ url: redis.url, RESP: 2 });
      await raw.connect();
      try {
        const ch = s.channels.channel("overtaken");
        const first = await ch.publish("first");
        const got = followChannel([s.server.url], "/channel/overtaken", {
          lastEventId: first,
          done: (f) => f.gaps.length > 0 && f.events.at(-1)?.data === "last",
        });
        await until(() => s.channels.subscribers().overtaken === 1, 5000, "the subscriber");
        // Thousands of entries in one transaction: the loop's next read finds its place trimmed away.
        const multi = raw.multi();
        for (let i = 0; i < 3000; i++)
          multi.addCommand([
            "XADD",
            "sluice:channel:overtaken",
            "MAXLEN",
            "~",
            "10",
            "*",
            "d",
            `${i}`,
          ]);
        await multi.exec();
        await ch.publish("last");
        const f = await within(got, 20_000, "the reader");
        assert.ok(f.connections >= 2, "cut off, then resumed");
        assert.equal(f.events.at(-1)!.data, "last");
        assert.ok(f.events.length < 3001);
      } finally {
        await raw.close();
        await s.close();
      }
    },
  );

  it(
    "serves one channel from two processes: publish on one, receive on the other, resume on either",
    SLOW,
    async () => {
      const env = { REDIS_URL: redis.url, HISTORY: "1000" };
      const a = await ContractProcess.start(env);
      const b = await ContractProcess.start(env);
      try {
        const sent: string[] = [];
        const open = gate();
        const reading = followChannel([b.url], "/channel/shared", {
          done: (f) => f.events.length === 5,
          onOpen: () => open.resolve(),
        });
        // Subscribed on b (its headers came) before anything is published on a.
        await within(open.promise, 5000, "the subscription");
        for (let i = 0; i < 5; i++) sent.push(await post(a.url, "shared", { i }, "n"));
        const got = await reading;
        assert.deepEqual(
          got.events.map((e) => [e.id, e.event, e.data]),
          sent.map((id, i) => [id, "n", { i }]),
        );
        // Leave after two on a, come back on b: the rest, once each.
        for (let i = 5; i < 10; i++) sent.push(await post(b.url, "shared", { i }));
        const resumed = await followChannel([a.url, b.url], "/channel/shared", {
          lastEventId: sent[4],
          leaveAfter: 2,
          done: (f) => f.events.length === 5,
        });
        assert.deepEqual(
          resumed.events.map((e) => e.id),
          sent.slice(5),
        );
        assert.ok(resumed.connections >= 3);
      } finally {
        await Promise.all([a.stop(), b.stop()]);
      }
    },
  );

  it(
    "survives a Redis restart mid-stream: subscribers resume, nothing Redis kept is lost",
    SLOW,
    async () => {
      const s = await served(10_000);
      try {
        const ch = s.channels.channel("restart");
        const acked: string[] = [];
        let publishing = true;
        const publisher = (async () => {
          for (let i = 0; publishing; i++) {
            try {
              acked.push(await ch.publish({ i }));
            } catch {
              // 503 while Redis is down: try again.
              await new Promise((r) => setTimeout(r, 20));
            }
            await new Promise((r) => setTimeout(r, 2));
          }
        })();
        const readers = [0, 1, 2].map(() =>
          followChannel([s.server.url], "/channel/restart", {
            done: (f) => f.events.at(-1)?.data === "end",
            ms: 50_000,
          }),
        );
        await until(() => acked.length >= 100, 10_000, "events before the restart");
        await redis.restart();
        const before = acked.length;
        await until(() => acked.length >= before + 100, 20_000, "events after the restart");
        publishing = false;
        await publisher;
        await ch.publish("end");
        for (const got of await Promise.all(readers)) {
          const ids = got.events.map((e) => e.id).slice(0, -1);
          assert.deepEqual(got.gaps, []);
          assert.equal(new Set(ids).size, ids.length, "nothing repeated");
          // Every acknowledged event after the reader's first one, in order.
          const from = acked.indexOf(ids[0]!);
          const have = new Set(ids);
          assert.deepEqual(
            acked.slice(Math.max(from, 0)).filter((id) => !have.has(id)),
            [],
            "nothing acknowledged is lost",
          );
        }
      } finally {
        await s.close();
      }
    },
  );

  it("keeps the history across a process restart", SLOW, async () => {
    const env = { REDIS_URL: redis.url };
    let app = await ContractProcess.start(env);
    try {
      const ids = [];
      for (let i = 0; i < 3; i++) ids.push(await post(app.url, "kept", i));
      assert.equal(await app.stop(), 0);
      app = await ContractProcess.start(env);
      const next = await post(app.url, "kept", 3);
      assert.ok(!ids.includes(next));
      const got = await followChannel([app.url], "/channel/kept", {
        lastEventId: ids[0],
        done: (f) => f.events.length === 3,
      });
      assert.deepEqual(
        got.events.map((e) => [e.id, e.data]),
        [
          [ids[1], 1],
          [ids[2], 2],
          [next, 3],
        ],
      );
    } finally {
      await app.stop();
    }
  });

  it("runs WORKERS=2 on one port, every worker serving the same channels", SLOW, async () => {
    const port = await freePort();
    const app = await ContractProcess.start({
      REDIS_URL: redis.url,
      WORKERS: "2",
      PORT: String(port),
    });
    try {
      // Several connections: the cluster spreads them over both workers.
      const opened = Array.from({ length: 6 }, () => gate());
      const readers = opened.map((open) =>
        followChannel([app.url], "/channel/cluster", {
          done: (f) => f.events.length === 10,
          onOpen: () => open.resolve(),
        }),
      );
      await within(Promise.all(opened.map((g) => g.promise)), 10_000, "the subscriptions");
      const sent = [];
      for (let i = 0; i < 10; i++) sent.push(await post(app.url, "cluster", i));
      for (const got of await Promise.all(readers))
        assert.deepEqual(
          got.events.map((e) => e.id),
          sent,
        );
      assert.equal(await app.stop(), 0);
    } finally {
      await app.stop();
    }
  });
});
