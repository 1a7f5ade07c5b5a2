/**
 * Express 5. Express has no streaming helper: streams are `res.write` on the Node response, with
 * `drain` handling for backpressure; the file goes through `res.sendFile`.
 */
import { once } from "node:events";
import express, { type Response } from "express";
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
  READY_FRAME,
  sseFrame,
} from "./common.ts";

const hub = new Hub();
const app = express();
app.set("etag", false);
app.set("x-powered-by", false);

function closeSignal(res: Response): AbortSignal {
  const ac = new AbortController();
  res.on("close", () => ac.abort());
  return ac.signal;
}

async function pump<T>(
  res: Response,
  source: AsyncIterable<T>,
  encode: (t: T) => string | Uint8Array,
  signal: AbortSignal,
) {
  try {
    for await (const item of source) {
      if (signal.aborted) return;
      if (!res.write(encode(item))) await once(res, "drain", { signal });
    }
    res.end();
  } catch {
    res.destroy();
  }
}

function sseHeaders(res: Response, keepalive: number): void {
  res.set({ "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" });
  res.flushHeaders();
  if (keepalive > 0) {
    const timer = setInterval(() => res.write(PING), keepalive);
    res.on("close", () => clearInterval(timer));
  }
}

app.get("/json", (_req, res) => {
  res.json(JSON_BODY);
});

app.get("/ndjson", (req, res) => {
  const signal = closeSignal(res);
  res.type("application/x-ndjson");
  void pump(
    res,
    items(int(req.query.n as string, 10), int(req.query.delay as string, 0), signal),
    ndjsonLine,
    signal,
  );
});

app.get("/sse", (req, res) => {
  const signal = closeSignal(res);
  sseHeaders(res, int(req.query.keepalive as string, 15000));
  void pump<Item>(
    res,
    items(int(req.query.n as string, Number.POSITIVE_INFINITY)),
    sseFrame,
    signal,
  );
});

app.get("/infinite", (_req, res) => {
  const signal = closeSignal(res);
  res.type("application/octet-stream");
  void pump(
    res,
    (async function* () {
      for (;;) yield INFINITE_CHUNK;
    })(),
    (c) => c,
    signal,
  );
});

app.get("/file", (_req, res) => {
  res.sendFile(BIG_FILE, {
    etag: false,
    lastModified: false,
    acceptRanges: false,
    dotfiles: "allow",
  });
});

app.get("/sse-hub", (req, res) => {
  const signal = closeSignal(res);
  sseHeaders(res, int(req.query.keepalive as string, 15000));
  res.write(READY_FRAME);
  void pump(res, hub.stream(signal), sseFrame, signal);
});

app.get("/broadcast", (_req, res) => {
  res.json({ sent: hub.broadcast() });
});

app.listen(PORT, HOST, () => announce("express"));
