/** The exact bytes the bench routes send, to check downloads against. */
const line = (i: number) => JSON.stringify({ i, sq: i * i });

/** Bytes of `/ndjson?n=N`. */
export function ndjsonBytes(n: number): number {
  let total = 0;
  for (let i = 0; i < n; i++) total += line(i).length + 1;
  return total;
}

/** Bytes of `/sse?n=N`: `event: tick\nid: i\ndata: {...}\n\n` per event (field order aside). */
export function sseBytes(n: number): number {
  let total = 0;
  for (let i = 0; i < n; i++)
    total += "event: tick\n".length + `id: ${i}\n`.length + `data: ${line(i)}\n\n`.length;
  return total;
}
