/**
 * Preloaded into every bench server (`--expose-gc --import`): on SIGUSR2 the server runs two full
 * garbage collections and prints `gc done`, so a measure can read the memory the server still
 * holds — the same way for every peer — rather than whatever garbage the last GC left behind.
 */
process.on("SIGUSR2", () => {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  process.stdout.write("gc done\n");
});
