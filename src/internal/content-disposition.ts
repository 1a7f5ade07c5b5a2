/**
 * A `Content-Disposition` field value (RFC 6266) that offers `filename` under a name a browser can
 * save safely, whatever the input.
 *
 * The name is cut to its last path segment (after `/` or `\`), control characters are dropped,
 * and `.` or `..` or an empty result leave the filename out. The `filename` parameter is a
 * quoted-string of printable ASCII in which a non-ASCII character, `"`, `\` and `%` each become
 * `_` (RFC 6266 Appendix D: no escaping and no percent signs there, since user agents disagree on
 * both). When that loses anything, `filename*` follows with the exact name in UTF-8,
 * percent-encoded over the attr-char set (RFC 8187 §3.2.1), which recipients prefer
 * (RFC 6266 §4.3). The result never contains CR, LF or NUL.
 *
 * @example
 * contentDisposition("report.pdf"); // 'attachment; filename="report.pdf"'
 * contentDisposition("☃.txt", "inline"); // `inline; filename="_.txt"; filename*=UTF-8''%E2%98%83.txt`
 */
export function contentDisposition(
  filename: string | undefined,
  type: "inline" | "attachment" = "attachment",
): string {
  const name = filename === undefined ? "" : cleanName(filename);
  if (name === "" || name === "." || name === "..") return type;
  let fallback = "";
  for (const char of name) {
    const code = char.codePointAt(0)!;
    fallback +=
      code >= 0x20 && code < 0x7f && char !== '"' && char !== "\\" && char !== "%" ? char : "_";
  }
  const value = `${type}; filename="${fallback}"`;
  return fallback === name ? value : `${value}; filename*=UTF-8''${encodeExtValue(name)}`;
}

/** The basename, without C0 controls, DEL and C1 controls, none of which belong in a file name. */
function cleanName(filename: string): string {
  const slash = Math.max(filename.lastIndexOf("/"), filename.lastIndexOf("\\"));
  let name = "";
  for (const char of filename.slice(slash + 1)) {
    const code = char.codePointAt(0)!;
    if (code >= 0x20 && !(code >= 0x7f && code <= 0x9f)) name += char;
  }
  return name;
}

/** RFC 8187 §3.2.1 attr-char: ALPHA / DIGIT / "!#$&+-.^_`|~". */
function isAttrChar(byte: number): boolean {
  return (
    (byte >= 0x30 && byte <= 0x39) ||
    (byte >= 0x41 && byte <= 0x5a) ||
    (byte >= 0x61 && byte <= 0x7a) ||
    "!#$&+-.^_`|~".includes(String.fromCharCode(byte))
  );
}

/** TextEncoder turns a lone surrogate into U+FFFD where encodeURIComponent would throw. */
function encodeExtValue(name: string): string {
  let out = "";
  for (const byte of new TextEncoder().encode(name)) {
    out += isAttrChar(byte)
      ? String.fromCharCode(byte)
      : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}
