/**
 * Opens `count` connections, `concurrency` at a time, pushing each into `into` as it opens (a
 * bench client worker's sockets); resolves with how many failed and the first error.
 */
export async function openAll<S>(
  count: number,
  concurrency: number,
  open: () => Promise<S>,
  into: S[],
): Promise<{ failed: number; firstError: string }> {
  let next = 0;
  let failed = 0;
  let firstError = "";
  const lane = async () => {
    while (next < count) {
      next++;
      try {
        into.push(await open());
      } catch (err) {
        failed++;
        firstError ||= String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return { failed, firstError };
}
