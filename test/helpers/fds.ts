import { readdirSync } from "node:fs";

/**
 * The number of open file descriptors of this process (Linux, `/proc/self/fd`).
 *
 * @example
 * const before = openFds();
 */
export function openFds(): number {
  return readdirSync("/proc/self/fd").length;
}
