/**
 * CSV framing per RFC 4180: fields separated by commas, records ended by CRLF, a field quoted when
 * it holds a comma, a quote or a line break, quotes inside doubled. Pure functions; one call returns
 * the exact text of a field, a record or (for the encoder) a header plus a record.
 */

/**
 * Options shared by the CSV functions.
 *
 * @example
 * const opts: CSVOptions = { escapeFormulae: true };
 */
export type CSVOptions = {
  /**
   * Off by default. When on, a text field that starts with `=`, `+`, `-`, `@`, tab or CR gets a
   * leading `'`, so that a spreadsheet shows it as text instead of running it as a formula (OWASP,
   * "CSV Injection"). It changes the data, so enable it for files meant for spreadsheets, not for
   * machine exchange. Numbers and bigints are never prefixed: `-5` is data, not a formula.
   */
  escapeFormulae?: boolean;
};

/**
 * Options of `csvEncoder`.
 *
 * @example
 * const opts: CSVEncoderOptions = { header: false };
 */
export type CSVEncoderOptions = CSVOptions & {
  /** Whether the first call writes a header record of the column names; default true. */
  header?: boolean;
};

// RFC 4180 §2.6 requires quotes for CR, LF, comma and quote. Edge spaces and tabs are quoted too,
// because many readers trim unquoted fields (RFC 4180 §2.4 says spaces are part of a field).
const NEEDS_QUOTES = /[",\r\n]|^[ \t]|[ \t]$/;
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * Renders one value as a CSV field. null and undefined become an empty field; a Date becomes its
 * ISO 8601 text (an invalid Date throws RangeError); strings, numbers, bigints and booleans become
 * their text; any other object or array becomes its JSON text, so that nested data survives in one
 * cell. Functions, symbols and values whose JSON text is undefined throw TypeError rather than
 * writing something the producer did not mean.
 *
 * @example
 * csvField('say "hi", then go'); // '"say ""hi"", then go"'
 */
export function csvField(value: unknown, opts?: CSVOptions): string {
  let text = fieldText(value);
  if (
    opts?.escapeFormulae === true &&
    typeof value !== "number" &&
    typeof value !== "bigint" &&
    FORMULA_START.test(text)
  ) {
    text = "'" + text;
  }
  return NEEDS_QUOTES.test(text) ? '"' + text.replaceAll('"', '""') + '"' : text;
}

/**
 * Renders one record: fields joined by commas, ended by CRLF (RFC 4180 §2.1). A record of one
 * empty field is written as `""` so that it is not read as a blank line, which many readers skip;
 * an empty array gives a bare CRLF.
 *
 * @example
 * csvRow(["a", 1, null, true]); // "a,1,,true\r\n"
 */
export function csvRow(values: readonly unknown[], opts?: CSVOptions): string {
  if (values.length === 1) {
    const only = csvField(values[0], opts);
    return (only === "" ? '""' : only) + "\r\n";
  }
  let line = "";
  for (let i = 0; i < values.length; i++) {
    if (i > 0) line += ",";
    line += csvField(values[i], opts);
  }
  return line + "\r\n";
}

/**
 * Makes a stateful encoder for one CSV stream. The columns are fixed by the first call: the ones
 * given, or else the keys of the first row if it is an object. That first call also returns the
 * header record (RFC 4180 §2.3) before the row, unless `header` is false or there are no columns.
 * Object rows are written in column order (a missing key gives an empty field, an extra key is
 * left out); array rows are written as they are. An object row with no columns known throws
 * TypeError, as does a row that is neither an object nor an array.
 *
 * @example
 * const encode = csvEncoder();
 * encode({ id: 1, name: "Ada" }); // "id,name\r\n1,Ada\r\n"
 * encode({ id: 2, name: "Bo" });  // "2,Bo\r\n"
 */
export function csvEncoder(
  columns?: readonly string[],
  opts?: CSVEncoderOptions,
): (row: Record<string, unknown> | readonly unknown[]) => string {
  let keys: readonly string[] | undefined = columns === undefined ? undefined : [...columns];
  let started = false;
  return (row) => {
    if (typeof row !== "object" || row === null) {
      throw new TypeError("a CSV row must be an object or an array");
    }
    let head = "";
    if (!started) {
      started = true;
      if (keys === undefined && !Array.isArray(row)) keys = Object.keys(row);
      if (keys !== undefined && opts?.header !== false) head = csvRow(keys, opts);
    }
    if (Array.isArray(row)) return head + csvRow(row, opts);
    if (keys === undefined) {
      throw new TypeError(
        "an object CSV row needs columns: pass them, or start with an object row",
      );
    }
    const record = row as Record<string, unknown>;
    return (
      head +
      csvRow(
        keys.map((key) => record[key]),
        opts,
      )
    );
  };
}

function fieldText(value: unknown): string {
  switch (typeof value) {
    case "string":
      return value;
    case "number":
    case "bigint":
    case "boolean":
      return String(value);
    case "undefined":
      return "";
    case "function":
    case "symbol":
      throw new TypeError(`a ${typeof value} cannot be written as a CSV field`);
  }
  if (value === null) return "";
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime()))
      throw new RangeError("an invalid Date cannot be a CSV field");
    return value.toISOString();
  }
  const json = JSON.stringify(value);
  if (json === undefined) throw new TypeError("this object has no JSON text for a CSV field");
  return json;
}
