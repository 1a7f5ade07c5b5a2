/**
 * A complexity check that cannot flake on a busy machine: whether a function's time grows linearly
 * with its input, without a wall-clock bound.
 *
 * One call on a big input (1 MiB by default) is compared with as many calls on a small input
 * (1 KiB) as make the same number of characters: linear work costs about the same both ways (the
 * many small calls pay more call overhead, which only loosens the bound), while quadratic work
 * costs `big / small` (1024) times more in the one big call. The check passes when the big call
 * costs at most `factor` (default 20) times the small batch: room for noise and for an n log n
 * algorithm, still 50 times below what a quadratic one would take. Each side is timed several
 * times, interleaved, and the fastest run counts, so a pause of the machine (another process, a GC)
 * during one run cannot fail the check; a warm-up run first lets the JIT compile both paths.
 */
import assert from "node:assert/strict";

/** Options of {@link assertLinear}. */
export interface LinearOptions {
  /** The small input's length (default 1024). */
  small?: number;
  /** The big input's length (default 1024 × 1024). */
  big?: number;
  /** How much dearer the big call may be than the batch of small ones (default 20). */
  factor?: number;
  /** Timed runs of each side; the fastest counts (default 3). */
  runs?: number;
}

/**
 * Asserts that `work(make(n))` takes time linear in `n` (see the module comment). `make(n)` must
 * build an input of about `n` characters (or items); it is not timed.
 *
 * @example
 * assertLinear("parseRange on spaces", (n) => `bytes=${" ".repeat(n)}0-1`, (h) => parseRange(h, 10));
 */
export function assertLinear<T>(
  name: string,
  make: (n: number) => T,
  work: (input: T) => unknown,
  options: LinearOptions = {},
): void {
  const small = options.small ?? 1024;
  const big = options.big ?? 1024 * 1024;
  const factor = options.factor ?? 20;
  const runs = options.runs ?? 3;
  const times = Math.max(1, Math.round(big / small));
  const smallInput = make(small);
  const bigInput = make(big);
  const batch = () => {
    for (let i = 0; i < times; i++) work(smallInput);
  };
  const once = () => work(bigInput);
  batch();
  once();
  let bestBatch = Number.POSITIVE_INFINITY;
  let bestOnce = Number.POSITIVE_INFINITY;
  for (let r = 0; r < runs; r++) {
    bestBatch = Math.min(bestBatch, timed(batch));
    bestOnce = Math.min(bestOnce, timed(once));
  }
  // Below the timer's grain the batch tells nothing: count it as one tick.
  const floor = Math.max(bestBatch, 0.05);
  assert.ok(
    bestOnce <= factor * floor,
    `${name}: one input of ${big} took ${bestOnce.toFixed(2)} ms, ${times} inputs of ${small} ` +
      `took ${bestBatch.toFixed(2)} ms: ${(bestOnce / floor).toFixed(1)}× (at most ${factor}× for linear time)`,
  );
}

function timed(fn: () => void): number {
  const start = performance.now();
  fn();
  return performance.now() - start;
}
