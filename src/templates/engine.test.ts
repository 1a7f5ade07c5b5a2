import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { checkTemplateName, TemplateError } from "./engine.ts";

describe("checkTemplateName", () => {
  const accepted: [string, string][] = [
    ["accepts a bare name", "hello"],
    ["accepts a name with an extension", "hello.liquid"],
    ["accepts a nested name", "emails/welcome.liquid"],
    ["accepts .. inside a name", "do..ts.liquid"],
    ["accepts a snowman and a space", "☃ page.liquid"],
    ["accepts a dotfile-like name", ".partial"],
  ];
  for (const [name, raw] of accepted) {
    it(name, () => assert.equal(checkTemplateName(raw), raw));
  }

  const refused: [string, string][] = [
    ["refuses an empty name", ""],
    ["refuses ..", "../secret"],
    ["refuses .. in the middle", "a/../../secret"],
    ["refuses a trailing ..", "a/.."],
    ["refuses .", "./hello"],
    ["refuses an empty segment", "a//b"],
    ["refuses a trailing slash", "a/"],
    ["refuses an absolute path", "/etc/passwd"],
    ["refuses a NUL", "hello\0.liquid"],
    ["refuses a newline", "hel\nlo"],
    ["refuses DEL", "hel\x7flo"],
    ["refuses a backslash", "..\\secret"],
    ["refuses a drive letter", "C:/Windows/win.ini"],
    ["refuses a colon anywhere", "a:b"],
    ["refuses an overlong name", "a".repeat(1025)],
  ];
  for (const [name, raw] of refused) {
    it(name, () =>
      assert.throws(
        () => checkTemplateName(raw),
        (err: unknown) => err instanceof TemplateError && err.template === raw,
      ),
    );
  }

  it("refuses a value that is not a string", () => {
    assert.throws(() => checkTemplateName(42 as unknown as string), TemplateError);
  });

  it("names the template in the error message, quoted so control characters show", () => {
    assert.throws(() => checkTemplateName("a\0b"), { message: /^template "a\\u0000b": / });
  });
});
