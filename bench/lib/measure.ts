/** What a measure is: a module that measures one running server and returns named figures. */
import type { Peer, RunningServer } from "./server.ts";

export interface Metric {
  key: string;
  label: string;
  /** "higher" or "lower" is better; decides the best peer. */
  better: "higher" | "lower";
  /** Formats a raw value for the table. */
  format: (v: number) => string;
}

export interface Context {
  bigFile: string;
  bigSize: number;
  /** Short runs for development (`--smoke`). */
  smoke: boolean;
  /** One round of the rows, in under two minutes (`--quick`). */
  quick: boolean;
}

export interface Measure {
  id: string;
  title: string;
  /** The figure the median/min/max/ratio columns are about. */
  primary: Metric;
  /** More figures, shown as medians over rounds. */
  secondary: Metric[];
  run(server: RunningServer, ctx: Context): Promise<Record<string, number>>;
  /** Extra lines printed under the table (per-peer series and the like), from the last round. */
  details?: (last: Map<string, Record<string, number>>) => string;
  notes: string;
  /** The servers this measure compares, when not every peer of the run (default: all). */
  peers?: Peer[];
}

export const fmt = {
  int: (v: number) => (Number.isNaN(v) ? "–" : Math.round(v).toLocaleString("en-US")),
  k: (v: number) => (Number.isNaN(v) ? "–" : `${(v / 1000).toFixed(1)}k`),
  M: (v: number) => (Number.isNaN(v) ? "–" : `${(v / 1e6).toFixed(2)}M`),
  mbs: (v: number) => (Number.isNaN(v) ? "–" : `${(v / 1e6).toFixed(0)} MB/s`),
  mib: (v: number) => (Number.isNaN(v) ? "–" : `${(v / 1048576).toFixed(1)} MiB`),
  kib: (v: number) => (Number.isNaN(v) ? "–" : `${(v / 1024).toFixed(1)} KiB`),
  ms: (v: number) => (Number.isNaN(v) ? "–" : `${v.toFixed(2)} ms`),
  us: (v: number) => (Number.isNaN(v) ? "–" : `${v.toFixed(2)} µs`),
};

export const PEAK_RSS: Metric = {
  key: "peakRss",
  label: "peak RSS",
  better: "lower",
  format: fmt.mib,
};
