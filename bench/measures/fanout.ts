/**
 * 8. Fan-out, one process: 10,000 SSE subscribers of one channel (`GET /channel/bench`, held by two
 * client processes on the client CPU). The server's RSS per subscriber; then 100 events published
 * one at a time (`POST /channel/bench`), each timed from sending the POST until every client
 * process reports that every subscriber has it (p50, p99); then 100 more published back to back,
 * timed until every subscriber has all of them: delivered events per second, and the server's CPU
 * time per delivered event. Peers: raw node:http (a set of open responses, one frame written to
 * each) and better-sse's channels.
 */
import { request } from "node:http";
import { fileURLToPath } from "node:url";
import { ClientProcess } from "../lib/clients.ts";
import { fmt, type Measure } from "../lib/measure.ts";
import { BETTER_SSE, cpuSeconds, PEERS, type RunningServer, rss } from "../lib/server.ts";
import { median } from "../lib/stats.ts";

const WORKER = fileURLToPath(new URL("../lib/fanout-worker.ts", import.meta.url));
export const PATH = "/channel/bench";

/** POST one event to a channel; resolves with the id once the server answered 201. */
export function publish(url: string, i: number): Promise<string> {
  const body = JSON.stringify({ data: { i, sq: i * i }, event: "tick" });
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}${PATH}`,
      {
        method: "POST",
        headers: { "content-type": "application/json", "content-length": body.length },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d) => {
          text += d;
        });
        res.on("end", () =>
          res.statusCode === 201
            ? resolve(JSON.parse(text).id)
            : reject(new Error(`POST ${PATH}: ${res.statusCode} ${text}`)),
        );
      },
    );
    req.on("error", reject);
    req.setTimeout(10_000, () => req.destroy(new Error("timeout")));
    req.end(body);
  });
}

/** Client processes holding `total` subscriptions to `port`, split evenly. */
export async function subscribe(
  port: number,
  total: number,
  processes: number,
): Promise<{ clients: ClientProcess[]; connectS: number }> {
  const clients = Array.from({ length: processes }, () => new ClientProcess(WORKER));
  await Promise.all(clients.map((c) => c.next("up", 10_000)));
  const t0 = performance.now();
  const connected = clients.map((c) => c.next("connected", 120_000));
  clients.forEach((c, k) => {
    const count = Math.floor(total / processes) + (k === 0 ? total % processes : 0);
    c.send({ type: "connect", port, count, path: PATH });
  });
  const replies = await Promise.all(connected);
  const ok = replies.reduce((s, r) => s + (r.ok ?? 0), 0);
  if (ok !== total) {
    for (const c of clients) c.kill();
    throw new Error(
      `${ok} of ${total} subscriptions opened (${replies.map((r) => r.firstError).join(" ")})`,
    );
  }
  return { clients, connectS: (performance.now() - t0) / 1000 };
}

/**
 * Arms every client for the `target`-th event; resolves once all report it delivered. The caller
 * awaits it after its POSTs: should one of those fail first, this must not go unhandled meanwhile.
 */
export function armed(clients: ClientProcess[], target: number, ms = 60_000): Promise<unknown> {
  const all = (async () => {
    const ready = clients.map((c) => c.next("armed", 10_000));
    const delivered = clients.map((c) => c.next("delivered", ms));
    for (const c of clients) c.send({ type: "arm", target });
    await Promise.all(ready);
    return Promise.all(delivered);
  })();
  all.catch(() => {});
  return all;
}

/** The p-th percentile (nearest rank). */
export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0
    ? Number.NaN
    : s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

export function close(clients: ClientProcess[]): void {
  for (const c of clients) {
    c.send({ type: "close" });
    setTimeout(() => c.kill(), 2000).unref();
  }
}

export const fanout: Measure = {
  id: "fanout",
  title: "8. Fan-out: one event to 10,000 SSE subscribers of one channel, one process",
  peers: [PEERS[0]!, PEERS[1]!, BETTER_SSE],
  primary: { key: "p50", label: "to all, p50", better: "lower", format: fmt.ms },
  secondary: [
    { key: "p99", label: "p99", better: "lower", format: fmt.ms },
    { key: "delivered", label: "delivered events/s", better: "higher", format: fmt.k },
    {
      key: "cpuPerEvent",
      label: "server CPU per delivered event",
      better: "lower",
      format: (v) => (Number.isNaN(v) ? "–" : `${(v * 1e6).toFixed(2)} µs`),
    },
    { key: "perConn", label: "RSS/subscriber", better: "lower", format: fmt.kib },
    { key: "perConnHeld", label: "RSS/subscriber after GC", better: "lower", format: fmt.kib },
    {
      key: "connectS",
      label: "subscribe 10k",
      better: "lower",
      format: (v) => `${v.toFixed(1)} s`,
    },
  ],
  notes:
    "`GET /channel/bench` on every server: Sluice's contract app (a `Channels` channel, in memory: history 1000, queue 1024, one keepalive timer per channel), raw node:http (a `Set` of open responses; a POST frames the event once and `write`s it to each; no history, queue or keepalive) and better-sse 0.16 (`createChannel`, `register(session)`, `broadcast`; its default keepalive of one timer per session). One event: from sending its POST until both client processes report that each of their subscribers has it; 100 events one at a time. Delivered events/s: 100 events posted back to back (each POST awaited), 10,000 × 100 deliveries over the time until every subscriber has all 100; server CPU time (user + system, /proc) over that flood divided by the deliveries. RSS per subscriber = (RSS with all subscribed − RSS before) / 10,000, read as it is (garbage of subscribing included) and after full GCs in the server (what a subscriber holds; the “before” is read after GCs too).",
  async run(server: RunningServer, ctx) {
    const total = ctx.smoke ? 2000 : 10_000;
    const events = ctx.smoke ? 20 : 100;
    await server.gc();
    const before = rss(server.pid);
    const { clients, connectS } = await subscribe(server.port, total, 2);
    try {
      await new Promise((r) => setTimeout(r, 1000));
      const rssAll = rss(server.pid);
      await server.gc();
      const rssHeld = rss(server.pid);
      let sent = 0;
      // Warm-up.
      for (let k = 0; k < 5; k++) {
        const delivered = armed(clients, ++sent);
        await publish(server.url, sent);
        await delivered;
      }
      const times: number[] = [];
      for (let k = 0; k < events; k++) {
        const delivered = armed(clients, ++sent);
        const t0 = performance.now();
        await publish(server.url, sent);
        await delivered;
        times.push(performance.now() - t0);
      }
      const target = sent + events;
      const all = armed(clients, target, 300_000);
      const cpu0 = cpuSeconds(server.pid);
      const t0 = performance.now();
      while (sent < target) await publish(server.url, ++sent);
      await all;
      const seconds = (performance.now() - t0) / 1000;
      const cpu = cpuSeconds(server.pid) - cpu0;
      return {
        p50: median(times),
        p99: percentile(times, 99),
        delivered: (total * events) / seconds,
        cpuPerEvent: cpu / (total * events),
        perConn: (rssAll - before) / total,
        perConnHeld: (rssHeld - before) / total,
        connectS,
      };
    } finally {
      close(clients);
    }
  },
};
