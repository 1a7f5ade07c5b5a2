/** The markdown tables and the verdict on the issue's targets. */
import { fmt, type Measure } from "./measure.ts";
import { MiB, max, median, min } from "./stats.ts";

/** measure id -> peer name -> one record per round. */
export type Results = Map<string, Map<string, Record<string, number>[]>>;

const BASELINE = "node:http";
const SELF = "sluice";

function medianOf(rows: Record<string, number>[] | undefined, key: string): number {
  return median((rows ?? []).map((r) => r[key] ?? Number.NaN));
}

/** Ratio where above 1 means better, whatever the direction of the metric. */
function ratio(value: number, other: number, better: "higher" | "lower"): string {
  if (!(value > 0) || !(other > 0)) return "–";
  return `${(better === "higher" ? value / other : other / value).toFixed(2)}×`;
}

export function renderTable(m: Measure, byPeer: Map<string, Record<string, number>[]>): string {
  const key = m.primary.key;
  const peerMedians = [...byPeer]
    .filter(([name]) => name !== SELF)
    .map(([name, rows]) => ({ name, v: medianOf(rows, key) }))
    .filter((p) => !Number.isNaN(p.v));
  const best = peerMedians.sort((a, b) =>
    m.primary.better === "higher" ? b.v - a.v : a.v - b.v,
  )[0];
  const base = medianOf(byPeer.get(BASELINE), key);
  const head = [
    "server",
    `${m.primary.label} (median)`,
    "min",
    "max",
    "× node:http",
    `× best peer${best ? ` (${best.name})` : ""}`,
    ...m.secondary.map((s) => `${s.label} (median)`),
  ];
  const lines = [`## ${m.title}`, "", `| ${head.join(" | ")} |`, `|${"---|".repeat(head.length)}`];
  for (const [name, rows] of byPeer) {
    const xs = rows.map((r) => r[key]!);
    const v = median(xs);
    lines.push(
      `| ${name === SELF ? "**sluice**" : name} | ${m.primary.format(v)} | ${m.primary.format(min(xs))} | ${m.primary.format(max(xs))} | ${ratio(v, base, m.primary.better)} | ${best ? ratio(v, best.v, m.primary.better) : "–"} | ${m.secondary.map((s) => s.format(medianOf(rows, s.key))).join(" | ")} |`,
    );
  }
  lines.push("", m.notes);
  if (m.details) {
    const last = new Map<string, Record<string, number>>();
    for (const [name, rows] of byPeer) if (rows.length) last.set(name, rows[rows.length - 1]!);
    lines.push("", m.details(last));
  }
  return lines.join("\n");
}

/** The encoding ceiling the stream targets are measured against (see measures/ceiling.ts). */
export interface CeilingFigures {
  ndjsonAsync: number;
  sseAsync: number;
  cpu: { ndjsonAsync: number; sseAsync: number };
  writer: { ndjson: number; sse: number; cpu: { ndjson: number; sse: number } };
}

/** The targets of issue 15, each with what was measured: throughput and server CPU alike. */
function targetRows(results: Results, ceiling: CeilingFigures): string[] {
  const get = (id: string, peer: string, key: string) => medianOf(results.get(id)?.get(peer), key);
  const lines = ["| target | measured | verdict |", "|---|---|---|"];
  const row = (target: string, measured: string, ok: boolean | undefined) =>
    lines.push(
      `| ${target} | ${measured} | ${ok === undefined ? "not measured" : ok ? "met" : "**missed**"} |`,
    );
  const known = (...xs: number[]) =>
    xs.every((x) => !Number.isNaN(x) && Number.isFinite(x)) ? true : undefined;
  const x = (a: number, b: number) => `${(a / b).toFixed(2)}×`;

  const rps = get("json", SELF, "rps");
  const fastify = get("json", "fastify", "rps");
  const raw = get("json", BASELINE, "rps");
  row(
    "/json req/s ≥ 0.95 × node:http",
    `${fmt.int(rps)} vs ${fmt.int(raw)} (${x(rps, raw)})`,
    known(rps, raw) && rps >= 0.95 * raw,
  );
  row(
    "/json req/s ≥ Fastify",
    `${fmt.int(rps)} vs ${fmt.int(fastify)} (${x(rps, fastify)})`,
    known(rps, fastify) && rps >= fastify,
  );
  const cpu = get("json", SELF, "cpuPerReq");
  const cpuRaw = get("json", BASELINE, "cpuPerReq");
  const cpuFastify = get("json", "fastify", "cpuPerReq");
  row(
    "/json server CPU/request ≤ node:http + 0.5 µs",
    `${fmt.us(cpu)} vs ${fmt.us(cpuRaw)} (+${fmt.us(cpu - cpuRaw)}); Fastify ${fmt.us(cpuFastify)}`,
    known(cpu, cpuRaw) && cpu <= cpuRaw + 0.5,
  );

  // The ceiling's CPU per item is 1 / (items per CPU second).
  const nd = get("ndjson", SELF, "itemsPerSec");
  const ndCpu = get("ndjson", SELF, "cpuPerItem");
  const ceilNd = 1e6 / ceiling.cpu.ndjsonAsync;
  row(
    "/ndjson items/s ≥ 0.9 × the async-generator ceiling",
    `${fmt.M(nd)} vs ${fmt.M(ceiling.ndjsonAsync)} (${x(nd, ceiling.ndjsonAsync)}); CPU/item ${fmt.us(ndCpu)} vs the ceiling's ${fmt.us(ceilNd)} (${x(ceilNd, ndCpu)})`,
    known(nd, ceiling.ndjsonAsync) && nd >= 0.9 * ceiling.ndjsonAsync,
  );
  const ev = get("sse", SELF, "eventsPerSec");
  const evCpu = get("sse", SELF, "cpuPerItem");
  row(
    "/sse events/s ≥ 0.85 × Sluice's own NDJSON rate",
    `${fmt.M(ev)} vs ${fmt.M(nd)} (${x(ev, nd)}); CPU/item ${fmt.us(evCpu)} vs ${fmt.us(ndCpu)} (${x(ndCpu, evCpu)})`,
    known(ev, nd) && ev >= 0.85 * nd,
  );

  const f = get("file", SELF, "mbPerSec");
  const fr = get("file", BASELINE, "mbPerSec");
  const fCpu = get("file", SELF, "cpuPerMB");
  const frCpu = get("file", BASELINE, "cpuPerMB");
  row(
    "/file MB/s ≥ 1.1 × node:http",
    `${fmt.mbs(f)} vs ${fmt.mbs(fr)} (${x(f, fr)}); CPU/MB ${fmt.us(fCpu)} vs ${fmt.us(frCpu)} (${x(frCpu, fCpu)})`,
    known(f, fr) && f >= 1.1 * fr,
  );

  const idleConn = get("idle", SELF, "perConn");
  const idleRaw = get("idle", BASELINE, "perConn");
  row(
    "idle SSE memory per connection ≤ node:http + 1 KiB (RSS as read)",
    `${fmt.kib(idleConn)} vs ${fmt.kib(idleRaw)} (+${fmt.kib(idleConn - idleRaw)})`,
    known(idleConn, idleRaw) && idleConn <= idleRaw + 1024,
  );
  const heldConn = get("idle", SELF, "perConnHeld");
  const heldRaw = get("idle", BASELINE, "perConnHeld");
  row(
    "idle SSE memory per connection ≤ node:http + 1 KiB (RSS after full GCs: what is held)",
    `${fmt.kib(heldConn)} vs ${fmt.kib(heldRaw)} (+${fmt.kib(heldConn - heldRaw)})`,
    known(heldConn, heldRaw) && heldConn <= heldRaw + 1024,
  );

  const g = get("slow", SELF, "growth");
  row("slow client: RSS growth < 16 MiB", fmt.mib(g), known(g) && g < 16 * MiB);
  return lines;
}

export function renderTargets(results: Results, ceiling: CeilingFigures): string {
  return ["## Targets of issue 15", "", ...targetRows(results, ceiling)].join("\n");
}

/**
 * The quick mode's summary: each row of the issue's table with Sluice, node:http and Fastify side
 * by side, throughput beside server CPU per request/item, then the targets.
 */
export function renderQuick(results: Results, ceiling: CeilingFigures): string {
  const get = (id: string, peer: string, key: string) => medianOf(results.get(id)?.get(peer), key);
  const peers = [SELF, BASELINE, "fastify"];
  const rows: [string, string, string, (v: number) => string, (v: number) => string][] = [
    ["/json", "rps", "cpuPerReq", fmt.int, fmt.us],
    ["/ndjson?n=1e6", "itemsPerSec", "cpuPerItem", fmt.M, fmt.us],
    ["/sse?n=1e6", "eventsPerSec", "cpuPerItem", fmt.M, fmt.us],
    ["/file 256 MiB", "mbPerSec", "cpuPerMB", fmt.mbs, fmt.us],
  ];
  const ids = ["json", "ndjson", "sse", "file"];
  const lines = [
    "## Quick: the rows of issue 15 (one round; throughput · server CPU per request/item/MB)",
    "",
    `| row | ${peers.join(" | ")} | Sluice ÷ node:http (throughput · CPU) |`,
    `|---|${"---|".repeat(peers.length)}---|`,
  ];
  rows.forEach(([label, key, cpuKey, f, c], k) => {
    const id = ids[k]!;
    const cells = peers.map((p) => `${f(get(id, p, key))} · ${c(get(id, p, cpuKey))}`);
    const s = get(id, SELF, key);
    const r = get(id, BASELINE, key);
    const sc = get(id, SELF, cpuKey);
    const rc = get(id, BASELINE, cpuKey);
    lines.push(
      `| ${label} | ${cells.join(" | ")} | ${(s / r).toFixed(2)}× · ${(rc / sc).toFixed(2)}× |`,
    );
  });
  lines.push(
    "",
    `Ceiling (async generator → lines, batched, no I/O, one core): NDJSON ${fmt.M(ceiling.ndjsonAsync)} items/s (CPU ${fmt.us(1e6 / ceiling.cpu.ndjsonAsync)}/item), SSE ${fmt.M(ceiling.sseAsync)} (CPU ${fmt.us(1e6 / ceiling.cpu.sseAsync)}/item). Sluice's writer on the contract's producers, no I/O, in turns with it: NDJSON ${fmt.M(ceiling.writer.ndjson)} (CPU ${fmt.us(1e6 / ceiling.writer.cpu.ndjson)}/item, ${(ceiling.writer.cpu.ndjson / ceiling.cpu.ndjsonAsync).toFixed(2)}× the ceiling), SSE ${fmt.M(ceiling.writer.sse)} (CPU ${fmt.us(1e6 / ceiling.writer.cpu.sse)}/item, ${(ceiling.writer.cpu.sse / ceiling.cpu.sseAsync).toFixed(2)}× the ceiling; ${(ceiling.writer.cpu.sse / ceiling.writer.cpu.ndjson).toFixed(2)}× its own NDJSON). CPU ratios read "how many times less CPU Sluice needs" (above 1 is better).`,
    "",
    ...targetRows(results, ceiling),
  );
  return lines.join("\n");
}
