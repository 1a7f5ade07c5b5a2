import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { encodeNDJSON } from "./ndjson.ts";

describe("encodeNDJSON", () => {
  it("writes compact JSON followed by one LF", () => {
    assert.equal(encodeNDJSON({ id: 1, tags: ["a", "b"] }), '{"id":1,"tags":["a","b"]}\n');
    assert.equal(encodeNDJSON("s"), '"s"\n');
    assert.equal(encodeNDJSON(null), "null\n");
  });

  it("never writes a raw line break inside a value", () => {
    const line = encodeNDJSON({ text: "one\ntwo\r\nthree\u2028four\u2029" });
    assert.equal(line.indexOf("\n"), line.length - 1);
    assert.equal(line.includes("\r"), false);
    assert.equal(line, '{"text":"one\\ntwo\\r\\nthree\u2028four\u2029"}\n');
    assert.deepEqual(JSON.parse(line), { text: "one\ntwo\r\nthree\u2028four\u2029" });
  });

  it("refuses values without JSON text, naming them", () => {
    assert.throws(() => encodeNDJSON(undefined), {
      name: "TypeError",
      message: "NDJSON cannot encode undefined: it has no JSON text",
    });
    assert.throws(() => encodeNDJSON(() => 1), {
      name: "TypeError",
      message: "NDJSON cannot encode this function: it has no JSON text",
    });
    assert.throws(() => encodeNDJSON(Symbol("s")), /this symbol/);
    assert.throws(() => encodeNDJSON({ toJSON: () => undefined }), /this object/);
  });

  it("lets JSON's own errors through", () => {
    assert.throws(() => encodeNDJSON({ n: 1n }), TypeError);
  });
});
