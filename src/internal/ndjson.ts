/**
 * Newline-delimited JSON framing: one compact JSON text per line, each ended by LF. JSON.stringify
 * escapes every control character inside strings (RFC 8259 §7), so the only raw LF in a frame is
 * the one that ends it, and a reader can split on LF alone.
 */

/**
 * Frames one value as an NDJSON line. Throws TypeError when the value has no JSON text (undefined,
 * a function, a symbol, or a `toJSON` that returns undefined), because skipping it would silently
 * drop an item and writing `undefined` would corrupt the stream. JSON.stringify's own TypeErrors
 * (a cycle, a bigint) propagate unchanged.
 *
 * @example
 * encodeNDJSON({ id: 1, tags: ["a"] }); // '{"id":1,"tags":["a"]}\n'
 */
export function encodeNDJSON(value: unknown): string {
  const json = JSON.stringify(value);
  if (json === undefined) {
    const kind = value === undefined ? "undefined" : `this ${typeof value}`;
    throw new TypeError(`NDJSON cannot encode ${kind}: it has no JSON text`);
  }
  return json + "\n";
}
