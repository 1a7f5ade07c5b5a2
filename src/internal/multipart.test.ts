import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { multipartByteranges } from "./multipart.ts";
import type { ByteRange } from "./range.ts";

type ParsedPart = { headers: Map<string, string>; data: Uint8Array };

/** A strict reader of RFC 2046 multipart bodies without preamble, written apart from the framer. */
function parseMultipart(body: Uint8Array, boundary: string): ParsedPart[] {
  const text = Buffer.from(body).toString("latin1");
  const dashBoundary = `--${boundary}`;
  const delimiter = `\r\n${dashBoundary}`;
  assert.ok(text.startsWith(dashBoundary), "body starts with the first boundary");
  let pos = dashBoundary.length;
  const parts: ParsedPart[] = [];
  for (;;) {
    if (text.startsWith("--", pos)) {
      assert.equal(text.slice(pos), "--\r\n", "close delimiter ends the body");
      return parts;
    }
    assert.equal(text.slice(pos, pos + 2), "\r\n", "boundary line ends with CRLF");
    pos += 2;
    const headerEnd = text.indexOf("\r\n\r\n", pos);
    assert.ok(headerEnd >= pos, "part headers end with an empty line");
    const headers = new Map<string, string>();
    for (const line of text.slice(pos, headerEnd).split("\r\n")) {
      const colon = line.indexOf(":");
      assert.ok(colon > 0, `header line: ${line}`);
      headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
    }
    const dataStart = headerEnd + 4;
    const next = text.indexOf(delimiter, dataStart);
    assert.ok(next >= dataStart, "part data ends at a delimiter");
    parts.push({ headers, data: body.subarray(dataStart, next) });
    pos = next + delimiter.length;
  }
}

function assemble(layout: ReturnType<typeof multipartByteranges>, file: Uint8Array): Uint8Array {
  const chunks: Uint8Array[] = [];
  for (const part of layout.parts) {
    chunks.push(part.head, file.subarray(part.range.start, part.range.end + 1));
  }
  chunks.push(layout.tail);
  return Buffer.concat(chunks);
}

function sample(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  let seed = 99;
  for (let i = 0; i < size; i++) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    bytes[i] = seed >> 16;
  }
  // Bytes that look like framing must pass through untouched.
  bytes.set(Buffer.from("\r\n--\r\n\r\nContent-Type: x\r\n"), 100);
  return bytes;
}

const file = sample(1000);
const ranges: ByteRange[] = [
  { start: 500, end: 599 },
  { start: 0, end: 0 },
  { start: 90, end: 130 },
  { start: 999, end: 999 },
];

describe("multipartByteranges", () => {
  it("frames each range so an independent parser reads back the same bytes", () => {
    const layout = multipartByteranges(ranges, file.length, "application/octet-stream");
    const boundary = /boundary=(\S+)$/.exec(layout.contentType)![1]!;
    const parts = parseMultipart(assemble(layout, file), boundary);
    assert.equal(parts.length, ranges.length);
    parts.forEach((part, i) => {
      const { start, end } = ranges[i]!;
      assert.equal(part.headers.get("content-type"), "application/octet-stream");
      assert.equal(part.headers.get("content-range"), `bytes ${start}-${end}/${file.length}`);
      assert.deepEqual(Buffer.from(part.data), Buffer.from(file.subarray(start, end + 1)));
    });
  });

  it("reports the exact length of the body it describes", () => {
    const layout = multipartByteranges(ranges, file.length, "text/plain; charset=utf-8");
    assert.equal(layout.length, assemble(layout, file).byteLength);
    const one = multipartByteranges([{ start: 3, end: 3 }], file.length, "");
    assert.equal(one.length, assemble(one, file).byteLength);
  });

  it("writes the heads and tail byte for byte", () => {
    const layout = multipartByteranges(
      [
        { start: 0, end: 4 },
        { start: 10, end: 19 },
      ],
      20,
      "text/plain",
      "THIS_STRING_SEPARATES",
    );
    const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
    const first =
      "--THIS_STRING_SEPARATES\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-4/20\r\n\r\n";
    const second =
      "\r\n--THIS_STRING_SEPARATES\r\nContent-Type: text/plain\r\nContent-Range: bytes 10-19/20\r\n\r\n";
    const tail = "\r\n--THIS_STRING_SEPARATES--\r\n";
    assert.equal(layout.contentType, "multipart/byteranges; boundary=THIS_STRING_SEPARATES");
    assert.equal(text(layout.parts[0]!.head), first);
    assert.equal(text(layout.parts[1]!.head), second);
    assert.equal(text(layout.tail), tail);
    assert.equal(layout.length, first.length + 5 + second.length + 10 + tail.length);
  });

  it("leaves Content-Type out of the parts when there is none", () => {
    const layout = multipartByteranges([{ start: 0, end: 0 }], 1, "", "b");
    assert.equal(
      new TextDecoder().decode(layout.parts[0]!.head),
      "--b\r\nContent-Range: bytes 0-0/1\r\n\r\n",
    );
  });

  it("quotes a boundary that is not a token", () => {
    const layout = multipartByteranges([{ start: 0, end: 0 }], 1, "", "a b:c");
    assert.equal(layout.contentType, 'multipart/byteranges; boundary="a b:c"');
  });

  it("picks a fresh random boundary each time", () => {
    const a = multipartByteranges(ranges, file.length, "").contentType;
    const b = multipartByteranges(ranges, file.length, "").contentType;
    assert.match(a, /^multipart\/byteranges; boundary=[0-9a-f]{32}$/);
    assert.notEqual(a, b);
  });

  it("refuses no ranges", () => {
    assert.throws(() => multipartByteranges([], 10, ""), RangeError);
  });

  it("refuses ranges outside the representation", () => {
    for (const range of [
      { start: -1, end: 0 },
      { start: 5, end: 4 },
      { start: 0, end: 10 },
      { start: 0.5, end: 1 },
      { start: 0, end: Number.NaN },
    ]) {
      assert.throws(() => multipartByteranges([range], 10, ""), RangeError, JSON.stringify(range));
    }
  });

  it("refuses a content type that would break the framing", () => {
    for (const type of ["text/plain\r\nX: y", "text/plain\n", "a\0b", "text/plain; name=☃"]) {
      assert.throws(() => multipartByteranges(ranges, file.length, type), TypeError);
    }
  });

  it("refuses a boundary outside RFC 2046", () => {
    for (const boundary of ["", "a".repeat(71), "ends ", "a\r\nb", 'a"b', "a;b", "é"]) {
      assert.throws(() => multipartByteranges(ranges, file.length, "", boundary), TypeError);
    }
  });
});
