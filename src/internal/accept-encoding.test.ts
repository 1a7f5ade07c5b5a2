import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { chooseEncoding, parseAcceptEncoding } from "./accept-encoding.ts";

const OFFER = ["br", "gzip"];

describe("chooseEncoding", () => {
  const table: [string, string | undefined, string | undefined][] = [
    ["sends identity without the header", undefined, undefined],
    ["sends identity for an empty header", "", undefined],
    ["sends identity when only identity is accepted", "identity", undefined],
    ["prefers the server's order on a tie", "gzip, br", "br"],
    ["takes the only accepted coding", "gzip, deflate", "gzip"],
    ["follows the client's weights", "br;q=0.5, gzip;q=0.8", "gzip"],
    ["never picks a coding rated q=0", "br;q=0, gzip", "gzip"],
    ["sends identity when everything offered is q=0", "br;q=0, gzip;q=0", undefined],
    ["reads * as any coding not named", "*", "br"],
    ["lets a named q=0 beat *", "br;q=0, *;q=0.5", "gzip"],
    ["sends identity for *;q=0", "*;q=0", undefined],
    ["reads x-gzip as gzip", "x-gzip", "gzip"],
    ["compares names case-insensitively", "GZIP", "gzip"],
    ["accepts Q= and spaces around the weight", "gzip ; Q=0.9 , br;q=0.1", "gzip"],
    ["accepts q=1.000", "br;q=1.000", "br"],
    ["keeps the first rating of a repeated name", "br;q=0, br;q=1, gzip", "gzip"],
    ["ignores a header with a malformed weight", "br;q=2", undefined],
    ["ignores a header with too many decimals", "br;q=0.0001", undefined],
    ["ignores a header with another parameter", "br;level=9", undefined],
    ["ignores a header with a bad token", "b r", undefined],
    ["tolerates empty list elements", ", ,gzip,", "gzip"],
  ];
  for (const [name, header, expected] of table) {
    it(name, () => assert.equal(chooseEncoding(header, OFFER), expected));
  }

  it("chooses nothing when nothing is offered", () => {
    assert.equal(chooseEncoding("br, gzip", []), undefined);
  });

  it("parses a long header in linear time", () => {
    const header = `${"a;q=0.5, ".repeat(100_000)}gzip`;
    const t = performance.now();
    assert.equal(chooseEncoding(header, OFFER), "gzip");
    assert.ok(performance.now() - t < 1000);
  });
});

describe("parseAcceptEncoding", () => {
  it("maps each coding to its weight", () => {
    assert.deepEqual(
      parseAcceptEncoding("gzip;q=0.5, br"),
      new Map([
        ["gzip", 0.5],
        ["br", 1],
      ]),
    );
  });

  it("refuses a weight without a coding", () => {
    assert.equal(parseAcceptEncoding(";q=0.5"), undefined);
  });
});
