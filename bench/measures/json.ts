/** 1. `/json`: requests per second and p99 latency under wrk (Debian's wrk 4), 100 connections. */
import { withCpu } from "../lib/cpu.ts";
import { runPinned } from "../lib/exec.ts";
import { fmt, type Measure, PEAK_RSS } from "../lib/measure.ts";
import { peakRss, resetPeak } from "../lib/server.ts";

const CONNECTIONS = 100;

function latencyMs(s: string): number {
  const m = s.match(/^([\d.]+)(us|ms|s)$/);
  if (!m) return Number.NaN;
  const v = Number(m[1]);
  return m[2] === "us" ? v / 1000 : m[2] === "s" ? v * 1000 : v;
}

export const json: Measure = {
  id: "json",
  title: "1. /json: requests/s (wrk, 1 thread, 100 connections)",
  primary: { key: "rps", label: "req/s", better: "higher", format: fmt.int },
  secondary: [
    { key: "cpuPerReq", label: "server CPU/req", better: "lower", format: fmt.us },
    { key: "p99", label: "p99", better: "lower", format: fmt.ms },
    PEAK_RSS,
  ],
  notes: `wrk -t1 -c${CONNECTIONS}, a 1 s warm-up then a timed run per round (5 s; 3 s with --quick, 2 s with --smoke). Server CPU per request: user + system time of the server process (/proc/PID/stat) over the timed run, divided by the requests wrk completed.`,
  async run(server, ctx) {
    const url = `${server.url}/json`;
    const seconds = ctx.smoke ? 2 : ctx.quick ? 3 : 5;
    await runPinned("wrk", ["-t1", `-c${CONNECTIONS}`, "-d1s", url], 10_000);
    resetPeak(server.pid);
    const [out, cpu] = await withCpu(server.pid, () =>
      runPinned(
        "wrk",
        ["-t1", `-c${CONNECTIONS}`, `-d${seconds}s`, "--latency", url],
        (seconds + 10) * 1000,
      ),
    );
    const rps = Number(out.match(/Requests\/sec:\s+([\d.]+)/)?.[1]);
    const requests = Number(out.match(/(\d+) requests in/)?.[1]);
    const p99 = latencyMs(out.match(/^\s+99%\s+(\S+)/m)?.[1] ?? "");
    if (/Non-2xx|Socket errors/.test(out))
      throw new Error(`wrk saw errors on ${server.peer.name}:\n${out}`);
    return { rps, cpuPerReq: (cpu / requests) * 1e6, p99, peakRss: peakRss(server.pid) };
  },
};
