import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type ParsedEvent, SSEParser } from "./event-stream.ts";
import {
  formatComment,
  formatData,
  formatEvent,
  frameData,
  frameHead,
  PING,
  type SSEEvent,
  SSEFormatError,
  validateSSEEvent,
} from "./sse.ts";

function parse(frames: string): ParsedEvent[] {
  const parser = new SSEParser();
  return [...parser.push(frames), ...parser.end()];
}

describe("formatData", () => {
  it("sends a string as is after one space", () => {
    assert.equal(formatData("hello"), "data: hello\n\n");
  });

  it("keeps a leading space of the value, since the client strips only one", () => {
    assert.equal(formatData("  x"), "data:   x\n\n");
    assert.equal(parse(formatData("  x"))[0]?.data, "  x");
  });

  it("sends any other value as compact JSON", () => {
    assert.equal(formatData({ a: [1, "b"] }), 'data: {"a":[1,"b"]}\n\n');
    assert.equal(formatData(42), "data: 42\n\n");
    assert.equal(formatData(null), "data: null\n\n");
    assert.equal(formatData(false), "data: false\n\n");
  });

  it("sends an empty string as one empty data line, which dispatches an empty message", () => {
    assert.equal(formatData(""), "data:\n\n");
    assert.deepEqual(parse(formatData("")), [{ event: "message", data: "", id: "" }]);
  });

  it("splits LF, CR and CRLF into separate data lines", () => {
    assert.equal(formatData("a\nb"), "data: a\ndata: b\n\n");
    assert.equal(formatData("a\rb"), "data: a\ndata: b\n\n");
    assert.equal(formatData("a\r\nb"), "data: a\ndata: b\n\n");
    assert.equal(formatData("a\n\nb"), "data: a\ndata:\ndata: b\n\n");
  });

  it("turns a trailing newline into a trailing empty data line", () => {
    assert.equal(formatData("a\n"), "data: a\ndata:\n\n");
    assert.equal(parse(formatData("a\n"))[0]?.data, "a\n");
  });

  it("refuses a value that has no JSON text", () => {
    assert.throws(() => formatData(() => 1), SSEFormatError);
    assert.throws(() => formatData(Symbol("s")), SSEFormatError);
    assert.throws(() => formatData({ toJSON: () => undefined }), SSEFormatError);
  });

  it("turns JSON failures into SSEFormatError with the cause attached", () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.throws(
      () => formatData(cyclic),
      (err: unknown) => err instanceof SSEFormatError && err.cause instanceof TypeError,
    );
    assert.throws(() => formatData({ n: 1n }), SSEFormatError);
  });
});

describe("formatEvent", () => {
  it("writes comment, event, id, retry and data in that order", () => {
    assert.equal(
      formatEvent({ data: "d", retry: 3000, id: "7", event: "tick", comment: "c" }),
      ": c\nevent: tick\nid: 7\nretry: 3000\ndata: d\n\n",
    );
  });

  it("writes a numeric id as its decimal text", () => {
    assert.equal(formatEvent({ id: 42, data: 1 }), "id: 42\ndata: 1\n\n");
  });

  it("writes an empty id, which resets the client's last event ID", () => {
    assert.equal(formatEvent({ id: "" }), "id:\n\n");
    const parser = new SSEParser();
    parser.push(formatEvent({ id: "5", data: "x" }));
    assert.deepEqual(parser.push(formatEvent({ id: "", data: "y" })), [
      { event: "message", data: "y", id: "" },
    ]);
  });

  it("sends a lone event or id without data", () => {
    assert.equal(formatEvent({ event: "noop" }), "event: noop\n\n");
    assert.equal(formatEvent({ id: 3 }), "id: 3\n\n");
    assert.equal(formatEvent({ retry: 0 }), "retry: 0\n\n");
  });

  it("writes each line of a multi-line comment as its own comment line", () => {
    assert.equal(formatEvent({ comment: "one\ntwo\r\n\rthree" }), ": one\n: two\n:\n: three\n\n");
  });

  it("treats undefined fields as absent", () => {
    assert.equal(formatEvent({ data: "x", event: undefined, id: undefined }), "data: x\n\n");
  });

  for (const [name, bad] of [
    ["CR", "a\rb"],
    ["LF", "a\nb"],
    ["CRLF", "a\r\nb"],
    ["NUL", "a\0b"],
    ["a trailing LF", "ab\n"],
  ] as const) {
    it(`refuses ${name} in event`, () => {
      assert.throws(() => formatEvent({ event: bad, data: "x" }), {
        name: "SSEFormatError",
        message: "SSE event must not contain CR, LF or NUL",
      });
    });

    it(`refuses ${name} in id`, () => {
      assert.throws(() => formatEvent({ id: bad, data: "x" }), {
        name: "SSEFormatError",
        message: "SSE id must not contain CR, LF or NUL",
      });
    });
  }

  it("refuses a retry that is not a non-negative safe integer", () => {
    for (const retry of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, "100"]) {
      assert.throws(() => formatEvent({ retry: retry as number }), SSEFormatError, String(retry));
    }
  });

  it("refuses an id that is a non-finite number", () => {
    assert.throws(() => formatEvent({ id: Number.NaN }), SSEFormatError);
    assert.throws(() => formatEvent({ id: Number.POSITIVE_INFINITY }), SSEFormatError);
  });

  it("refuses an event with nothing to send", () => {
    assert.throws(() => formatEvent({}), SSEFormatError);
    assert.throws(() => formatEvent({ data: undefined }), SSEFormatError);
  });

  it("refuses fields of the wrong type from untyped callers", () => {
    assert.throws(() => formatEvent({ event: 1 } as unknown as SSEEvent), SSEFormatError);
    assert.throws(() => formatEvent({ id: {} } as unknown as SSEEvent), SSEFormatError);
    assert.throws(() => formatEvent({ comment: 1 } as unknown as SSEEvent), SSEFormatError);
    assert.throws(() => formatEvent(null as unknown as SSEEvent), SSEFormatError);
  });

  it("round-trips through the parser", () => {
    const events: SSEEvent[] = [
      { data: "plain" },
      { event: "update", id: 1, data: { text: "line one\nline two", n: 2 } },
      { data: "ends with newline\n\n", comment: "note\nsecond" },
      { event: "☃ snow", id: "id with spaces", data: " leading and trailing " },
      { data: "" },
    ];
    const parsed = parse(events.map(formatEvent).join(""));
    assert.deepEqual(parsed, [
      { event: "message", data: "plain", id: "" },
      { event: "update", data: '{"text":"line one\\nline two","n":2}', id: "1" },
      { event: "message", data: "ends with newline\n\n", id: "1" },
      { event: "☃ snow", data: " leading and trailing ", id: "id with spaces" },
      { event: "message", data: "", id: "id with spaces" },
    ]);
  });

  it("round-trips a retry, which the client keeps for later events", () => {
    const parsed = parse(formatEvent({ retry: 2500 }) + formatData("x"));
    assert.deepEqual(parsed, [{ event: "message", data: "x", id: "", retry: 2500 }]);
  });
});

describe("frameHead and frameData", () => {
  it("frame the fields before the data, and the data with the blank line, as formatEvent does", () => {
    const cases: SSEEvent[] = [
      { data: "d", retry: 3000, id: "7", event: "tick", comment: "c\nd" },
      { id: 0, data: { i: 0 } },
      { event: "e", data: "" },
      { data: "a\r\nb\rc\n" },
    ];
    for (const ev of cases) {
      assert.equal(frameHead(ev) + frameData(ev.data), formatEvent(ev));
    }
    assert.equal(frameHead({ event: "tick", id: 1 }), "event: tick\nid: 1\n");
    assert.equal(frameData({ n: 1 }), 'data: {"n":1}\n\n');
  });

  it("refuse data that has no JSON text", () => {
    assert.throws(() => frameData(() => 1), SSEFormatError);
    assert.throws(() => frameData(1n), SSEFormatError);
  });
});

describe("validateSSEEvent", () => {
  it("accepts a well-formed event", () => {
    assert.equal(validateSSEEvent({ event: "e", id: 1, retry: 10, data: { a: 1 } }), undefined);
  });

  it("names the problem with a bad event", () => {
    assert.equal(validateSSEEvent({ id: "a\nb" }), "SSE id must not contain CR, LF or NUL");
    assert.equal(validateSSEEvent({ retry: -5 }), "SSE retry must be a non-negative safe integer");
    assert.equal(validateSSEEvent({ data: 1n }), "SSE data of type bigint cannot be sent as JSON");
    assert.equal(
      validateSSEEvent({}),
      "an SSE event must have at least one of data, event, id, retry or comment",
    );
    assert.equal(validateSSEEvent("data"), "an SSE event must be an object");
  });
});

describe("formatComment and PING", () => {
  it("frames a comment on its own", () => {
    assert.equal(formatComment("hello"), ": hello\n\n");
    assert.equal(formatComment("a\nb"), ": a\n: b\n\n");
    assert.equal(formatComment(""), ":\n\n");
  });

  it("makes PING a comment the client ignores", () => {
    assert.equal(PING, formatComment("ping"));
    assert.deepEqual(parse(PING + formatData("after")), [
      { event: "message", data: "after", id: "" },
    ]);
  });
});
