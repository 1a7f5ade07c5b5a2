/**
 * The encoding ceiling: how fast one core can turn these items into wire bytes with no server at
 * all. `JSON.stringify` of each `{i, sq}` (plus "\n", or inside an SSE frame) appended to a batch
 * that becomes one Buffer every 64 KiB. Runs in a child process pinned to the server CPU; best of
 * three runs of 1,000,000 items.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { SERVER_CPU } from "../lib/server.ts";

const BATCH = 64 * 1024;

function encode(n: number, frame: (i: number) => string): number {
  let batch = "";
  let buffers = 0;
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
  if (buffers === 0) throw new Error("nothing encoded");
  return n / seconds;
}

/**
 * The same, with the items pulled from an async generator, as the contract app's producers (and a
 * database cursor) hand them out: the ceiling for any server whose source is an async iterable.
 */
async function encodeAsync(n: number, frame: (i: number) => string): Promise<number> {
  async function* items() {
    for (let i = 0; i < n; i++) yield i;
  }
  let batch = "";
  let buffers = 0;
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
  if (buffers === 0) throw new Error("nothing encoded");
  return n / seconds;
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
  const best = (frame: (i: number) => string) => Math.max(...[0, 1, 2].map(() => encode(n, frame)));
  encode(100_000, ndjsonFrame); // warm-up
  encode(100_000, sseFrame);
  const bestAsync = async (frame: (i: number) => string) =>
    Math.max(await encodeAsync(n, frame), await encodeAsync(n, frame), await encodeAsync(n, frame));
  await encodeAsync(100_000, ndjsonFrame); // warm-up
  process.stdout.write(
    JSON.stringify({
      ndjson: best(ndjsonFrame),
      sse: best(sseFrame),
      ndjsonAsync: await bestAsync(ndjsonFrame),
      sseAsync: await bestAsync(sseFrame),
    }),
  );
}
