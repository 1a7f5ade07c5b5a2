// Server-Sent Events framing round-tripped through the WHATWG parser of the test client (issue 11,
// item 12), with fast-check: any event the framer accepts is read back by an EventSource-exact
// parser as that event, however the bytes are split; anything else is refused with SSEFormatError
// and nothing else; framing and parsing take time linear in the event's size.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { assertLinear } from "../../test/helpers/linear.ts";
// Through the public testing entry, which keeps exporting the parser wherever it lives.
import { type ParsedEvent, SSEParser } from "../testing/index.ts";
import { formatData, formatEvent, type SSEEvent, SSEFormatError } from "./sse.ts";

const RUNS = { numRuns: 300 };

/** Text as it comes: any code unit, and plenty of line breaks, colons, spaces and NULs. */
const text = fc.oneof(
  fc.string({ unit: "grapheme", maxLength: 60 }),
  fc.string({
    unit: fc.constantFrom("a", " ", ":", "\r", "\n", "\r\n", "\0", "é", "\ufeff"),
    maxLength: 40,
  }),
);
/** A single-line field: no CR, LF or NUL. */
const field = text.map((s) => s.replace(/[\r\n\0]/g, ""));

const event = fc.record(
  {
    data: fc.oneof(text, fc.jsonValue()),
    event: field,
    id: fc.oneof(field, fc.integer()),
    retry: fc.nat(),
    comment: text,
  },
  { requiredKeys: [] },
);

/** Splits `s` at the given cut points, as a network might. */
function split(s: string, cuts: number[]): string[] {
  const points = [...new Set(cuts.map((c) => c % (s.length + 1)))].sort((a, b) => a - b);
  const out: string[] = [];
  let at = 0;
  for (const p of points) {
    out.push(s.slice(at, p));
    at = p;
  }
  out.push(s.slice(at));
  return out;
}

function parse(chunks: string[]): { events: ParsedEvent[]; parser: SSEParser } {
  const parser = new SSEParser();
  const events = chunks.flatMap((c) => parser.push(c));
  return { events, parser };
}

/** What an EventSource receives for an event: line breaks in data arrive as LF. */
function expected(ev: SSEEvent, lastId: string): ParsedEvent | undefined {
  if (ev.data === undefined) return undefined;
  const data =
    typeof ev.data === "string" ? ev.data.replace(/\r\n|\r/g, "\n") : JSON.stringify(ev.data);
  const out: ParsedEvent = {
    event: ev.event === undefined || ev.event === "" ? "message" : ev.event,
    data,
    id: ev.id === undefined ? lastId : String(ev.id),
  };
  if (ev.retry !== undefined) out.retry = ev.retry;
  return out;
}

describe("SSE framing through the WHATWG parser", () => {
  it("reads back every event it frames, however the stream is split", () => {
    fc.assert(
      fc.property(
        fc.array(event, { minLength: 1, maxLength: 5 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (events, cuts) => {
          const valid = events.filter((ev) => Object.keys(ev).length > 0);
          const stream = valid.map((ev) => formatEvent(ev)).join("");
          const { events: got, parser } = parse(split(stream, cuts));
          let lastId = "";
          let retry: number | undefined;
          const want: ParsedEvent[] = [];
          for (const ev of valid) {
            if (ev.id !== undefined) lastId = String(ev.id);
            if (ev.retry !== undefined) retry = ev.retry;
            const e = expected(ev, lastId);
            if (e === undefined) continue;
            if (retry !== undefined) e.retry = retry;
            want.push(e);
          }
          assert.deepEqual(got, want);
          assert.equal(parser.lastEventId, lastId);
        },
      ),
      RUNS,
    );
  });

  it("frames data-only events the same way", () => {
    fc.assert(
      fc.property(fc.oneof(text, fc.jsonValue()), (data) => {
        assert.equal(formatData(data), formatEvent({ data }));
      }),
      RUNS,
    );
  });

  it("refuses, with SSEFormatError only, what it cannot frame without changing its meaning", () => {
    const anything = fc.oneof(
      fc.anything(),
      fc.constant(Symbol("s")),
      fc.constant(() => 1),
      fc.bigInt(),
    );
    fc.assert(
      fc.property(
        fc.record(
          {
            data: anything,
            event: fc.oneof(text, anything),
            id: fc.oneof(text, anything),
            retry: anything,
            comment: fc.oneof(text, anything),
          },
          { requiredKeys: [] },
        ),
        (ev) => {
          let frame: string;
          try {
            frame = formatEvent(ev as SSEEvent);
          } catch (error) {
            assert.ok(error instanceof SSEFormatError, String(error));
            return;
          }
          // Accepted: exactly one event's worth, which the parser dispatches once at most.
          const { events } = parse([frame]);
          assert.ok(events.length <= 1);
          assert.ok(frame.endsWith("\n\n") || frame === "\n");
        },
      ),
      RUNS,
    );
  });

  it("parses any text without throwing, the same in one piece or split anywhere", () => {
    fc.assert(
      fc.property(
        fc.string({
          unit: fc.constantFrom(
            "data",
            "event",
            "id",
            "retry",
            ":",
            " ",
            "x",
            "1",
            "\r",
            "\n",
            "\0",
            "\ufeff",
          ),
          maxLength: 80,
        }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (stream, cuts) => {
          const whole = parse([stream]);
          const pieces = parse(split(stream, cuts));
          assert.deepEqual(pieces.events, whole.events);
          assert.equal(pieces.parser.lastEventId, whole.parser.lastEventId);
          assert.equal(pieces.parser.retry, whole.parser.retry);
        },
      ),
      RUNS,
    );
  });

  it("frames and parses in time linear in the event's size", () => {
    // Events are small in practice: 256 KiB against 256 bytes keeps the ratio and the suite quick.
    const sizes = { small: 256, big: 256 * 1024 };
    assertLinear(
      "data of line breaks",
      (n) => "\n".repeat(n),
      (data) => formatEvent({ data }),
      sizes,
    );
    assertLinear(
      "a long line",
      (n) => "x".repeat(n),
      (data) => formatEvent({ data }),
      sizes,
    );
    assertLinear(
      "a long comment",
      (n) => "a\r".repeat(Math.ceil(n / 2)),
      (comment) => formatEvent({ comment }),
      sizes,
    );
    assertLinear(
      "parsing many data lines",
      (n) => "data: x\n".repeat(Math.ceil(n / 8)),
      (s) => new SSEParser().push(s),
      sizes,
    );
    assertLinear(
      "parsing lone CRs",
      (n) => "\r".repeat(n),
      (s) => new SSEParser().push(s),
      sizes,
    );
    // A long line that arrives a little at a time: the parser must not re-scan what it holds.
    assertLinear(
      "parsing a line in 64-byte chunks",
      (n) =>
        split(
          `data: ${"y".repeat(n)}\n\n`,
          Array.from({ length: Math.ceil(n / 64) }, (_, i) => i * 64),
        ),
      (chunks) => {
        const parser = new SSEParser();
        for (const c of chunks) parser.push(c);
      },
      sizes,
    );
  });
});
