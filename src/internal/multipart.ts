import type { ByteRange } from "./range.ts";

/**
 * A `multipart/byteranges` body laid out ahead of time: the caller writes each part's `head`, then
 * the bytes of its `range` from the file, then `tail`, and announces `length` as Content-Length.
 *
 * @example
 * const body: MultipartByteranges = multipartByteranges(ranges, size, "text/plain");
 */
export type MultipartByteranges = {
  contentType: string;
  parts: { head: Uint8Array; range: ByteRange }[];
  tail: Uint8Array;
  length: number;
};

/**
 * Frames several ranges of one representation as `multipart/byteranges` (RFC 9110 §14.6,
 * RFC 2046 §5.1.1). The first head is `--B\r\nContent-Type: T\r\nContent-Range: bytes a-b/size\r\n\r\n`;
 * each later head starts with the `\r\n` that closes the previous part's bytes; the tail is
 * `\r\n--B--\r\n`. There is no preamble. An empty `contentType` leaves the part's Content-Type out.
 *
 * Without `boundary`, a random 32-digit hex boundary is used; 128 random bits make a collision with
 * the file's bytes negligible. Throws a RangeError for no ranges or a range outside `0..size-1`,
 * and a TypeError for a content type or boundary that could break the framing (CR, LF, NUL,
 * non-ASCII; a boundary outside RFC 2046 bchars or longer than 70). Parts keep the given order.
 *
 * @example
 * const body = multipartByteranges([{ start: 0, end: 0 }, { start: 9, end: 9 }], 10, "text/plain", "B");
 * // body.contentType === "multipart/byteranges; boundary=B"
 * // body.parts[0].head: "--B\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-0/10\r\n\r\n"
 */
export function multipartByteranges(
  ranges: ByteRange[],
  size: number,
  contentType: string,
  boundary: string = randomBoundary(),
): MultipartByteranges {
  if (ranges.length === 0) throw new RangeError("multipart/byteranges needs at least one range");
  if (!isFieldText(contentType)) throw new TypeError(`Invalid part Content-Type: ${contentType}`);
  if (!isBoundary(boundary)) throw new TypeError(`Invalid multipart boundary: ${boundary}`);

  const encoder = new TextEncoder();
  const typeLine = contentType === "" ? "" : `Content-Type: ${contentType}\r\n`;
  let length = 0;
  const parts = ranges.map((range, index) => {
    const { start, end } = range;
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end)) {
      throw new RangeError(`Invalid range ${start}-${end}`);
    }
    if (start < 0 || end < start || end >= size) {
      throw new RangeError(`Range ${start}-${end} is outside a representation of ${size} bytes`);
    }
    const head = encoder.encode(
      `${index === 0 ? "" : "\r\n"}--${boundary}\r\n${typeLine}` +
        `Content-Range: bytes ${start}-${end}/${size}\r\n\r\n`,
    );
    length += head.byteLength + (end - start + 1);
    return { head, range: { start, end } };
  });
  const tail = encoder.encode(`\r\n--${boundary}--\r\n`);
  length += tail.byteLength;

  // The boundary goes unquoted when it is a token, quoted otherwise (RFC 9110 §5.6.6).
  const parameter = isToken(boundary) ? boundary : `"${boundary}"`;
  return { contentType: `multipart/byteranges; boundary=${parameter}`, parts, tail, length };
}

function randomBoundary(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let out = "";
  for (const byte of bytes) out += byte.toString(16).padStart(2, "0");
  return out;
}

/** Visible ASCII, space and tab: what a field value may hold without encoding questions. */
function isFieldText(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (!((code >= 0x20 && code <= 0x7e) || code === 0x09)) return false;
  }
  return true;
}

/** RFC 2046 §5.1.1: 1 to 70 bchars, not ending in a space. */
function isBoundary(value: string): boolean {
  if (value.length < 1 || value.length > 70 || value.endsWith(" ")) return false;
  for (const char of value) {
    if (!/^[0-9A-Za-z'()+_,\-./:=? ]$/.test(char)) return false;
  }
  return true;
}

/** RFC 9110 §5.6.2 tchar. */
function isToken(value: string): boolean {
  return /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(value);
}
