/** 4. `/file` (256 MiB, in the page cache): MB/s for one client (curl), server peak RSS. */
import { withCpu } from "../lib/cpu.ts";
import { curlDownload } from "../lib/exec.ts";
import { fmt, type Measure, PEAK_RSS } from "../lib/measure.ts";
import { peakRss, resetPeak } from "../lib/server.ts";

export const file: Measure = {
  id: "file",
  title: "4. /file (256 MiB): MB/s, one client",
  primary: { key: "mbPerSec", label: "MB/s", better: "higher", format: fmt.mbs },
  secondary: [
    { key: "cpuPerMB", label: "server CPU/MB", better: "lower", format: fmt.us },
    PEAK_RSS,
  ],
  notes:
    "curl into /dev/null, two downloads per round (the better one counts; the first of the run also warms the page cache). Server CPU per MB: user + system time of the server process over a download, divided by its MB (the lower of the two).",
  async run(server, ctx) {
    let best = 0;
    let cpuPerMB = Number.POSITIVE_INFINITY;
    resetPeak(server.pid);
    for (let k = 0; k < 2; k++) {
      const [r, cpu] = await withCpu(server.pid, () => curlDownload(`${server.url}/file`, 60_000));
      if (r.status !== 200 || r.bytes !== ctx.bigSize) {
        throw new Error(
          `${server.peer.name} /file: status ${r.status}, ${r.bytes} bytes, expected ${ctx.bigSize}`,
        );
      }
      best = Math.max(best, r.bytes / r.seconds);
      cpuPerMB = Math.min(cpuPerMB, (cpu / (r.bytes / 1e6)) * 1e6);
    }
    return { mbPerSec: best, cpuPerMB, peakRss: peakRss(server.pid) };
  },
};
