/**
 * 9. Fan-out over Redis, two processes: Sluice's contract app twice with the same `REDIS_URL` (a
 * redis-server this measure starts on the loopback, pinned with the servers to CPU 0). 1,000
 * subscribers on process B; 100 events published on process A one at a time, each timed from
 * sending its POST to A until every subscriber on B has it (p50, p99). Sluice only: the peers have
 * no multi-process channels.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fmt, type Measure } from "../lib/measure.ts";
import { freePort, PEERS, SERVER_CPU, startServer, track } from "../lib/server.ts";
import { median } from "../lib/stats.ts";
import { armed, close, percentile, publish, subscribe } from "./fanout.ts";

/** A redis-server on the loopback with a temporary directory, pinned to the server CPU. */
async function startRedis(): Promise<{ url: string; stop: () => void }> {
  execFileSync("redis-server", ["--version"], { stdio: "ignore" });
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "sluice-bench-redis-"));
  const child: ChildProcess = spawn(
    "taskset",
    [
      "-c",
      SERVER_CPU,
      "redis-server",
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--dir",
      dir,
      "--save",
      "",
      "--appendonly",
      "no",
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  track(child);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("redis-server did not start in 10 s")), 10_000);
    let out = "";
    child.stdout!.on("data", (d) => {
      out += d;
      if (out.includes("Ready to accept connections")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => reject(new Error(`redis-server exited (${code})`)));
  });
  child.stdout!.resume();
  return {
    url: `redis://127.0.0.1:${port}`,
    stop() {
      child.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const fanoutRedis: Measure = {
  id: "fanout-redis",
  title: "9. Fan-out over Redis: publish on one process, 1,000 subscribers on another",
  peers: [PEERS[0]!],
  primary: { key: "p99", label: "publish to all, p99", better: "lower", format: fmt.ms },
  secondary: [{ key: "p50", label: "p50", better: "lower", format: fmt.ms }],
  notes:
    "Two contract-app processes with the same `REDIS_URL` (Redis 7, no persistence, on CPU 0 with both servers); each event is one XADD on A, read by B's one blocking XREAD loop and framed once for its 1,000 subscribers. From sending the POST to A until both client processes report that every subscriber on B has the event; 100 events one at a time after 5 warm-up ones.",
  async run(a, ctx) {
    const redis = await startRedis();
    const env = { REDIS_URL: redis.url };
    let b: Awaited<ReturnType<typeof startServer>> | undefined;
    let clients: Awaited<ReturnType<typeof subscribe>>["clients"] = [];
    try {
      // Process A as the runner started it has no REDIS_URL: replace it with one that has.
      await a.stop();
      const pa = await startServer(a.peer, a.port, ctx.bigFile, [], env);
      try {
        b = await startServer(a.peer, await freePort(), ctx.bigFile, [], env);
        ({ clients } = await subscribe(b.port, ctx.smoke ? 200 : 1000, 1));
        await new Promise((r) => setTimeout(r, 500));
        let sent = 0;
        for (let k = 0; k < 5; k++) {
          const delivered = armed(clients, ++sent);
          await publish(pa.url, sent);
          await delivered;
        }
        const times: number[] = [];
        for (let k = 0; k < (ctx.smoke ? 20 : 100); k++) {
          const delivered = armed(clients, ++sent);
          const t0 = performance.now();
          await publish(pa.url, sent);
          await delivered;
          times.push(performance.now() - t0);
        }
        return { p50: median(times), p99: percentile(times, 99) };
      } finally {
        await pa.stop();
      }
    } finally {
      close(clients);
      await b?.stop();
      redis.stop();
    }
  },
};
