import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { errnoStatus } from "./errno.ts";

const coded = (code: string) => Object.assign(new Error(code), { code });

describe("errnoStatus", () => {
  const table: [string, 403 | 404 | undefined][] = [
    ["ENOENT", 404],
    ["ENOTDIR", 404],
    ["ELOOP", 404],
    ["EISDIR", 404],
    ["ENAMETOOLONG", 404],
    ["ERR_INVALID_ARG_VALUE", 404],
    ["EACCES", 403],
    ["EPERM", 403],
    ["EMFILE", undefined],
    ["EIO", undefined],
  ];
  for (const [code, status] of table) {
    it(`maps ${code} to ${status ?? "a server fault"}`, () =>
      assert.equal(errnoStatus(coded(code)), status));
  }

  it("treats a value without a code as a server fault", () => {
    assert.equal(errnoStatus(new Error("x")), undefined);
    assert.equal(errnoStatus(null), undefined);
  });
});
