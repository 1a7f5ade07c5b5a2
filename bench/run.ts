/**
 * `npm run bench`: Sluice against its peers, in one run. Installs bench deps and wrk if missing,
 * creates the 256 MiB file, checks every server's bytes, then runs each measure over all servers
 * interleaved (round 1: A B C…, round 2: B C … A, …), one fresh server per measurement pinned to
 * CPU 0, load on CPU 1, and prints a markdown table per measure (also to results/latest.md).
 *
 * Options: --quick (the issue's rows: /json, /ndjson, /sse, /file against node:http and Fastify, one
 * round, under two minutes, with server CPU per request/item), --smoke (short runs, 1 round),
 * --rounds N, --only id,id, --peers name,name.
 */
import { execFileSync, execSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  closeSync,
  createReadStream,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { Context, Measure } from "./lib/measure.ts";
import { type Results, renderQuick, renderTable, renderTargets } from "./lib/report.ts";
import {
  CLIENT_CPU,
  freePort,
  killAll,
  PEERS,
  type RunningServer,
  startServer,
} from "./lib/server.ts";
import { measureCeiling } from "./measures/ceiling.ts";
import { check, reference } from "./measures/check.ts";
import { fanout } from "./measures/fanout.ts";
import { fanoutRedis } from "./measures/fanout-redis.ts";
import { file } from "./measures/file.ts";
import { idle } from "./measures/idle.ts";
import { json } from "./measures/json.ts";
import { ndjson } from "./measures/ndjson.ts";
import { slow } from "./measures/slow.ts";
import { sse } from "./measures/sse.ts";
import { ttfb } from "./measures/ttfb.ts";

const dir = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const log = (s: string) => process.stderr.write(`${s}\n`);

const { values: opts } = parseArgs({
  options: {
    smoke: { type: "boolean", default: false },
    quick: { type: "boolean", default: false },
    rounds: { type: "string" },
    only: { type: "string" },
    peers: { type: "string" },
  },
});

// --- setup: deps, tools, CPU pinning, the big file -------------------------------------------

if (Number(process.versions.node.split(".")[0]) < 24) {
  throw new Error(
    `node ${process.version}: run through npm (npm run bench), which uses the project's Node 24`,
  );
}
if (!existsSync(dir("./node_modules/fastify"))) {
  log("installing bench dependencies (npm --prefix bench ci)…");
  execSync(`npm --prefix "${dir(".")}" ci --no-audit --no-fund`, { stdio: "inherit" });
}
const has = (cmd: string) => {
  try {
    execSync(`command -v ${cmd}`, { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
};
if (!has("wrk") && process.getuid?.() === 0) {
  log("installing wrk (apt-get)…");
  execSync("apt-get update -qq && apt-get install -y -qq wrk", { stdio: "inherit" });
}
if (!has("redis-server") && process.getuid?.() === 0) {
  log("installing redis-server (apt-get)…");
  execSync("apt-get update -qq && apt-get install -y -qq redis-server", { stdio: "inherit" });
}
for (const cmd of ["wrk", "curl", "taskset", "redis-server"])
  if (!has(cmd))
    throw new Error(
      `${cmd} is required (apt-get install -y ${cmd === "taskset" ? "util-linux" : cmd})`,
    );

for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    killAll();
    process.exit(130);
  });
}
process.on("exit", killAll);

// The runner and the clients it starts run on the client CPU; servers move themselves to CPU 0.
execFileSync("taskset", ["-a", "-pc", CLIENT_CPU, String(process.pid)], { stdio: "ignore" });

const BIG = dir("./.data/big-256m.bin");
const BIG_SIZE = 256 * 1024 * 1024;
if (!existsSync(BIG) || statSync(BIG).size !== BIG_SIZE) {
  log(`creating ${BIG}…`);
  mkdirSync(dir("./.data"), { recursive: true });
  const block = Buffer.alloc(1 << 20);
  for (let i = 0; i < block.length; i++) block[i] = (i * 2654435761) >>> 24;
  const fd = openSync(BIG, "w");
  for (let k = 0; k < BIG_SIZE / block.length; k++) writeSync(fd, block);
  closeSync(fd);
}
const fileSha = await new Promise<string>((resolve, reject) => {
  const h = createHash("sha256");
  createReadStream(BIG)
    .on("data", (d) => h.update(d))
    .on("end", () => resolve(h.digest("hex")))
    .on("error", reject);
});

// --- plan -----------------------------------------------------------------------------------------

const ALL: Measure[] = [json, ndjson, sse, file, slow, ttfb, idle, fanout, fanoutRedis];
const QUICK_MEASURES = ["json", "ndjson", "sse", "file"];
const QUICK_PEERS = ["sluice", "node:http", "fastify"];
const only = opts.only?.split(",") ?? (opts.quick ? QUICK_MEASURES : undefined);
const measures = only ? ALL.filter((m) => only.includes(m.id)) : ALL;
const peerNames = opts.peers?.split(",") ?? (opts.quick ? QUICK_PEERS : undefined);
const peers = peerNames ? PEERS.filter((p) => peerNames.includes(p.name)) : PEERS;
const rounds = Number(opts.rounds ?? (opts.smoke || opts.quick ? 1 : 3));
const ctx: Context = { bigFile: BIG, bigSize: BIG_SIZE, smoke: opts.smoke!, quick: opts.quick! };
// A free port of our own: several sessions may run benches on one machine at once.
const PORT = await freePort();
const started = performance.now();
const load0 = os.loadavg();

/** The Sluice sources measured: HEAD and how many files under src/ and examples/ differ from it. */
function sluiceVersion(): string {
  try {
    const opts = { cwd: dir(".."), stdio: ["ignore", "pipe", "ignore"] as ("ignore" | "pipe")[] };
    const head = execSync("git rev-parse --short HEAD", opts).toString().trim();
    const dirty = execSync("git status --porcelain -- src examples", opts).toString().trim();
    return dirty
      ? `${head} + ${dirty.split("\n").length} changed file(s) in src/ or examples/`
      : head;
  } catch {
    return "unknown (not a git work tree)";
  }
}
const version0 = sluiceVersion();

// --- ceiling and pre-check -------------------------------------------------------------------------

log("encoding ceiling…");
const ceiling = await measureCeiling(opts.smoke ? 200_000 : 1_000_000);

log("correctness pre-check…");
const checks: string[] = [];
{
  const sluice = PEERS[0]!;
  let ref: Awaited<ReturnType<typeof reference>>;
  const s = await startServer(sluice, PORT, BIG);
  try {
    ref = await reference(s, fileSha);
  } finally {
    await s.stop();
  }
  for (const peer of peers) {
    const server = await startServer(peer, PORT, BIG);
    try {
      checks.push(`- ${peer.name}: ${await check(server, ref)}`);
    } finally {
      await server.stop();
    }
  }
}

// --- measures, interleaved ----------------------------------------------------------------------------

const results: Results = new Map();
const errors: string[] = [];
for (const m of measures) {
  const t0 = performance.now();
  // A measure may compare its own set of servers (the fan-out peers), still narrowed by --peers.
  const mPeers = m.peers
    ? m.peers.filter((p) => !opts.peers || opts.peers.split(",").includes(p.name))
    : peers;
  const byPeer = new Map<string, Record<string, number>[]>(mPeers.map((p) => [p.name, []]));
  results.set(m.id, byPeer);
  for (let r = 0; r < rounds; r++) {
    const order = mPeers.map((_, k) => mPeers[(k + r) % mPeers.length]!);
    for (const peer of order) {
      let server: RunningServer | undefined;
      try {
        server = await startServer(peer, PORT, BIG);
        const figures = await m.run(server, ctx);
        byPeer.get(peer.name)!.push(figures);
        log(
          `  ${m.id} round ${r + 1} ${peer.name}: ${m.primary.label} ${m.primary.format(figures[m.primary.key]!)}`,
        );
      } catch (err) {
        errors.push(
          `- ${m.id}, round ${r + 1}, ${peer.name}: ${(err as Error).message.split("\n")[0]}`,
        );
        log(`  ${m.id} round ${r + 1} ${peer.name}: FAILED ${(err as Error).message}`);
      } finally {
        await server?.stop();
      }
    }
  }
  log(`${m.id}: ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}

// --- report ----------------------------------------------------------------------------------------

const version = (pkg: string) =>
  JSON.parse(readFileSync(dir(`./node_modules/${pkg}/package.json`), "utf8")).version;
const cpu =
  readFileSync("/proc/cpuinfo", "utf8").match(/^model name\s*:\s*(.*)$/m)?.[1] ?? "unknown";
const wrkVersion = execSync("wrk -v 2>&1 || true").toString().split("\n")[0]!.trim();
const seconds = (performance.now() - started) / 1000;
const load1 = os.loadavg();
const version1 = sluiceVersion();

const out: string[] = [
  `# Sluice bench: results${opts.smoke ? " (SMOKE RUN: short, not for comparison)" : ""}`,
  "",
  `${new Date().toISOString()} · ${os.cpus().length} CPUs (${cpu}) · ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB · Linux ${os.release()} · node ${process.version} · ${rounds} round(s), servers interleaved · server on CPU 0, load on CPU 1 · ${(seconds / 60).toFixed(1)} min · load average ${load0[0]!.toFixed(2)} at start, ${load1[0]!.toFixed(2)} at end`,
  "",
  `Peers: fastify ${version("fastify")} (+ @fastify/sse ${version("@fastify/sse")}), hono ${version("hono")} + @hono/node-server ${version("@hono/node-server")}, h3 ${version("h3")}, express ${version("express")}; better-sse ${version("better-sse")} (fan-out only). Load: ${wrkVersion} (measure 1), curl (2–4), Node clients (5–9).`,
  "",
  version0 === version1
    ? `Sluice at ${version0}.`
    : `Sluice CHANGED DURING THE RUN: ${version0} at the start, ${version1} at the end; its rows mix versions.`,
  "",
  "Ratios: `× node:http` = the server's median over raw node:http's; `× best peer` = over the best median among the peers (Sluice excluded). For lower-is-better figures the ratio is inverted, so above 1 is always better.",
  "",
  "## Pre-check",
  "",
  ...checks,
  "",
];
for (const m of measures) out.push(renderTable(m, results.get(m.id)!), "");
out.push(
  "## Encoding ceiling",
  "",
  "JSON.stringify of each `{i, sq}` batched into 64 KiB buffers, no server, one core (CPU 0), best of 3; the sync rows loop over the items, the async rows pull them from an async generator, as the contract app's producers hand them out:",
  "",
  `| stream | ceiling | Sluice | Sluice / ceiling |`,
  `|---|---|---|---|`,
  ...renderCeiling(),
  "",
  renderTargets(results, ceiling),
  "",
);
if (errors.length) out.push("## Errors", "", ...errors, "");

function renderCeiling(): string[] {
  const med = (id: string, key: string) => {
    const rows = results.get(id)?.get("sluice") ?? [];
    const xs = rows.map((r) => r[key]!).sort((a, b) => a - b);
    return xs.length ? xs[xs.length >> 1]! : Number.NaN;
  };
  const row = (name: string, c: number, s: number) =>
    `| ${name} | ${(c / 1e6).toFixed(2)}M items/s | ${Number.isNaN(s) ? "–" : `${(s / 1e6).toFixed(2)}M`} | ${Number.isNaN(s) ? "–" : (s / c).toFixed(2)} |`;
  return [
    row("NDJSON lines (sync loop)", ceiling.ndjson, med("ndjson", "itemsPerSec")),
    row("NDJSON lines (async generator)", ceiling.ndjsonAsync, med("ndjson", "itemsPerSec")),
    row("SSE frames (sync loop)", ceiling.sse, med("sse", "eventsPerSec")),
    row("SSE frames (async generator)", ceiling.sseAsync, med("sse", "eventsPerSec")),
  ];
}

if (opts.quick) out.splice(1, 0, "", renderQuick(results, ceiling));
const report = out.join("\n");
// Only a full run is the latest result; quick, smoke and partial runs go elsewhere (git-ignored).
const partial = Boolean(opts.only || opts.peers || opts.rounds || opts.quick);
// A full run also replaces the results section of README.md.
const README = dir("./README.md");
if (!opts.smoke && !partial && existsSync(README)) {
  const readme = readFileSync(README, "utf8");
  const start = "<!-- results:start -->";
  const end = "<!-- results:end -->";
  const a = readme.indexOf(start);
  const b = readme.indexOf(end);
  if (a >= 0 && b > a) {
    const body = report.replace(/^# .*\n/, "").replace(/^## /gm, "### ");
    writeFileSync(README, `${readme.slice(0, a + start.length)}\n${body}\n${readme.slice(b)}`);
  }
}
process.stdout.write(report);
mkdirSync(dir("./results"), { recursive: true });
const name = opts.smoke ? "smoke" : opts.quick ? "quick" : partial ? "partial" : "latest";
writeFileSync(dir(`./results/${name}.md`), report);
log(`\nwritten to bench/results/${name}.md in ${(seconds / 60).toFixed(1)} min`);
process.exit(errors.length ? 1 : 0);
