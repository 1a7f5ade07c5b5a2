import { contentDisposition } from "../internal/content-disposition.ts";
import { csvEncoder, csvRow } from "../internal/csv.ts";
import type { Chunk, Encoder, StreamInit, StreamSource } from "./stream.ts";
import { StreamingResponse } from "./stream.ts";

/** A CSV row: an object (values taken by column) or an array (values in order). */
export type CSVRow = Record<string, unknown> | readonly unknown[];

/** Options of a CSV response. */
export interface CSVInit<T extends CSVRow> extends Omit<StreamInit<T>, "mediaType"> {
  /** Column names: the header row, and the keys taken from object rows (default: the first object's keys). */
  columns?: readonly string[];
  /** Send a header row (default true). */
  header?: boolean;
  /** Offer the body as a download with this file name (Content-Disposition: attachment). */
  filename?: string;
  /** Prefix cells that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`) with `'`. Off by default. */
  escapeFormulae?: boolean;
}

/**
 * A CSV stream (`text/csv`, RFC 4180): a header row, then one CRLF-terminated line per row, values
 * quoted where they hold commas, quotes or line breaks.
 *
 * @example
 * app.get("/people.csv", () => new CSVResponse(db.people(), { columns: ["id", "name"], filename: "people.csv" }));
 */
export class CSVResponse<T extends CSVRow = CSVRow> extends StreamingResponse<T> {
  readonly #columns: readonly string[] | undefined;
  readonly #header: boolean;
  readonly #escape: boolean;

  constructor(source: StreamSource<T>, init?: CSVInit<T>) {
    const header = init?.header ?? true;
    super(source, init, `text/csv; charset=utf-8; header=${header ? "present" : "absent"}`);
    this.#columns = init?.columns;
    this.#header = header;
    this.#escape = init?.escapeFormulae ?? false;
    if (init?.filename !== undefined) {
      this.setHeader("content-disposition", contentDisposition(init.filename, "attachment"));
    }
  }

  protected override prelude(): Chunk | undefined {
    // Known columns give the header at once, also for a stream with no rows.
    return this.#columns && this.#header
      ? csvRow(this.#columns, { escapeFormulae: this.#escape })
      : undefined;
  }

  protected override encoder(): Encoder<T> {
    return csvEncoder(this.#columns, {
      header: this.#columns ? false : this.#header,
      escapeFormulae: this.#escape,
    });
  }
}
