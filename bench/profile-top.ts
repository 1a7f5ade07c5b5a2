/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`): the functions with the most self time.
 * Usage: node bench/profile-top.ts FILE.cpuprofile [N]
 */
import { readFileSync } from "node:fs";

type Node = {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount: number;
};
const profile = JSON.parse(readFileSync(process.argv[2]!, "utf8")) as { nodes: Node[] };
const top = Number(process.argv[3] ?? 25);
const self = new Map<string, number>();
let total = 0;
for (const n of profile.nodes) {
  const { functionName, url, lineNumber } = n.callFrame;
  const where = url
    ? `${url.replace(/^.*\/(node_modules|src|bench|examples)\//, "$1/")}:${lineNumber + 1}`
    : "";
  const key = `${functionName || "(anonymous)"} ${where}`;
  self.set(key, (self.get(key) ?? 0) + n.hitCount);
  total += n.hitCount;
}
for (const [key, hits] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`${((hits / total) * 100).toFixed(1).padStart(5)}%  ${key}`);
}
