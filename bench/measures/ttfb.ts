/**
 * 6. Time to first item: `/ndjson?n=2&delay=1000`, whose first item is ready at once and whose
 * second is a second away. The time from writing the request on an open connection to the arrival
 * of the first item's bytes, sequential requests, median. A server that holds the first item back
 * (to batch it with the next) shows up here.
 */
import { connect, type Socket } from "node:net";
import { fmt, type Measure } from "../lib/measure.ts";
import { HOST } from "../lib/server.ts";
import { median } from "../lib/stats.ts";

const FIRST = '{"i":0,"sq":0}\n';

function once(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(port, HOST);
    socket.setNoDelay(true);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error("no first item within 5 s"));
    }, 5000);
    let t0 = 0;
    let data = "";
    socket.on("connect", () => {
      t0 = performance.now();
      socket.write(`GET /ndjson?n=2&delay=1000 HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`);
    });
    socket.on("data", (chunk) => {
      data += chunk.toString("latin1");
      const body = data.indexOf("\r\n\r\n");
      if (body >= 0 && data.indexOf(FIRST, body) >= 0) {
        const ms = performance.now() - t0;
        clearTimeout(timer);
        socket.destroy();
        resolve(ms);
      }
    });
    socket.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

export const ttfb: Measure = {
  id: "ttfb",
  title: "6. Time to first item: /ndjson?n=2&delay=1000, 200 sequential requests",
  primary: { key: "median", label: "median", better: "lower", format: fmt.ms },
  secondary: [{ key: "p90", label: "p90", better: "lower", format: fmt.ms }],
  notes:
    "A fresh connection per request; the clock starts when the request is written and stops when the first NDJSON line has arrived; the client then leaves.",
  async run(server, ctx) {
    const count = ctx.smoke ? 40 : 200;
    for (let k = 0; k < 20; k++) await once(server.port); // warm-up
    const times: number[] = [];
    for (let k = 0; k < count; k++) times.push(await once(server.port));
    times.sort((a, b) => a - b);
    return { median: median(times), p90: times[Math.floor(times.length * 0.9)]! };
  },
};
