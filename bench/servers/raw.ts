/**
 * The baseline: plain `node:http`, written the straightforward way. One `res.write` per item
 * (waiting for `drain` when `write` returns false), `pipe` for the file with default stream
 * settings.
 */

import { once } from "node:events";
import { createReadStream, statSync } from "node:fs";
import { createServer, type ServerResponse } from "node:http";
import {
  announce,
  BIG_FILE,
  HOST,
  Hub,
  INFINITE_CHUNK,
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
/** The fan-out baseline: every open `GET /channel/NAME` response, by channel. */
const subscribers = new Map<string, Set<ServerResponse>>();
let nextEventId = 0;

/** Writes each chunk, waiting for `drain` when the socket is full; stops when the client leaves. */
async function writeAll(
  res: ServerResponse,
  chunks: AsyncIterable<string | Uint8Array>,
  signal: AbortSignal,
) {
  try {
    for await (const chunk of chunks) {
      if (signal.aborted) return;
      if (!res.write(chunk)) await once(res, "drain", { signal });
    }
    res.end();
  } catch {
    res.destroy();
  }
}

function abortOnClose(res: ServerResponse): AbortSignal {
  const ac = new AbortController();
  res.on("close", () => ac.abort());
  return ac.signal;
}

async function* map<T, U>(source: AsyncIterable<T>, fn: (t: T) => U): AsyncGenerator<U> {
  for await (const t of source) yield fn(t);
}

function keepalive(res: ServerResponse, ms: number): void {
  if (ms <= 0) return;
  const timer = setInterval(() => res.write(PING), ms);
  res.on("close", () => clearInterval(timer));
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? "/", "http://x");
  const q = url.searchParams;
  if (url.pathname.startsWith("/channel/")) {
    // The fan-out measures' routes, written the straightforward way: a set of open responses; a
    // POST frames the event once and writes it to each (no history, no queue, no keepalive).
    const name = url.pathname.slice("/channel/".length);
    let set = subscribers.get(name);
    if (set === undefined) {
      set = new Set();
      subscribers.set(name, set);
    }
    const subs = set;
    if (req.method === "GET") {
      res.writeHead(200, {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache",
      });
      res.flushHeaders();
      subs.add(res);
      res.on("close", () => subs.delete(res));
      return;
    }
    let text = "";
    req.setEncoding("utf8");
    req.on("data", (d) => {
      text += d;
    });
    req.on("end", () => {
      const { data, event } = JSON.parse(text) as { data: unknown; event?: string };
      const id = String(++nextEventId);
      const frame = `${event === undefined ? "" : `event: ${event}\n`}id: ${id}\ndata: ${JSON.stringify(data)}\n\n`;
      for (const r of subs) r.write(frame);
      const body = JSON.stringify({ id });
      res.writeHead(201, { "content-type": "application/json", "content-length": body.length });
      res.end(body);
    });
    return;
  }
  switch (url.pathname) {
    case "/json": {
      const body = JSON.stringify(JSON_BODY);
      res.writeHead(200, {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(body),
      });
      res.end(body);
      return;
    }
    case "/ndjson": {
      const signal = abortOnClose(res);
      res.writeHead(200, { "content-type": "application/x-ndjson" });
      void writeAll(
        res,
        map(items(int(q.get("n"), 10), int(q.get("delay"), 0), signal), ndjsonLine),
        signal,
      );
      return;
    }
    case "/sse": {
      const signal = abortOnClose(res);
      res.writeHead(200, {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache",
      });
      keepalive(res, int(q.get("keepalive"), 15000));
      void writeAll(res, map(items(int(q.get("n"), Number.POSITIVE_INFINITY)), sseFrame), signal);
      return;
    }
    case "/infinite": {
      const signal = abortOnClose(res);
      res.writeHead(200, { "content-type": "application/octet-stream" });
      void writeAll(
        res,
        (async function* () {
          for (;;) yield INFINITE_CHUNK;
        })(),
        signal,
      );
      return;
    }
    case "/file": {
      const { size } = statSync(BIG_FILE);
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": size });
      createReadStream(BIG_FILE).pipe(res);
      return;
    }
    case "/sse-hub": {
      const signal = abortOnClose(res);
      res.writeHead(200, {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache",
      });
      res.write(READY_FRAME);
      keepalive(res, int(q.get("keepalive"), 15000));
      void writeAll(res, map(hub.stream(signal), sseFrame), signal);
      return;
    }
    case "/broadcast": {
      const body = JSON.stringify({ sent: hub.broadcast() });
      res.writeHead(200, { "content-type": "application/json" });
      res.end(body);
      return;
    }
    default:
      res.writeHead(404).end();
  }
});

server.listen(PORT, HOST, () => announce("node:http"));
