import assert from "node:assert/strict";
import { describe, it } from "node:test";
import zlib from "node:zlib";
import * as compressExports from "./index.ts";
import { availableEncodings, compress, isCompressible } from "./index.ts";

describe("sluice/compress exports", () => {
  it("lists exactly its public names", () => {
    assert.deepEqual(Object.keys(compressExports).sort(), [
      "availableEncodings",
      "compress",
      "compressResponse",
      "isCompressible",
    ]);
  });
});

describe("isCompressible", () => {
  const table: [string, boolean][] = [
    ["text/plain; charset=utf-8", true],
    ["text/html", true],
    ["text/event-stream; charset=utf-8", true],
    ["text/csv; charset=utf-8; header=present", true],
    ["application/json", true],
    ["application/problem+json", true],
    ["application/x-ndjson", true],
    ["application/jsonl", true],
    ["application/javascript", true],
    ["application/xml", true],
    ["application/atom+xml", true],
    ["image/svg+xml", true],
    ["application/wasm", true],
    ["APPLICATION/JSON ; charset=utf-8", true],
    ["image/png", false],
    ["image/jpeg", false],
    ["image/webp", false],
    ["video/mp4", false],
    ["audio/mpeg", false],
    ["application/zip", false],
    ["application/gzip", false],
    ["application/pdf", false],
    ["font/woff2", false],
    ["application/octet-stream", false],
    ["", false],
  ];
  for (const [type, expected] of table) {
    it(`says ${expected ? "yes" : "no"} to ${JSON.stringify(type)}`, () => {
      assert.equal(isCompressible(type), expected);
    });
  }
});

describe("availableEncodings", () => {
  it("offers brotli, then zstd where node:zlib has it, then gzip", () => {
    const expected =
      typeof (zlib as { createZstdCompress?: unknown }).createZstdCompress === "function"
        ? ["br", "zstd", "gzip"]
        : ["br", "gzip"];
    assert.deepEqual(availableEncodings(), expected);
  });
});

describe("compress options", () => {
  it("refuses a coding it does not know", () => {
    assert.throws(() => compress({ encodings: ["deflate" as "gzip"] }), /unknown content coding/);
  });

  it("refuses a threshold that is not a whole number of bytes", () => {
    assert.throws(() => compress({ threshold: -1 }), /threshold/);
    assert.throws(() => compress({ threshold: 1.5 }), /threshold/);
  });
});
