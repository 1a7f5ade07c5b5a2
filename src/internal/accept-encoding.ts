/**
 * Picks the content coding to answer with from those on offer (RFC 9110 §12.5.3), or `undefined`
 * for identity (no coding).
 *
 * `available` is in the server's order of preference (smallest first, say `["br", "gzip"]`); among
 * codings the client rates equally, the earlier one wins. A coding rated `q=0`, or covered only by a
 * `*` rated `q=0`, is never chosen; `*` stands for any coding not named; `x-gzip` is `gzip`
 * (RFC 9110 §8.4.1.3). No header, an empty one, or one that cannot be parsed means identity: a
 * client that said nothing understandable gets bytes it can read. Names compare case-insensitively.
 * Linear in the header's length.
 *
 * @example
 * chooseEncoding("gzip, br;q=0.9", ["br", "gzip"]); // "gzip"
 * chooseEncoding("br;q=0, *", ["br", "gzip"]); // "gzip"
 * chooseEncoding(undefined, ["br", "gzip"]); // undefined
 */
export function chooseEncoding(
  header: string | undefined,
  available: readonly string[],
): string | undefined {
  if (header === undefined || available.length === 0) return undefined;
  const rated = parseAcceptEncoding(header);
  if (rated === undefined) return undefined;
  let best: string | undefined;
  let bestQ = 0;
  for (const coding of available) {
    const name = coding.toLowerCase();
    const q =
      rated.get(name) ?? (name === "gzip" ? rated.get("x-gzip") : undefined) ?? rated.get("*") ?? 0;
    if (q > bestQ) {
      best = coding;
      bestQ = q;
    }
  }
  return best;
}

/**
 * The codings of an `Accept-Encoding` value with their weights (RFC 9110 §12.5.3, §12.4.2), names
 * in lower case; the first rating of a name counts. `undefined` when an element is malformed.
 *
 * @example
 * parseAcceptEncoding("gzip;q=0.5, br"); // Map { "gzip" => 0.5, "br" => 1 }
 */
export function parseAcceptEncoding(header: string): Map<string, number> | undefined {
  const out = new Map<string, number>();
  for (const element of header.split(",")) {
    const [rawName, ...params] = element.split(";");
    const name = rawName!.trim().toLowerCase();
    if (name === "") {
      // Empty list elements are allowed (RFC 9110 §5.6.1.2); a weight without a name is not.
      if (params.length > 0) return undefined;
      continue;
    }
    if (!TOKEN.test(name)) return undefined;
    let q = 1;
    for (const param of params) {
      const match = WEIGHT.exec(param);
      if (match === null) return undefined;
      q = Number(match[1]);
    }
    if (!out.has(name)) out.set(name, q);
  }
  return out;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
/** weight = OWS ";" OWS "q=" qvalue; qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ). */
const WEIGHT = /^[ \t]*[qQ]=(0(?:\.\d{0,3})?|1(?:\.0{0,3})?)[ \t]*$/;
