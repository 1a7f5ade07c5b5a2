/** 4. `/file` (256 MiB, in the page cache): MB/s for one client (curl), server peak RSS. */
import { curlDownload } from "../lib/exec.ts";
import { fmt, type Measure, PEAK_RSS } from "../lib/measure.ts";
import { peakRss, resetPeak } from "../lib/server.ts";

export const file: Measure = {
  id: "file",
  title: "4. /file (256 MiB): MB/s, one client",
  primary: { key: "mbPerSec", label: "MB/s", better: "higher", format: fmt.mbs },
  secondary: [PEAK_RSS],
  notes:
    "curl into /dev/null, two downloads per round (the better one counts; the first of the run also warms the page cache).",
  async run(server, ctx) {
    let best = 0;
    resetPeak(server.pid);
    for (let k = 0; k < 2; k++) {
      const r = await curlDownload(`${server.url}/file`, 60_000);
      if (r.status !== 200 || r.bytes !== ctx.bigSize) {
        throw new Error(
          `${server.peer.name} /file: status ${r.status}, ${r.bytes} bytes, expected ${ctx.bigSize}`,
        );
      }
      best = Math.max(best, r.bytes / r.seconds);
    }
    return { mbPerSec: best, peakRss: peakRss(server.pid) };
  },
};
