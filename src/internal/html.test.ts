import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { escapeHTML } from "./html.ts";

describe("escapeHTML", () => {
  it("escapes the five characters that can open markup or close an attribute", () => {
    assert.equal(
      escapeHTML(`<a href="x" title='y'>&</a>`),
      "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;",
    );
  });
  it("leaves other text, including non-ASCII, as it is", () => {
    assert.equal(escapeHTML("héllo ☃ world"), "héllo ☃ world");
  });
});
