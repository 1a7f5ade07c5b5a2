/**
 * 7. Many idle SSE connections: 10,000 open `/sse-hub?keepalive=15000` connections (held by two
 * client processes on the client CPU), the server's RSS per connection, and the time for one event
 * to reach all of them: `GET /broadcast` pushes one event to every open `/sse-hub` response; the
 * clock runs from sending it until every client process reports every socket has the event.
 */
import { get } from "node:http";
import { fileURLToPath } from "node:url";
import { ClientProcess as Worker } from "../lib/clients.ts";
import { fmt, type Measure } from "../lib/measure.ts";
import { type RunningServer, rss } from "../lib/server.ts";
import { median } from "../lib/stats.ts";

const WORKER = fileURLToPath(new URL("../lib/idle-worker.ts", import.meta.url));
const PATH = "/sse-hub?keepalive=15000";
const BROADCASTS = 3;

function getText(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = get(url, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d) => {
        body += d;
      });
      res.on("end", () => resolve(body));
    });
    req.on("error", reject);
    req.setTimeout(10_000, () => req.destroy(new Error("timeout")));
  });
}

async function broadcastOnce(
  server: RunningServer,
  workers: Worker[],
  expected: number,
): Promise<number> {
  const armed = workers.map((w) => w.next("armed", 10_000));
  for (const w of workers) w.send({ type: "arm" });
  await Promise.all(armed);
  const delivered = workers.map((w) => w.next("delivered", 30_000));
  const t0 = performance.now();
  const body = await getText(`${server.url}/broadcast`);
  await Promise.all(delivered);
  const ms = performance.now() - t0;
  const sent = JSON.parse(body).sent;
  if (sent !== expected)
    throw new Error(`${server.peer.name}: broadcast reached ${sent} of ${expected}`);
  return ms;
}

export const idle: Measure = {
  id: "idle",
  title: "7. 10,000 idle SSE connections: RSS per connection, time to deliver one event to all",
  primary: { key: "deliverMs", label: "deliver to all", better: "lower", format: fmt.ms },
  secondary: [
    { key: "perConn", label: "RSS/conn", better: "lower", format: fmt.kib },
    { key: "perConnHeld", label: "RSS/conn after GC", better: "lower", format: fmt.kib },
    { key: "rssAll", label: "RSS at 10k", better: "lower", format: fmt.mib },
    { key: "connectS", label: "connect 10k", better: "lower", format: (v) => `${v.toFixed(1)} s` },
  ],
  notes:
    'Bench-only routes on every server: `/sse-hub` (an `event: ready` at once, then one `tick` per broadcast, keepalive comments) and `/broadcast` (pushes the next tick to every open `/sse-hub`, answers `{"sent":N}`). RSS per connection = (RSS with all connections open − RSS before) / N, read as it is (garbage of opening them included) and after full GCs in the server (what the connections hold; every server runs with `--expose-gc` and lib/gc-on-signal.ts, and the "before" is read after GCs too). Delivery: median of 3 broadcasts.',
  async run(server, ctx) {
    const total = ctx.smoke ? 2000 : 10_000;
    const workers = [new Worker(WORKER), new Worker(WORKER)];
    try {
      await Promise.all(workers.map((w) => w.next("up", 10_000)));
      await server.gc();
      const before = rss(server.pid);
      const t0 = performance.now();
      const connected = workers.map((w) => w.next("connected", 120_000));
      workers.forEach((w, k) => {
        w.send({
          type: "connect",
          port: server.port,
          count: total / workers.length + (k === 0 ? total % workers.length : 0),
          path: PATH,
        });
      });
      const replies = await Promise.all(connected);
      const connectS = (performance.now() - t0) / 1000;
      const ok = replies.reduce((s, r) => s + (r.ok ?? 0), 0);
      if (ok !== total) {
        throw new Error(
          `${server.peer.name}: ${ok} of ${total} connections opened (${replies.map((r) => r.firstError).join(" ")})`,
        );
      }
      await new Promise((r) => setTimeout(r, 1000));
      const rssAll = rss(server.pid);
      // The same after full GCs: what the connections hold, not the garbage of opening them.
      await server.gc();
      const rssHeld = rss(server.pid);
      const times: number[] = [];
      await broadcastOnce(server, workers, total); // warm-up
      for (let k = 0; k < BROADCASTS; k++) times.push(await broadcastOnce(server, workers, total));
      return {
        deliverMs: median(times),
        perConn: (rssAll - before) / total,
        perConnHeld: (rssHeld - before) / total,
        rssAll,
        connectS,
      };
    } finally {
      for (const w of workers) {
        w.send({ type: "close" });
        setTimeout(() => w.kill(), 2000).unref();
      }
    }
  },
};
