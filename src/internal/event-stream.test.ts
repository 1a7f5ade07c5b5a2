import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  LineSplitter,
  type ParsedEvent,
  parseLines,
  parseNDJSON,
  parseSSE,
  SSEParser,
} from "./event-stream.ts";

function parseAll(...chunks: string[]): ParsedEvent[] {
  const parser = new SSEParser();
  const events = chunks.flatMap((chunk) => parser.push(chunk));
  return [...events, ...parser.end()];
}

// Every way of cutting the input in two must give the same events as the whole.
function parseEverySplit(text: string): ParsedEvent[] {
  const whole = parseAll(text);
  for (let i = 0; i <= text.length; i++) {
    assert.deepEqual(parseAll(text.slice(0, i), text.slice(i)), whole, `split at ${i}`);
  }
  assert.deepEqual(parseAll(...text), whole, "one character at a time");
  return whole;
}

async function* from<T>(...chunks: T[]): AsyncGenerator<T> {
  for (const chunk of chunks) yield chunk;
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

const message = (data: string, id = "", event = "message"): ParsedEvent => ({ event, data, id });

describe("SSEParser", () => {
  it("dispatches an event at a blank line", () => {
    assert.deepEqual(parseEverySplit("data: hello\n\n"), [message("hello")]);
  });

  it("ends lines at CRLF, LF or CR alike", () => {
    const expected = [message("a\nb"), message("c")];
    assert.deepEqual(parseEverySplit("data: a\ndata: b\n\ndata: c\n\n"), expected);
    assert.deepEqual(parseEverySplit("data: a\r\ndata: b\r\n\r\ndata: c\r\n\r\n"), expected);
    assert.deepEqual(parseEverySplit("data: a\rdata: b\r\rdata: c\r\r"), expected);
    assert.deepEqual(parseEverySplit("data: a\rdata: b\n\r\ndata: c\r\n\n"), expected);
  });

  it("reads a CR at the end of one chunk and an LF at the start of the next as one line end", () => {
    assert.deepEqual(parseAll("data: a\r", "\ndata: b\r", "\n\r", "\n"), [message("a\nb")]);
  });

  it("strips one BOM at the start of the stream, and only one", () => {
    assert.deepEqual(parseEverySplit("\uFEFFdata: x\n\n"), [message("x")]);
    // The second BOM is part of the field name, which is then unknown.
    assert.deepEqual(parseAll("\uFEFF\uFEFFdata: x\n\n"), []);
    assert.deepEqual(parseAll("data: x\n\n", "\uFEFFdata: y\n\n"), [message("x")]);
  });

  it("strips one leading space from a value, not more", () => {
    assert.deepEqual(parseAll("data:  two\n\ndata:none\n\n"), [message(" two"), message("none")]);
  });

  it("treats a line without a colon as a field with an empty value", () => {
    assert.deepEqual(parseAll("data\n\n"), [message("")]);
    assert.deepEqual(parseAll("data\ndata\n\n"), [message("\n")]);
  });

  it("does not dispatch when the data buffer is empty", () => {
    assert.deepEqual(parseAll("event: x\n\n", "id: 1\n\n", "\n\n"), []);
  });

  it("resets the event type after each dispatch, even one with no data", () => {
    assert.deepEqual(parseAll("event: a\n\ndata: 1\n\nevent: b\ndata: 2\n\ndata: 3\n\n"), [
      message("1"),
      message("2", "", "b"),
      message("3"),
    ]);
  });

  it("keeps the last event ID across events until an id field resets it", () => {
    assert.deepEqual(parseAll("id: 1\ndata: a\n\ndata: b\n\nid\ndata: c\n\n"), [
      message("a", "1"),
      message("b", "1"),
      message("c", ""),
    ]);
  });

  it("ignores an id containing NUL", () => {
    assert.deepEqual(parseAll("id: 1\ndata: a\n\nid: 2\0\ndata: b\n\n"), [
      message("a", "1"),
      message("b", "1"),
    ]);
  });

  it("accepts retry only when it is all ASCII digits", () => {
    const parser = new SSEParser();
    parser.push("retry: 1000\n\n");
    assert.equal(parser.retry, 1000);
    for (const bad of ["-1", "1.5", "  5", "5 ", "1e3", "", "١٢"]) {
      parser.push(`retry:${bad}\n\n`);
      assert.equal(parser.retry, 1000, JSON.stringify(bad));
    }
    assert.deepEqual(parser.push("data: x\n\n"), [{ ...message("x"), retry: 1000 }]);
  });

  it("ignores comments and unknown fields", () => {
    assert.deepEqual(parseAll(": hi\nfoo: bar\nData: no\ndata: yes\n:\n\n"), [message("yes")]);
  });

  it("discards an incomplete event and an unterminated line at the end of the stream", () => {
    const parser = new SSEParser();
    assert.deepEqual(parser.push("data: done\n\ndata: partial\n"), [message("done")]);
    assert.deepEqual(parser.end(), []);
    assert.deepEqual(parseAll("data: x\n\ndata: y"), [message("x")]);
    assert.deepEqual(parseAll("data: x\n"), []);
  });

  it("keeps the last event ID and retry across end(), as a reconnecting client does", () => {
    const parser = new SSEParser();
    parser.push("id: 9\nretry: 5\ndata: a\n\ndata: lost\n");
    parser.end();
    assert.deepEqual(parser.push("data: b\n\n"), [{ ...message("b", "9"), retry: 5 }]);
  });

  it("moves the last event ID string only at a blank line, also for an event without data", () => {
    const parser = new SSEParser();
    parser.push("id: 1\ndata: a\n\n");
    assert.equal(parser.dispatchedId, "1");
    parser.push("id: 2\n\n");
    assert.equal(parser.dispatchedId, "2", "an id-only event moves it");
    parser.push("id: 3\ndata: cut");
    assert.equal(parser.lastEventId, "3");
    assert.equal(
      parser.dispatchedId,
      "2",
      "an id in an event cut off before its blank line does not",
    );
    parser.end();
    assert.equal(parser.dispatchedId, "2");
  });

  it("splits only on the first colon", () => {
    assert.deepEqual(parseAll("data: a: b\n\n"), [message("a: b")]);
  });
});

describe("parseSSE", () => {
  it("decodes UTF-8 split across byte chunks", async () => {
    const bytes = new TextEncoder().encode("data: ☃ snow\n\n");
    const chunks = [...bytes].map((byte) => Uint8Array.of(byte));
    assert.deepEqual(await collect(parseSSE(from(...chunks))), [message("☃ snow")]);
  });

  it("strips exactly one BOM from a byte stream", async () => {
    const bytes = new TextEncoder().encode("\uFEFFdata: x\n\n");
    assert.equal(bytes[0], 0xef);
    assert.deepEqual(await collect(parseSSE(from(bytes))), [message("x")]);
  });

  it("yields events from string chunks as they complete", async () => {
    assert.deepEqual(await collect(parseSSE(from("data: a\n", "\nda", "ta: b\n\n"))), [
      message("a"),
      message("b"),
    ]);
  });

  it("reads a response body, and cancels it when the consumer stops early", async () => {
    let cancelled = false;
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode("data: 1\n\ndata: 2\n\n"));
      },
      cancel() {
        cancelled = true;
      },
    });
    for await (const ev of parseSSE(body)) {
      assert.equal(ev.data, "1");
      break;
    }
    assert.equal(cancelled, true);
  });

  it("returns the chunk source when the consumer stops early", async () => {
    let closed = false;
    async function* source() {
      try {
        yield "data: 1\n\n";
        yield "data: 2\n\n";
      } finally {
        closed = true;
      }
    }
    for await (const ev of parseSSE(source())) {
      assert.equal(ev.data, "1");
      break;
    }
    assert.equal(closed, true);
  });
});

describe("parseLines", () => {
  it("splits at LF and drops a CR before it", async () => {
    assert.deepEqual(await collect(parseLines(from("a\r\nb\n", "c\rd\n\n"))), [
      "a",
      "b",
      "c\rd",
      "",
    ]);
  });

  it("joins a line split across chunks, including a CRLF split in two", async () => {
    assert.deepEqual(await collect(parseLines(from("ab", "c\r", "\nd"))), ["abc", "d"]);
  });

  it("decodes a code point split across byte chunks", async () => {
    const bytes = new TextEncoder().encode("é☃\n𝄞\n");
    const chunks = [...bytes].map((byte) => Uint8Array.of(byte));
    assert.deepEqual(await collect(parseLines(from(...chunks))), ["é☃", "𝄞"]);
  });

  it("yields an unterminated last line but no empty one", async () => {
    assert.deepEqual(await collect(parseLines(from("a\nb"))), ["a", "b"]);
    assert.deepEqual(await collect(parseLines(from("a\n"))), ["a"]);
    assert.deepEqual(await collect(parseLines(from())), []);
  });
});

describe("LineSplitter", () => {
  it("returns the lines each chunk completes, and the unterminated last one at the end", () => {
    const lines = new LineSplitter();
    assert.deepEqual(lines.push("a\r\nb"), ["a"]);
    assert.deepEqual(lines.push("c\r"), []);
    assert.deepEqual(lines.push("\n\nd"), ["bc", ""]);
    assert.deepEqual(lines.end(), ["d"]);
    assert.deepEqual(lines.end(), [], "nothing left after the end");
  });
});

describe("parseNDJSON", () => {
  it("parses one value per line and skips empty lines", async () => {
    const lines = from('{"a":1}\n\n[2', ",3]\r\n", '"s\\n\u2028"\n');
    assert.deepEqual(await collect(parseNDJSON(lines)), [{ a: 1 }, [2, 3], "s\n\u2028"]);
  });

  it("fails visibly on a truncated line, naming its number", async () => {
    await assert.rejects(collect(parseNDJSON(from('{"a":1}\n{"a":'))), {
      name: "SyntaxError",
      message: /^NDJSON line 2 is not JSON/,
    });
  });
});
