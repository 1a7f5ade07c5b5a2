import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { csvEncoder, csvField, csvRow } from "./csv.ts";

describe("csvField", () => {
  it("writes plain text unquoted", () => {
    assert.equal(csvField("plain text"), "plain text");
    assert.equal(csvField("☃ snow"), "☃ snow");
  });

  it("quotes a field with a comma, a quote, CR or LF, doubling the quotes", () => {
    assert.equal(csvField("a,b"), '"a,b"');
    assert.equal(csvField('say "hi"'), '"say ""hi"""');
    assert.equal(csvField('"'), '""""');
    assert.equal(csvField("line\nbreak"), '"line\nbreak"');
    assert.equal(csvField("cr\rhere"), '"cr\rhere"');
    assert.equal(csvField("crlf\r\n"), '"crlf\r\n"');
  });

  it("quotes a field with leading or trailing spaces or tabs", () => {
    assert.equal(csvField(" lead"), '" lead"');
    assert.equal(csvField("trail "), '"trail "');
    assert.equal(csvField("\ttab"), '"\ttab"');
    assert.equal(csvField("in side"), "in side");
  });

  it("writes null and undefined as an empty field", () => {
    assert.equal(csvField(null), "");
    assert.equal(csvField(undefined), "");
  });

  it("writes numbers, bigints and booleans as their text", () => {
    assert.equal(csvField(-1.5), "-1.5");
    assert.equal(csvField(12345678901234567890n), "12345678901234567890");
    assert.equal(csvField(true), "true");
  });

  it("writes a Date as ISO 8601 and refuses an invalid one", () => {
    assert.equal(csvField(new Date(Date.UTC(2024, 1, 29, 12, 0, 1))), "2024-02-29T12:00:01.000Z");
    assert.throws(() => csvField(new Date(Number.NaN)), RangeError);
  });

  it("writes other objects and arrays as quoted JSON", () => {
    assert.equal(csvField({ a: 1, b: "x" }), '"{""a"":1,""b"":""x""}"');
    assert.equal(csvField([1]), "[1]");
  });

  it("refuses functions, symbols and objects without JSON text", () => {
    assert.throws(() => csvField(() => 1), TypeError);
    assert.throws(() => csvField(Symbol("s")), TypeError);
    assert.throws(() => csvField({ toJSON: () => undefined }), TypeError);
  });

  it("leaves formula-like text alone by default", () => {
    assert.equal(csvField("=SUM(A1:A2)"), "=SUM(A1:A2)");
  });

  it("prefixes a quote to formula-like text when asked", () => {
    const opts = { escapeFormulae: true };
    assert.equal(csvField("=1+1", opts), "'=1+1");
    assert.equal(csvField("+1", opts), "'+1");
    assert.equal(csvField("-1", opts), "'-1");
    assert.equal(csvField("@cmd", opts), "'@cmd");
    assert.equal(csvField("\tx", opts), "'\tx");
    assert.equal(csvField("\rx", opts), '"\'\rx"');
    assert.equal(csvField('=HYPERLINK("x")', opts), '"\'=HYPERLINK(""x"")"');
    assert.equal(csvField("a=b", opts), "a=b");
  });

  it("never prefixes numbers, even negative ones", () => {
    assert.equal(csvField(-5, { escapeFormulae: true }), "-5");
    assert.equal(csvField(-5n, { escapeFormulae: true }), "-5");
  });
});

describe("csvRow", () => {
  it("joins fields with commas and ends the record with CRLF", () => {
    assert.equal(csvRow(["a", 1, null, true, "b,c"]), 'a,1,,true,"b,c"\r\n');
  });

  it("writes a record of one empty field as a quoted empty string", () => {
    assert.equal(csvRow([""]), '""\r\n');
    assert.equal(csvRow([null]), '""\r\n');
    assert.equal(csvRow(["", ""]), ",\r\n");
  });

  it("writes an empty array as a bare line end", () => {
    assert.equal(csvRow([]), "\r\n");
  });

  it("passes options to every field", () => {
    assert.equal(csvRow(["=a", "b"], { escapeFormulae: true }), "'=a,b\r\n");
  });
});

describe("csvEncoder", () => {
  it("writes the header from the first object's keys before the first row only", () => {
    const encode = csvEncoder();
    assert.equal(encode({ id: 1, name: "Ada" }), "id,name\r\n1,Ada\r\n");
    assert.equal(encode({ name: "Bo", id: 2 }), "2,Bo\r\n");
  });

  it("uses the given columns in order, leaving missing keys empty and dropping extra ones", () => {
    const encode = csvEncoder(["b", "a"]);
    assert.equal(encode({ a: 1, b: 2, c: 3 }), "b,a\r\n2,1\r\n");
    assert.equal(encode({ a: 4 }), ",4\r\n");
  });

  it("omits the header when asked", () => {
    const encode = csvEncoder(["a"], { header: false });
    assert.equal(encode({ a: 1 }), "1\r\n");
    assert.equal(encode({ a: 2 }), "2\r\n");
  });

  it("writes array rows as they are, after the header of given columns", () => {
    const encode = csvEncoder(["x", "y"]);
    assert.equal(encode([1, 2]), "x,y\r\n1,2\r\n");
    assert.equal(encode([3, 4, 5]), "3,4,5\r\n");
  });

  it("writes no header for array rows without columns", () => {
    const encode = csvEncoder();
    assert.equal(encode(["a", "b"]), "a,b\r\n");
    assert.throws(() => encode({ a: 1 }), TypeError);
  });

  it("quotes and escapes header names like any field", () => {
    const encode = csvEncoder(["full name", "=x", "a,b"], { escapeFormulae: true });
    assert.equal(encode(["A", "B", "C"]), 'full name,\'=x,"a,b"\r\nA,B,C\r\n');
  });

  it("refuses a row that is neither an object nor an array", () => {
    const encode = csvEncoder(["a"]);
    assert.throws(() => encode(null as unknown as unknown[]), TypeError);
    assert.throws(() => encode("a" as unknown as unknown[]), TypeError);
  });

  it("does not see later changes to the columns array", () => {
    const columns = ["a"];
    const encode = csvEncoder(columns);
    columns.push("b");
    assert.equal(encode({ a: 1, b: 2 }), "a\r\n1\r\n");
  });
});
