const utf8 = new TextEncoder();

/**
 * Joins chunks into one Uint8Array; strings are encoded as UTF-8.
 *
 * @example
 * concatBytes(["ab", new Uint8Array([99])]); // Uint8Array [97, 98, 99]
 */
export function concatBytes(parts: readonly (string | Uint8Array)[]): Uint8Array {
  const bufs = parts.map((p) => (typeof p === "string" ? utf8.encode(p) : p));
  let total = 0;
  for (const b of bufs) total += b.byteLength;
  const out = new Uint8Array(total);
  let at = 0;
  for (const b of bufs) {
    out.set(b, at);
    at += b.byteLength;
  }
  return out;
}
