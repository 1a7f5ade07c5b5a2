/**
 * 5. Slow client: `/infinite` (an endless stream of 64 KiB chunks) read at 1 MB/s for 10 s; the
 * server's RSS sampled each second. Growth = highest sample minus the RSS before the request:
 * what a server buffers for a client that cannot keep up.
 */
import { connect } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { fmt, type Measure } from "../lib/measure.ts";
import { HOST, rss } from "../lib/server.ts";
import { MiB } from "../lib/stats.ts";

const RATE = 1e6; // bytes per second

export const slow: Measure = {
  id: "slow",
  title: "5. Slow client: /infinite read at 1 MB/s for 10 s, server RSS growth",
  primary: { key: "growth", label: "RSS growth", better: "lower", format: fmt.mib },
  secondary: [
    { key: "read", label: "read", better: "higher", format: (v) => `${(v / 1e6).toFixed(1)} MB` },
  ],
  notes:
    "A raw socket paused and resumed so that it reads at most 1 MB per elapsed second; the kernel's socket buffers sit in between, the same for every server.",
  details(last) {
    const rows = [...last].map(([peer, r]) => {
      const samples = Object.keys(r)
        .filter((k) => k.startsWith("s"))
        .map((k) => (r[k]! / MiB).toFixed(0));
      return `| ${peer} | ${samples.join(" | ")} |`;
    });
    const n = Math.max(
      ...[...last.values()].map((r) => Object.keys(r).filter((k) => k.startsWith("s")).length),
    );
    return [
      "RSS each second in MiB, last round (t=0 is before the request):",
      "",
      `| server | ${Array.from({ length: n }, (_, i) => `${i}s`).join(" | ")} |`,
      `|---|${"---|".repeat(n)}`,
      ...rows,
    ].join("\n");
  },
  async run(server, ctx) {
    const seconds = ctx.smoke ? 3 : 10;
    const base = rss(server.pid);
    const samples: number[] = [base];
    const socket = connect(server.port, HOST);
    socket.setNoDelay(true);
    let read = 0;
    const started = performance.now();
    socket.on("data", (chunk: Buffer) => {
      read += chunk.length;
      const allowed = ((performance.now() - started) / 1000) * RATE;
      if (read > allowed) {
        socket.pause();
        setTimeout(() => socket.resume(), ((read - allowed) / RATE) * 1000).unref();
      }
    });
    socket.on("error", () => {});
    socket.write(`GET /infinite HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`);
    try {
      for (let s = 1; s <= seconds; s++) {
        await sleep(started + s * 1000 - performance.now());
        samples.push(rss(server.pid));
      }
    } finally {
      socket.destroy();
    }
    const out: Record<string, number> = { growth: Math.max(...samples) - base, read };
    samples.forEach((v, i) => {
      out[`s${i}`] = v;
    });
    return out;
  },
};
