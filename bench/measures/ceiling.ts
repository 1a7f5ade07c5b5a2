/**
 * The encoding ceiling: how fast one core can turn these items into wire bytes with no server at
 * all. `JSON.stringify` of each `{i, sq}` (plus "\n", or inside an SSE frame) appended to a batch
 * that becomes one Buffer every 64 KiB. Runs in a child process pinned to the server CPU; best of
 * three runs of 1,000,000 items. Each rate is also given per second of CPU (`process.cpuUsage`
 * around the run): on a shared machine that one stays put while the wall-clock rate swings.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { SERVER_CPU } from "../lib/server.ts";

const BATCH = 64 * 1024;

/** Items per second of wall-clock time, and per second of this process's CPU time. */
type Rate = [wall: number, cpu: number];

function cpuNow(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

function encode(n: number, frame: (i: number) => string): Rate {
  let batch = "";
  let buffers = 0;
  const c0 = cpuNow();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    batch += frame(i);
    if (batch.length >= BATCH) {
      buffers += Buffer.from(batch).length;
      batch = "";
    }
  }
  buffers += Buffer.from(batch).length;
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuNow() - c0;
  if (buffers === 0) throw new Error("nothing encoded");
  return [n / seconds, n / cpu];
}

/**
 * The same, with the items pulled from an async generator, as the contract app's producers (and a
 * database cursor) hand them out: the ceiling for any server whose source is an async iterable.
 */
async function encodeAsync(n: number, frame: (i: number) => string): Promise<Rate> {
  async function* items() {
    for (let i = 0; i < n; i++) yield i;
  }
  let batch = "";
  let buffers = 0;
  const c0 = cpuNow();
  const t0 = performance.now();
  for await (const i of items()) {
    batch += frame(i);
    if (batch.length >= BATCH) {
      buffers += Buffer.from(batch).length;
      batch = "";
    }
  }
  buffers += Buffer.from(batch).length;
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuNow() - c0;
  if (buffers === 0) throw new Error("nothing encoded");
  return [n / seconds, n / cpu];
}

/**
 * Sluice's own writer with no I/O: the contract app's producers (an async generator of `{i, sq}`,
 * and of `sse({id, event, data})` for SSE) through `runStream` into a sink that turns each batch
 * into bytes and drops it. Beside the ceiling, in the same process, it shows what the writer adds
 * to the encoding itself; what a server adds beyond it is I/O.
 */
async function writer(n: number, kind: "ndjson" | "sse"): Promise<Rate> {
  const { emptyStats } = await import("../../src/core/port.ts");
  const { FetchRequest } = await import("../../src/engine/fetch/request.ts");
  const { runStream } = await import("../../src/engine/pump.ts");
  const { NDJSONResponse, SSEResponse, sse, TextResponse } = await import("../../src/index.ts");
  const response =
    kind === "ndjson"
      ? new NDJSONResponse(
          (async function* () {
            for (let i = 0; i < n; i++) yield { i, sq: i * i };
          })(),
        )
      : new SSEResponse(
          (async function* () {
            for (let i = 0; i < n; i++) yield sse({ id: i, event: "tick", data: { i, sq: i * i } });
          })(),
        );
  const request = new FetchRequest(new Request("http://localhost/"));
  let bytes = 0;
  const c0 = cpuNow();
  const t0 = performance.now();
  await runStream({
    app: {
      handle: () => Promise.reject(new Error("unused")),
      errorResponse: () => new TextResponse("error"),
      report: (error) => {
        throw error;
      },
      stats: emptyStats(),
    },
    request,
    response,
    body: response.body() as never,
    head: false,
    signal: request.signal,
    sink: {
      write(chunk) {
        bytes += Buffer.from(chunk).length;
        return true;
      },
      drained: () => Promise.resolve(),
      ready: () => true,
      defer: (fn, arg) => setImmediate(fn, arg),
    },
    sendHead() {},
    finish() {},
    truncate() {},
    replace() {},
  });
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuNow() - c0;
  if (bytes === 0) throw new Error("nothing written");
  return [n / seconds, n / cpu];
}

const ndjsonFrame = (i: number) => JSON.stringify({ i, sq: i * i }) + "\n";
const sseFrame = (i: number) =>
  `event: tick\nid: ${i}\ndata: ${JSON.stringify({ i, sq: i * i })}\n\n`;

export interface Ceiling {
  ndjson: number;
  sse: number;
  /** The same with an async generator as the source. */
  ndjsonAsync: number;
  sseAsync: number;
  /** Items per second of CPU time (best of three), for comparison with a server's CPU per item. */
  cpu: { ndjson: number; sse: number; ndjsonAsync: number; sseAsync: number };
  /** Sluice's writer with no I/O (see `writer`), items per second of wall time and of CPU. */
  writer: { ndjson: number; sse: number; cpu: { ndjson: number; sse: number } };
}

/** Measures the ceiling in a child process on the server CPU. */
export function measureCeiling(n = 1_000_000): Promise<Ceiling> {
  return new Promise((resolve, reject) => {
    execFile(
      "taskset",
      ["-c", SERVER_CPU, process.execPath, fileURLToPath(import.meta.url), String(n)],
      { timeout: 60_000 },
      (err, stdout) => (err ? reject(err) : resolve(JSON.parse(stdout) as Ceiling)),
    );
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const n = Number(process.argv[2] ?? 1_000_000);
  const best = (runs: Rate[]): Rate => [
    Math.max(...runs.map((r) => r[0])),
    Math.max(...runs.map((r) => r[1])),
  ];
  encode(100_000, ndjsonFrame); // warm-up
  encode(100_000, sseFrame);
  const ndjson = best([0, 1, 2].map(() => encode(n, ndjsonFrame)));
  const sse = best([0, 1, 2].map(() => encode(n, sseFrame)));
  await encodeAsync(100_000, ndjsonFrame); // warm-up
  // The ceiling and the writer take turns, so that a busy machine weighs on both alike.
  const ndRuns: Rate[] = [];
  const sseRuns: Rate[] = [];
  const ndWriter: Rate[] = [];
  const sseWriter: Rate[] = [];
  await writer(100_000, "ndjson"); // warm-up
  await writer(100_000, "sse");
  for (let k = 0; k < 3; k++) {
    ndRuns.push(await encodeAsync(n, ndjsonFrame));
    ndWriter.push(await writer(n, "ndjson"));
    sseRuns.push(await encodeAsync(n, sseFrame));
    sseWriter.push(await writer(n, "sse"));
  }
  const ndjsonAsync = best(ndRuns);
  const sseAsync = best(sseRuns);
  const nw = best(ndWriter);
  const sw = best(sseWriter);
  const ceiling: Ceiling = {
    ndjson: ndjson[0],
    sse: sse[0],
    ndjsonAsync: ndjsonAsync[0],
    sseAsync: sseAsync[0],
    cpu: { ndjson: ndjson[1], sse: sse[1], ndjsonAsync: ndjsonAsync[1], sseAsync: sseAsync[1] },
    writer: { ndjson: nw[0], sse: sw[0], cpu: { ndjson: nw[1], sse: sw[1] } },
  };
  process.stdout.write(JSON.stringify(ceiling));
}
