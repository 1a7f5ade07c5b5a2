/**
 * What Sluice adds to node:http per request, without node:http: the request listener of `serve()`
 * is called with stand-ins for IncomingMessage and ServerResponse that do nothing, and compared
 * with the raw node:http server of the bench (servers/raw.ts: `new URL`, a switch on the path,
 * `JSON.stringify`, `writeHead`, `end`) on the same stand-ins. Both
 * run in this process, alternately, so the figures compare within one run:
 *
 * - CPU per request (process.cpuUsage over the loop),
 * - bytes allocated per request (heap growth over a loop short enough that no GC runs; checked),
 *   where the response's own bytes are the floor.
 *
 * Usage: node --expose-gc --min-semi-space-size=64 --max-semi-space-size=64 bench/overhead.ts [PATH] [N]
 * (default /json, 20000)
 * It serves the contract app, like the bench (MINIMAL=1: an app with only the `/json` route).
 */
import { EventEmitter } from "node:events";
import type { IncomingMessage, ServerResponse } from "node:http";
import { PerformanceObserver } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { createContractApp } from "../examples/contract/app.ts";
import { App } from "../src/index.ts";
import { serve } from "../src/node/index.ts";

const path = process.argv[2] ?? "/json";
const n = Number(process.argv[3] ?? 20_000);

class FakeSocket extends EventEmitter {
  remoteAddress = "127.0.0.1";
  destroyed = false;
  destroySoon(): void {}
}

class FakeRequest extends EventEmitter {
  method = "GET";
  url = path;
  httpVersion = "1.1";
  headers: Record<string, string> = { host: "127.0.0.1", accept: "*/*" };
  socket: FakeSocket;
  constructor(socket: FakeSocket) {
    super();
    this.socket = socket;
  }
}

class FakeResponse extends EventEmitter {
  headersSent = false;
  destroyed = false;
  writableFinished = false;
  writableNeedDrain = false;
  shouldKeepAlive = true;
  bytes = 0;
  done: () => void = () => {};
  setHeader(): this {
    return this;
  }
  hasHeader(): boolean {
    return false;
  }
  getHeader(): undefined {
    return undefined;
  }
  writeHead(): this {
    this.headersSent = true;
    return this;
  }
  write(chunk: string | Uint8Array): boolean {
    this.bytes += chunk.length;
    return true;
  }
  end(chunk?: string | Uint8Array): this {
    if (chunk !== undefined) this.bytes += chunk.length;
    this.writableFinished = true;
    this.emit("finish");
    this.emit("close");
    this.done();
    return this;
  }
}

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

const JSON_BODY = { hello: "world" };
// As bench/servers/raw.ts answers /json: the URL parsed, a switch on the path, the body stringified.
const plain: Listener = (req, res) => {
  const url = new URL(req.url ?? "/", "http://x");
  if (url.pathname !== "/json") throw new Error(`the plain handler answers /json only`);
  const body = JSON.stringify(JSON_BODY);
  res.writeHead(200, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
  });
  res.end(body);
};

const staticDir = fileURLToPath(new URL("../examples/contract/public", import.meta.url));
// MINIMAL=1: an app with the one route only (no scoped middleware, templates, mounts), to tell
// the cost of the contract app's configuration from the framework's own.
const app = process.env.MINIMAL
  ? new App().get("/json", () => ({ hello: "world" }))
  : createContractApp({ staticDir, bigFile: fileURLToPath(import.meta.url) });
app.onError(() => {});
const server = await serve(app, { port: 0 });
const sluice = server.server.listeners("request")[0] as Listener;

let gcs = 0;
new PerformanceObserver((list) => {
  gcs += list.getEntries().length;
}).observe({ entryTypes: ["gc"] });

const socket = new FakeSocket();
async function loop(listener: Listener, count: number): Promise<{ cpuNs: number; bytes: number }> {
  const sent = { bytes: 0 };
  const c0 = process.cpuUsage();
  for (let i = 0; i < count; i++) {
    const req = new FakeRequest(socket);
    const res = new FakeResponse();
    const finished = new Promise<void>((resolve) => {
      res.done = resolve;
    });
    listener(req as unknown as IncomingMessage, res as unknown as ServerResponse);
    await finished;
    sent.bytes += res.bytes;
  }
  const c = process.cpuUsage(c0);
  return { cpuNs: ((c.user + c.system) * 1000) / count, bytes: sent.bytes / count };
}

/** Bytes allocated per request: heap growth over a loop during which no GC ran (retried). */
async function allocated(listener: Listener, count: number): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    (globalThis as { gc?: () => void }).gc?.();
    // GC entries reach the observer a little later: let those of the gc() above arrive first.
    await new Promise((r) => setTimeout(r, 20));
    const before = gcs;
    const h0 = process.memoryUsage().heapUsed;
    await loop(listener, count);
    const h1 = process.memoryUsage().heapUsed;
    await new Promise((r) => setTimeout(r, 20));
    if (gcs === before && h1 > h0) return (h1 - h0) / count;
  }
  return Number.NaN;
}

// Warm-up: both paths optimised before anything counts.
await loop(sluice, n);
await loop(plain, n);

if (process.env.ALLOC_PROFILE) {
  // Where Sluice's bytes are allocated: a sampling heap profile that keeps collected objects too.
  const { Session } = await import("node:inspector/promises");
  const session = new Session();
  session.connect();
  await session.post("HeapProfiler.startSampling", {
    samplingInterval: 64,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  await loop(sluice, n);
  const { profile } = await session.post("HeapProfiler.stopSampling");
  type Frame = {
    callFrame: { functionName: string; url: string; lineNumber: number };
    selfSize: number;
    children: Frame[];
  };
  const self = new Map<string, number>();
  const walk = (f: Frame, parent: string) => {
    const { functionName, url, lineNumber } = f.callFrame;
    const here = `${functionName || "(anonymous)"} ${url.replace(/^.*\/(node_modules|src|bench|examples)\//, "$1/")}:${lineNumber + 1}`;
    const key = url === "" ? `${here} ← ${parent}` : here;
    self.set(key, (self.get(key) ?? 0) + f.selfSize);
    for (const c of f.children) walk(c, here);
  };
  walk(profile.head as Frame, "");
  console.log(`allocated per request, by function (sampled, ${n} requests):`);
  for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 30))
    console.log(`${(v / n).toFixed(0).padStart(6)} B  ${k}`);
}
const rows: { name: string; cpu: number[]; alloc: number[]; body: number }[] = [
  { name: "sluice", cpu: [], alloc: [], body: 0 },
  { name: "node:http handler", cpu: [], alloc: [], body: 0 },
];
for (let round = 0; round < 5; round++) {
  for (const [k, listener] of [sluice, plain].entries()) {
    const r = await loop(listener, n);
    rows[k]!.cpu.push(r.cpuNs);
    rows[k]!.body = r.bytes;
    rows[k]!.alloc.push(await allocated(listener, 2000));
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
console.log(
  `GET ${path}, ${n} requests per round, 5 rounds alternating, medians (stand-ins for the socket side)`,
);
for (const r of rows) {
  console.log(
    `${r.name.padEnd(18)} CPU ${(median(r.cpu) / 1000).toFixed(2)} µs/req   allocated ${Math.round(median(r.alloc))} B/req   body ${r.body} B`,
  );
}
console.log(
  `sluice adds        CPU ${((median(rows[0]!.cpu) - median(rows[1]!.cpu)) / 1000).toFixed(2)} µs/req   allocated ${Math.round(median(rows[0]!.alloc) - median(rows[1]!.alloc))} B/req`,
);
await server.close();
