// Creates the large fixture that /file and the static mount serve: a file of a given size whose
// bytes follow a known pattern, so a range of it can be checked without reading it all.
//
//   npm run make-big-file -- examples/contract/public/big.bin 64    (path, size in MiB)
import { mkdir, open } from "node:fs/promises";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";

const MiB = 1024 * 1024;

/**
 * The byte at `offset` of a big file: a pattern that is not periodic at any power of two up to
 * 64 KiB, so a range served from the wrong offset does not compare equal by chance.
 *
 * @example
 * bigFileByte(0); // 0
 */
export function bigFileByte(offset: number): number {
  return (offset * 31 + Math.floor(offset / 251)) & 0xff;
}

/**
 * Writes `bytes` bytes of the `bigFileByte` pattern to `path` (created or replaced, with its
 * directory), 1 MiB at a time.
 *
 * @example
 * await makeBigFile("examples/contract/public/big.bin", 64 * 1024 * 1024);
 */
export async function makeBigFile(path: string, bytes: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const handle = await open(path, "w");
  try {
    const chunk = Buffer.allocUnsafe(MiB);
    for (let at = 0; at < bytes; at += MiB) {
      const n = Math.min(MiB, bytes - at);
      for (let i = 0; i < n; i++) chunk[i] = bigFileByte(at + i);
      await handle.write(chunk, 0, n);
    }
  } finally {
    await handle.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [path = "examples/contract/public/big.bin", mib = "64"] = process.argv.slice(2);
  const size = Number(mib);
  if (!(size >= 0) || !Number.isFinite(size)) {
    console.error(`usage: make-big-file [path] [size in MiB]; got size ${mib}`);
    process.exit(2);
  }
  await makeBigFile(path, Math.round(size * MiB));
  console.log(`wrote ${path} (${size} MiB)`);
}
