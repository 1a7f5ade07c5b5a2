/**
 * Bounded waits: nothing a test awaits may hang the suite. A promise raced against a timer, a
 * condition polled until it holds, a value polled until it stops changing, and a gate the test
 * opens by hand.
 */

/**
 * Resolves with `promise`, or rejects once `ms` have passed, naming what was awaited; the timer
 * never outlives the race.
 *
 * @example
 * const res = await within(client.fetch("/"), 2000, "the response head");
 */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Polls `check` until it holds, at most `ms`; rejects naming `what` otherwise. `what` may be a
 * function, to describe the state at the time of the failure.
 *
 * @example
 * await until(() => openFds() <= baseline, 3000, () => `open fds: ${openFds()}`);
 */
export async function until(
  check: () => boolean,
  ms: number,
  what: string | (() => string),
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) {
      const named = typeof what === "function" ? what() : what;
      throw new Error(`timed out after ${ms} ms waiting for ${named}`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * Waits until `value()` has not changed for `quietMs` (it stopped on its own), at most `ms`, and
 * returns it.
 */
export async function settled(value: () => number, quietMs: number, ms: number): Promise<number> {
  const deadline = Date.now() + ms;
  let last = value();
  let since = Date.now();
  for (;;) {
    await new Promise((r) => setTimeout(r, 10));
    const now = value();
    if (now !== last) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) return now;
    if (Date.now() > deadline) throw new Error(`value kept changing for ${ms} ms (now ${now})`);
  }
}

/**
 * A promise the test resolves (or rejects) by hand.
 *
 * @example
 * const entered = gate();
 * app.get("/slow", async () => { entered.resolve(); ... });
 */
export function gate<T = void>(): PromiseWithResolvers<T> {
  return Promise.withResolvers<T>();
}
