/**
 * `npm run bench:h2`: HTTP/2 in one interleaved run, on cleartext h2 (h2c, prior knowledge):
 * Sluice (`serve(app, { h2c: true })`, the contract app), Fastify 5 with `http2: true`, and raw
 * `node:http2` (its core `stream` API). Each measurement starts a fresh server pinned to CPU 0;
 * the load runs on CPU 1; round k starts with the k-th server.
 *
 * 1. `/json` under h2load (`-c 50 -m 10`: 50 connections, 10 streams each): requests/s, and the
 *    server's CPU time per request: utime + stime from /proc/PID/stat around the timed run (a
 *    warm-up run first), divided by the requests. On a shared machine throughput swings with the
 *    neighbours; CPU per request much less, so it is the figure to compare.
 * 2. `/ndjson?n=N` over h2 with curl (`--http2-prior-knowledge`, into /dev/null, bytes checked):
 *    items/s and CPU per item.
 *
 * Needs h2load (Debian `nghttp2-client`), curl and taskset. Options: --smoke, --rounds N.
 */
import { execFileSync, execSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { runPinned } from "./lib/exec.ts";
import { CLIENT_CPU, killAll, type Peer, type RunningServer, startServer } from "./lib/server.ts";
import { max, median, min } from "./lib/stats.ts";
import { ndjsonBytes } from "./lib/wire.ts";

const dir = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const log = (s: string) => process.stderr.write(`${s}\n`);

const { values: opts } = parseArgs({
  options: { smoke: { type: "boolean", default: false }, rounds: { type: "string" } },
});

const PEERS: Peer[] = [
  { name: "sluice", file: dir("./servers/h2-sluice.ts") },
  { name: "node:http2", file: dir("./servers/h2-raw.ts") },
  { name: "fastify", file: dir("./servers/h2-fastify.ts") },
];
const BASELINE = "node:http2";
const PORT = 3310;
const rounds = Number(opts.rounds ?? (opts.smoke ? 1 : 5));
const REQUESTS = opts.smoke ? 30_000 : 200_000;
const WARMUP = opts.smoke ? 5_000 : 20_000;
const ITEMS = opts.smoke ? 200_000 : 1_000_000;

if (Number(process.versions.node.split(".")[0]) < 24) {
  throw new Error(`node ${process.version}: run through npm (npm run bench:h2)`);
}
if (!existsSync(dir("./node_modules/fastify"))) {
  log("installing bench dependencies (npm --prefix bench ci)…");
  execSync(`npm --prefix "${dir(".")}" ci --no-audit --no-fund`, { stdio: "inherit" });
}
for (const [cmd, pkg] of [
  ["h2load", "nghttp2-client"],
  ["curl", "curl"],
  ["taskset", "util-linux"],
] as const) {
  try {
    execSync(`command -v ${cmd}`, { stdio: "ignore" });
  } catch {
    throw new Error(`${cmd} is required (apt-get install -y ${pkg})`);
  }
}
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    killAll();
    process.exit(130);
  });
}
process.on("exit", killAll);
execFileSync("taskset", ["-a", "-pc", CLIENT_CPU, String(process.pid)], { stdio: "ignore" });

const TICK = Number(execSync("getconf CLK_TCK").toString().trim()) || 100;

/** The process's CPU time so far (all threads, user + system), in seconds. */
function cpuSeconds(pid: number): number {
  // Fields after the command name (which may hold spaces, so cut after its closing parenthesis):
  // utime is the 14th field of the line, stime the 15th (proc(5)).
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / TICK;
}

function h2load(url: string, n: number): Promise<string> {
  return runPinned("h2load", ["-t1", "-c50", "-m10", `-n${n}`, url], 300_000);
}

interface Figures {
  rps: number;
  usPerReq: number;
  itemsPerSec: number;
  usPerItem: number;
}

async function measureJson(server: RunningServer): Promise<Pick<Figures, "rps" | "usPerReq">> {
  const url = `${server.url}/json`;
  await h2load(url, WARMUP);
  const before = cpuSeconds(server.pid);
  const out = await h2load(url, REQUESTS);
  const cpu = cpuSeconds(server.pid) - before;
  const done = Number(
    out.match(/requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded/)?.[2],
  );
  if (done !== REQUESTS) throw new Error(`${server.peer.name}: h2load:\n${out}`);
  const rps = Number(out.match(/finished in [\d.]+\w+, ([\d.]+) req\/s/)?.[1]);
  return { rps, usPerReq: (cpu / REQUESTS) * 1e6 };
}

async function measureNdjson(
  server: RunningServer,
): Promise<Pick<Figures, "itemsPerSec" | "usPerItem">> {
  const curl = (n: number) =>
    runPinned(
      "curl",
      [
        "-s",
        "--http2-prior-knowledge",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code} %{size_download} %{time_total} %{http_version}",
        `${server.url}/ndjson?n=${n}`,
      ],
      120_000,
    );
  await curl(50_000);
  const before = cpuSeconds(server.pid);
  const [status, bytes, seconds, version] = (await curl(ITEMS)).trim().split(" ");
  const cpu = cpuSeconds(server.pid) - before;
  if (status !== "200" || Number(bytes) !== ndjsonBytes(ITEMS) || version !== "2") {
    throw new Error(
      `${server.peer.name} /ndjson: status ${status}, ${bytes} bytes (expected ${ndjsonBytes(ITEMS)}), HTTP/${version}`,
    );
  }
  return { itemsPerSec: ITEMS / Number(seconds), usPerItem: (cpu / ITEMS) * 1e6 };
}

const results = new Map<string, Figures[]>(PEERS.map((p) => [p.name, []]));
const errors: string[] = [];
const started = performance.now();
const load0 = os.loadavg();
for (let r = 0; r < rounds; r++) {
  const order = PEERS.map((_, k) => PEERS[(k + r) % PEERS.length]!);
  for (const peer of order) {
    let server: RunningServer | undefined;
    try {
      server = await startServer(peer, PORT, "");
      const json = await measureJson(server);
      const nd = await measureNdjson(server);
      results.get(peer.name)!.push({ ...json, ...nd });
      log(
        `round ${r + 1} ${peer.name}: ${Math.round(json.rps)} req/s, ${json.usPerReq.toFixed(2)} µs CPU/req; ${(nd.itemsPerSec / 1e6).toFixed(2)}M items/s, ${nd.usPerItem.toFixed(3)} µs CPU/item`,
      );
    } catch (err) {
      errors.push(`- round ${r + 1}, ${peer.name}: ${(err as Error).message.split("\n")[0]}`);
      log(`round ${r + 1} ${peer.name}: FAILED ${(err as Error).message}`);
    } finally {
      await server?.stop();
    }
  }
}

const col = (name: string, key: keyof Figures) => (results.get(name) ?? []).map((f) => f[key]);
const med = (name: string, key: keyof Figures) => median(col(name, key));
const range = (name: string, key: keyof Figures, digits: number) =>
  `${min(col(name, key)).toFixed(digits)}–${max(col(name, key)).toFixed(digits)}`;
const delta = (name: string, key: keyof Figures, digits: number) => {
  const d = med(name, key) - med(BASELINE, key);
  return name === BASELINE ? "–" : `${d >= 0 ? "+" : ""}${d.toFixed(digits)}`;
};

const version = (pkg: string) =>
  JSON.parse(readFileSync(dir(`./node_modules/${pkg}/package.json`), "utf8")).version;
const h2loadVersion = execSync("h2load --version").toString().trim().split("\n")[0];
const cpu =
  readFileSync("/proc/cpuinfo", "utf8").match(/^model name\s*:\s*(.*)$/m)?.[1] ?? "unknown";
const load1 = os.loadavg();
const lines = [
  `# Sluice bench: HTTP/2 (h2c)${opts.smoke ? " (SMOKE RUN: short, not for comparison)" : ""}`,
  "",
  `${new Date().toISOString()} · ${os.cpus().length} CPUs (${cpu}) · node ${process.version} · ${rounds} round(s), servers interleaved · server on CPU 0, load on CPU 1 · ${((performance.now() - started) / 60_000).toFixed(1)} min · load average ${load0[0]!.toFixed(2)} at start, ${load1[0]!.toFixed(2)} at end`,
  "",
  `Peers: fastify ${version("fastify")} (\`http2: true\`, its compatibility API underneath), raw node:http2 (core \`stream\` API). Load: ${h2loadVersion}; curl.`,
  "",
  `## /json: ${REQUESTS.toLocaleString("en-US")} requests, h2load -t1 -c50 -m10`,
  "",
  "| server | req/s (median) | min–max | CPU µs/request (median) | min–max | Δ CPU vs node:http2 |",
  "|---|---|---|---|---|---|",
  ...PEERS.map(
    (p) =>
      `| ${p.name === "sluice" ? "**sluice**" : p.name} | ${Math.round(med(p.name, "rps")).toLocaleString("en-US")} | ${range(p.name, "rps", 0)} | ${med(p.name, "usPerReq").toFixed(2)} | ${range(p.name, "usPerReq", 2)} | ${delta(p.name, "usPerReq", 2)} µs |`,
  ),
  "",
  `## /ndjson?n=${ITEMS.toLocaleString("en-US")} over h2: one client (curl)`,
  "",
  "| server | items/s (median) | min–max | CPU µs/item (median) | min–max | Δ CPU vs node:http2 |",
  "|---|---|---|---|---|---|",
  ...PEERS.map(
    (p) =>
      `| ${p.name === "sluice" ? "**sluice**" : p.name} | ${(med(p.name, "itemsPerSec") / 1e6).toFixed(2)}M | ${(min(col(p.name, "itemsPerSec")) / 1e6).toFixed(2)}–${(max(col(p.name, "itemsPerSec")) / 1e6).toFixed(2)}M | ${med(p.name, "usPerItem").toFixed(3)} | ${range(p.name, "usPerItem", 3)} | ${delta(p.name, "usPerItem", 3)} µs |`,
  ),
  "",
  `CPU time: utime + stime of the server process (all threads) from /proc/PID/stat around the timed run, at ${TICK} ticks/s. Target (issue 13): Sluice's CPU per request within 0.7 µs of raw node:http2.`,
  "",
];
if (errors.length) lines.push("## Errors", "", ...errors, "");
const report = lines.join("\n");
process.stdout.write(report);
mkdirSync(dir("./results"), { recursive: true });
const name = opts.smoke ? "h2-smoke" : opts.rounds ? "h2-partial" : "h2-latest";
writeFileSync(dir(`./results/${name}.md`), report);
log(`\nwritten to bench/results/${name}.md`);
process.exit(errors.length ? 1 : 0);
