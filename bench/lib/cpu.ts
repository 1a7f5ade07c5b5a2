/**
 * CPU time of a server process, read from `/proc/PID/stat` (utime + stime, every thread of the
 * process, the thread pool's file reads included). On a machine shared with other work, CPU time
 * per request or per item is the figure that stays put while wall-clock throughput swings.
 */
import { execSync } from "node:child_process";
import { readFileSync } from "node:fs";

const TICKS_PER_SECOND = Number(execSync("getconf CLK_TCK").toString().trim()) || 100;

/** Seconds of CPU the process has used so far (user + system). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name (field 2) may hold spaces and parentheses: count fields after its last ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields 14 (utime) and 15 (stime) of proc(5), here at 11 and 12.
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** Runs `load` and returns its result with the CPU seconds the server spent meanwhile. */
export async function withCpu<T>(pid: number, load: () => Promise<T>): Promise<[T, number]> {
  const before = cpuSeconds(pid);
  const result = await load();
  return [result, cpuSeconds(pid) - before];
}
