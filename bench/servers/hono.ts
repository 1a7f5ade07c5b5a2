/**
 * Hono on its Node adapter (`@hono/node-server`), as its docs recommend: `c.json`, the `stream`
 * and `streamSSE` helpers (each `await write` waits for the reader, and the adapter waits for
 * `drain`), and the adapter's `serveStatic` for the file.
 */
import { serve } from "@hono/node-server";
import { serveStatic } from "@hono/node-server/serve-static";
import { Hono } from "hono";
import { type SSEStreamingApi, stream, streamSSE } from "hono/streaming";
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
  PING,
  PORT,
  READY,
} from "./common.ts";

const hub = new Hub();
const app = new Hono();

function keepalive(s: SSEStreamingApi, ms: number): void {
  if (ms <= 0) return;
  const timer = setInterval(() => void s.write(PING), ms);
  s.onAbort(() => clearInterval(timer));
}

async function writeEvents(s: SSEStreamingApi, source: AsyncIterable<Item>): Promise<void> {
  for await (const item of source) {
    if (s.aborted) return;
    await s.writeSSE({ id: String(item.i), event: "tick", data: JSON.stringify(item) });
  }
}

app.get("/json", (c) => c.json(JSON_BODY));

app.get("/ndjson", (c) => {
  c.header("content-type", "application/x-ndjson");
  return stream(c, async (s) => {
    const ac = new AbortController();
    s.onAbort(() => ac.abort());
    for await (const item of items(
      int(c.req.query("n"), 10),
      int(c.req.query("delay"), 0),
      ac.signal,
    )) {
      if (s.aborted) return;
      await s.write(ndjsonLine(item));
    }
  });
});

app.get("/sse", (c) =>
  streamSSE(c, async (s) => {
    keepalive(s, int(c.req.query("keepalive"), 15000));
    await writeEvents(s, items(int(c.req.query("n"), Number.POSITIVE_INFINITY)));
  }),
);

app.get("/infinite", (c) => {
  c.header("content-type", "application/octet-stream");
  return stream(c, async (s) => {
    while (!s.aborted) await s.write(INFINITE_CHUNK);
  });
});

app.get("/file", serveStatic({ path: BIG_FILE }));

app.get("/sse-hub", (c) =>
  streamSSE(c, async (s) => {
    const ac = new AbortController();
    s.onAbort(() => ac.abort());
    keepalive(s, int(c.req.query("keepalive"), 15000));
    await s.writeSSE(READY);
    await writeEvents(s, hub.stream(ac.signal));
  }),
);

app.get("/broadcast", (c) => c.json({ sent: hub.broadcast() }));

serve({ fetch: app.fetch, port: PORT, hostname: HOST }, () => announce("hono"));
