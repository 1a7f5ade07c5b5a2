/**
 * The baseline on HTTP/2: plain `node:http2` (h2c), written the straightforward way with the core
 * API (the `stream` event, `stream.respond`), which is faster than its HTTP/1-style compatibility
 * API. One `stream.write` per item, waiting for `drain` when `write` returns false.
 */
import { once } from "node:events";
import { createServer, type ServerHttp2Stream } from "node:http2";
import { HOST, int, items, JSON_BODY, ndjsonLine, PORT } from "./common.ts";

async function writeAll(
  stream: ServerHttp2Stream,
  chunks: AsyncIterable<string>,
  signal: AbortSignal,
): Promise<void> {
  try {
    for await (const chunk of chunks) {
      if (signal.aborted) return;
      if (!stream.write(chunk)) await once(stream, "drain", { signal });
    }
    stream.end();
  } catch {
    stream.destroy();
  }
}

const server = createServer();
server.on("stream", (stream, headers) => {
  stream.on("error", () => {});
  const url = new URL(headers[":path"] ?? "/", "http://x");
  switch (url.pathname) {
    case "/json": {
      const body = JSON.stringify(JSON_BODY);
      stream.respond({
        ":status": 200,
        "content-type": "application/json",
        "content-length": Buffer.byteLength(body),
      });
      stream.end(body);
      return;
    }
    case "/ndjson": {
      const ac = new AbortController();
      stream.on("close", () => ac.abort());
      stream.respond({ ":status": 200, "content-type": "application/x-ndjson" });
      const q = url.searchParams;
      void writeAll(
        stream,
        (async function* () {
          for await (const item of items(int(q.get("n"), 10), int(q.get("delay"), 0), ac.signal))
            yield ndjsonLine(item);
        })(),
        ac.signal,
      );
      return;
    }
    default:
      stream.respond({ ":status": 404 });
      stream.end();
  }
});
server.listen(PORT, HOST, () => console.log(`listening on http://${HOST}:${PORT} (node:http2)`));

// A clean exit on SIGTERM, so that `--cpu-prof` can write its profile.
process.on("SIGTERM", () => process.exit(0));
