/**
 * h3 v2, as its docs recommend: return a value for JSON, return a `ReadableStream` for streams
 * (pulled one item at a time, so the reader's pace is the producer's), `EventStream` for SSE
 * (`push` awaits the writer), served by `toNodeHandler` on `node:http`.
 */
import { createReadStream, statSync } from "node:fs";
import { createServer } from "node:http";
import { Readable } from "node:stream";
import { EventStream, H3, type H3Event } from "h3";
import { toNodeHandler } from "h3/node";
import {
  announce,
  BIG_FILE,
  HOST,
  Hub,
  INFINITE_CHUNK,
  type Item,
  int,
  items,
  JSON_BODY,
  ndjsonLine,
  PORT,
  READY,
} from "./common.ts";

const hub = new Hub();
const app = new H3();
const encoder = new TextEncoder();

/** A pull-based ReadableStream over an async iterator: one item per pull, `return()` on cancel. */
function readable<T>(
  source: AsyncIterator<T>,
  encode: (t: T) => Uint8Array,
): ReadableStream<Uint8Array> {
  return new ReadableStream({
    async pull(controller) {
      const { done, value } = await source.next();
      if (done) controller.close();
      else controller.enqueue(encode(value));
    },
    async cancel() {
      await source.return?.();
    },
  });
}

function eventStream(
  event: H3Event,
  source: AsyncIterable<Item>,
  keepalive: number,
  first?: typeof READY,
) {
  const es = new EventStream(event);
  const timer =
    keepalive > 0 ? setInterval(() => void es.pushComment("ping"), keepalive) : undefined;
  let closed = false;
  es.onClosed(() => {
    closed = true;
    clearInterval(timer);
  });
  void (async () => {
    if (first) await es.push(first);
    for await (const item of source) {
      if (closed) return;
      await es.push({ id: String(item.i), event: "tick", data: JSON.stringify(item) });
    }
    await es.close();
  })();
  return es;
}

app.get("/json", () => JSON_BODY);

app.get("/ndjson", (event) => {
  const q = event.url.searchParams;
  event.res.headers.set("content-type", "application/x-ndjson");
  const ac = new AbortController();
  event.req.signal.addEventListener("abort", () => ac.abort());
  return readable(items(int(q.get("n"), 10), int(q.get("delay"), 0), ac.signal), (item) =>
    encoder.encode(ndjsonLine(item)),
  );
});

app.get("/sse", (event) => {
  const q = event.url.searchParams;
  return eventStream(
    event,
    items(int(q.get("n"), Number.POSITIVE_INFINITY)),
    int(q.get("keepalive"), 15000),
  );
});

app.get("/infinite", (event) => {
  event.res.headers.set("content-type", "application/octet-stream");
  return new ReadableStream({
    pull(controller) {
      controller.enqueue(INFINITE_CHUNK);
    },
  });
});

app.get("/file", (event) => {
  const { size } = statSync(BIG_FILE);
  event.res.headers.set("content-type", "application/octet-stream");
  event.res.headers.set("content-length", String(size));
  return Readable.toWeb(createReadStream(BIG_FILE)) as ReadableStream;
});

app.get("/sse-hub", (event) => {
  const ac = new AbortController();
  const es = eventStream(
    event,
    hub.stream(ac.signal),
    int(event.url.searchParams.get("keepalive"), 15000),
    READY,
  );
  es.onClosed(() => ac.abort());
  return es;
});

app.get("/broadcast", () => ({ sent: hub.broadcast() }));

createServer(toNodeHandler(app)).listen(PORT, HOST, () => announce("h3"));
