import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { concatBytes } from "./bytes.ts";

describe("concatBytes", () => {
  it("joins strings as UTF-8 and bytes in order", () => {
    const out = concatBytes(["a☃", new Uint8Array([1, 2]), ""]);
    assert.deepEqual([...out], [0x61, 0xe2, 0x98, 0x83, 1, 2]);
  });

  it("gives an empty array for no parts", () => {
    assert.equal(concatBytes([]).byteLength, 0);
  });
});
