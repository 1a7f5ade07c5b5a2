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

export function renderTargets(results: Results): string {
  const get = (id: string, peer: string, key: string) => medianOf(results.get(id)?.get(peer), key);
  const bestPeer = (id: string, key: string, better: "higher" | "lower") => {
    const vs = [...(results.get(id) ?? new Map())]
      .filter(([n]) => n !== SELF)
      .map(([, rows]) => medianOf(rows, key));
    return better === "higher" ? max(vs) : min(vs);
  };
  const lines = ["## Targets of issue 6", "", "| target | measured | verdict |", "|---|---|---|"];
  const row = (target: string, measured: string, ok: boolean | undefined) =>
    lines.push(
      `| ${target} | ${measured} | ${ok === undefined ? "not measured" : ok ? "met" : "**missed**"} |`,
    );
  const known = (...xs: number[]) =>
    xs.every((x) => !Number.isNaN(x) && Number.isFinite(x)) ? true : undefined;

  const rps = get("json", SELF, "rps");
  const fastify = get("json", "fastify", "rps");
  const raw = get("json", BASELINE, "rps");
  row(
    "/json ≥ Fastify req/s",
    `${fmt.int(rps)} vs ${fmt.int(fastify)} (${(rps / fastify).toFixed(2)}×)`,
    known(rps, fastify) && rps >= fastify,
  );
  row("/json ≥ 0.9 × node:http", `${(rps / raw).toFixed(2)}×`, known(rps, raw) && rps >= 0.9 * raw);

  const nd = get("ndjson", SELF, "itemsPerSec");
  row("/ndjson ≥ 2M items/s", fmt.M(nd), known(nd) && nd >= 2e6);
  const ndRss = get("ndjson", SELF, "peakRss");
  const ndBest = bestPeer("ndjson", "peakRss", "lower");
  row(
    "/ndjson peak RSS ≤ best peer's",
    `${fmt.mib(ndRss)} vs ${fmt.mib(ndBest)}`,
    known(ndRss, ndBest) && ndRss <= ndBest,
  );

  const ev = get("sse", SELF, "eventsPerSec");
  row("/sse ≥ 1.6M events/s", fmt.M(ev), known(ev) && ev >= 1.6e6);
  const sseRss = get("sse", SELF, "peakRss");
  const sseBest = bestPeer("sse", "peakRss", "lower");
  row(
    "/sse peak RSS ≤ best peer's",
    `${fmt.mib(sseRss)} vs ${fmt.mib(sseBest)}`,
    known(sseRss, sseBest) && sseRss <= sseBest,
  );

  const f = get("file", SELF, "mbPerSec");
  const fr = get("file", BASELINE, "mbPerSec");
  row(
    "/file ≥ 1.1 × node:http",
    `${fmt.mbs(f)} vs ${fmt.mbs(fr)} (${(f / fr).toFixed(2)}×)`,
    known(f, fr) && f >= 1.1 * fr,
  );

  const g = get("slow", SELF, "growth");
  row("slow client: RSS growth < 16 MiB", fmt.mib(g), known(g) && g < 16 * MiB);
  return lines.join("\n");
}
