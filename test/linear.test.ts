// The linear-time check of the property tests (test/helpers/linear.ts) can fail: it refuses work
// that grows quadratically, and passes work that grows linearly.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assertLinear } from "./helpers/linear.ts";

/** Rescans the input from every 256th position: quadratic in its length. */
function quadratic(s: string): number {
  let found = 0;
  for (let i = 0; i < s.length; i += 256) found += s.indexOf("z", i) === -1 ? 0 : 1;
  for (let i = 0; i < s.length; i += 256) found += s.slice(0, i).lastIndexOf("z") === -1 ? 0 : 1;
  return found;
}

describe("assertLinear", () => {
  it("refuses a quadratic workload", () => {
    assert.throws(
      () =>
        assertLinear("rescanning", (n) => "a".repeat(n), quadratic, { small: 64, big: 64 * 1024 }),
      /at most 20× for linear time/,
    );
  });

  it("passes a linear one", () => {
    assertLinear(
      "one scan",
      (n) => "a".repeat(n),
      (s) => s.indexOf("z") + s.split("a").length,
    );
  });
});
