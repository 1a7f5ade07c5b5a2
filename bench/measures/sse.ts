/** 3. `/sse?n=1000000`: events/s for one client (curl), server peak RSS. */
import { withCpu } from "../lib/cpu.ts";
import { curlDownload } from "../lib/exec.ts";
import { fmt, type Measure, PEAK_RSS } from "../lib/measure.ts";
import { peakRss, resetPeak } from "../lib/server.ts";
import { sseBytes } from "../lib/wire.ts";

export const N = 1_000_000;

export const sse: Measure = {
  id: "sse",
  title: `3. /sse?n=${N.toLocaleString("en-US")}: events/s, one client`,
  primary: { key: "eventsPerSec", label: "events/s", better: "higher", format: fmt.M },
  secondary: [
    { key: "cpuPerItem", label: "server CPU/item", better: "lower", format: fmt.us },
    { key: "mbPerSec", label: "MB/s", better: "higher", format: fmt.mbs },
    PEAK_RSS,
  ],
  notes:
    "curl into /dev/null; the byte count is checked against the exact SSE body; a 50k-event warm-up first. Server CPU per item: user + system time of the server process over the download, divided by n.",
  async run(server, ctx) {
    const n = ctx.smoke ? 200_000 : N;
    await curlDownload(`${server.url}/sse?n=50000`, 30_000);
    resetPeak(server.pid);
    const [r, cpu] = await withCpu(server.pid, () =>
      curlDownload(`${server.url}/sse?n=${n}`, 60_000),
    );
    const expected = sseBytes(n);
    if (r.status !== 200 || r.bytes !== expected) {
      throw new Error(
        `${server.peer.name} /sse: status ${r.status}, ${r.bytes} bytes, expected ${expected}`,
      );
    }
    return {
      eventsPerSec: n / r.seconds,
      cpuPerItem: (cpu / n) * 1e6,
      mbPerSec: r.bytes / r.seconds,
      peakRss: peakRss(server.pid),
    };
  },
};
