/** 2. `/ndjson?n=1000000`: items/s and MB/s for one client (curl), server peak RSS. */
import { withCpu } from "../lib/cpu.ts";
import { curlDownload } from "../lib/exec.ts";
import { fmt, type Measure, PEAK_RSS } from "../lib/measure.ts";
import { peakRss, resetPeak } from "../lib/server.ts";
import { ndjsonBytes } from "../lib/wire.ts";

export const N = 1_000_000;

export const ndjson: Measure = {
  id: "ndjson",
  title: `2. /ndjson?n=${N.toLocaleString("en-US")}: items/s, one client`,
  primary: { key: "itemsPerSec", label: "items/s", better: "higher", format: fmt.M },
  secondary: [
    { key: "cpuPerItem", label: "server CPU/item", better: "lower", format: fmt.us },
    { key: "mbPerSec", label: "MB/s", better: "higher", format: fmt.mbs },
    PEAK_RSS,
  ],
  notes:
    "curl into /dev/null; the byte count is checked against the exact NDJSON body; a 50k-item warm-up first. Server CPU per item: user + system time of the server process over the download, divided by n.",
  async run(server, ctx) {
    const n = ctx.smoke ? 200_000 : N;
    await curlDownload(`${server.url}/ndjson?n=50000`, 30_000);
    resetPeak(server.pid);
    const [r, cpu] = await withCpu(server.pid, () =>
      curlDownload(`${server.url}/ndjson?n=${n}`, 60_000),
    );
    const expected = ndjsonBytes(n);
    if (r.status !== 200 || r.bytes !== expected) {
      throw new Error(
        `${server.peer.name} /ndjson: status ${r.status}, ${r.bytes} bytes, expected ${expected}`,
      );
    }
    return {
      itemsPerSec: n / r.seconds,
      cpuPerItem: (cpu / n) * 1e6,
      mbPerSec: r.bytes / r.seconds,
      peakRss: peakRss(server.pid),
    };
  },
};
