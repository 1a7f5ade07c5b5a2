/**
 * One media range of an `Accept` field (RFC 9110 §12.5.1): type and subtype in lower case (`*`
 * for a wildcard) and its weight.
 *
 * @example
 * const range: MediaRange = { type: "text", subtype: "*", q: 0.5 };
 */
export type MediaRange = { type: string; subtype: string; q: number };

// RFC 9110 §5.6.2 token.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// RFC 9110 §12.4.2: qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ).
const QVALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/;

/**
 * Parses an `Accept` field into its media ranges, leaving out members that are not valid
 * (RFC 9110 §12.5.1: a recipient may ignore them). Linear in the length of the field; never
 * throws.
 *
 * @example
 * parseAccept("text/html, *\/*;q=0.1"); // [{ type: "text", subtype: "html", q: 1 }, { type: "*", subtype: "*", q: 0.1 }]
 */
export function parseAccept(field: string): MediaRange[] {
  const out: MediaRange[] = [];
  for (const member of field.split(",")) {
    const [range, ...params] = member.split(";");
    const slash = range!.indexOf("/");
    if (slash === -1) continue;
    const type = range!.slice(0, slash).trim().toLowerCase();
    const subtype = range!
      .slice(slash + 1)
      .trim()
      .toLowerCase();
    if (!TOKEN.test(type) || !TOKEN.test(subtype) || (type === "*" && subtype !== "*")) continue;
    let q = 1;
    let valid = true;
    for (const param of params) {
      const eq = param.indexOf("=");
      if (eq === -1) {
        valid = false;
        break;
      }
      if (param.slice(0, eq).trim().toLowerCase() !== "q") continue;
      const value = param.slice(eq + 1).trim();
      if (!QVALUE.test(value)) {
        valid = false;
        break;
      }
      q = Number(value);
    }
    if (valid) out.push({ type, subtype, q });
  }
  return out;
}

/**
 * Whether a client with this `Accept` field takes `mediaType` (`type/subtype`): the most specific
 * range that matches it (exact, then `type/*`, then `*\/*`) must have a weight above 0. No field,
 * or one with no valid member, accepts anything (RFC 9110 §12.5.1).
 *
 * @example
 * mediaTypeAccepted("text/html,application/xhtml+xml,*\/*;q=0.8", "text/html"); // true
 * mediaTypeAccepted("application/json", "text/html"); // false
 * mediaTypeAccepted(undefined, "text/html"); // true
 */
export function mediaTypeAccepted(field: string | undefined, mediaType: string): boolean {
  if (field === undefined) return true;
  const ranges = parseAccept(field);
  if (ranges.length === 0) return true;
  const slash = mediaType.indexOf("/");
  const type = mediaType.slice(0, slash).toLowerCase();
  const subtype = mediaType.slice(slash + 1).toLowerCase();
  let best: MediaRange | undefined;
  let bestRank = -1;
  for (const r of ranges) {
    const rank =
      r.type === type && r.subtype === subtype
        ? 2
        : r.type === type && r.subtype === "*"
          ? 1
          : r.type === "*"
            ? 0
            : -1;
    // The most specific range decides; among equals, the first.
    if (rank > bestRank) {
      best = r;
      bestRank = rank;
    }
  }
  return best !== undefined && best.q > 0;
}
