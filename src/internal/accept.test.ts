import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { mediaTypeAccepted, parseAccept } from "./accept.ts";

describe("parseAccept", () => {
  it("reads media ranges with their weights, lower-cased", () => {
    assert.deepEqual(parseAccept("Text/HTML, application/*;q=0.5, */*; q=0.1"), [
      { type: "text", subtype: "html", q: 1 },
      { type: "application", subtype: "*", q: 0.5 },
      { type: "*", subtype: "*", q: 0.1 },
    ]);
  });

  it("ignores parameters other than q", () => {
    assert.deepEqual(parseAccept("text/html;level=1;q=0.7"), [
      { type: "text", subtype: "html", q: 0.7 },
    ]);
  });

  it("leaves out members that are not media ranges or carry a bad weight", () => {
    for (const field of [
      "html",
      "*/html",
      "text/",
      "/html",
      "text/html;q=2",
      "text/html;q=0.1234",
      "text/html;q",
      "te xt/html",
      "",
    ]) {
      assert.deepEqual(parseAccept(field), [], field);
    }
  });
});

describe("mediaTypeAccepted", () => {
  const cases: [string | undefined, boolean][] = [
    [undefined, true],
    ["", true],
    ["text/html", true],
    ["text/*", true],
    ["*/*", true],
    ["application/json", false],
    ["text/html;q=0", false],
    ["text/html;q=0, */*", false],
    ["*/*;q=0, text/html;q=0.1", true],
    ["text/*;q=0, text/html", true],
    ["text/*;q=0", false],
    ["text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", true],
    ["garbage", true],
  ];
  for (const [field, expected] of cases) {
    it(`${expected ? "accepts" : "refuses"} text/html for ${JSON.stringify(field)}`, () => {
      assert.equal(mediaTypeAccepted(field, "text/html"), expected);
    });
  }
});
