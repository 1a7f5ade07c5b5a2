/**
 * Fastify 5, as its docs recommend: a response schema for JSON, `reply.send(stream)` for NDJSON,
 * the infinite stream and the file, and the official `@fastify/sse` plugin (async iterables with
 * its own backpressure handling) for SSE.
 */
import { createReadStream, statSync } from "node:fs";
import { Readable } from "node:stream";
import { fastifySSE } from "@fastify/sse";
import Fastify from "fastify";
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

type Query = { n?: string; delay?: string; keepalive?: string };

const hub = new Hub();
const app = Fastify({ logger: false });
await app.register(fastifySSE, { heartbeatInterval: 15000 });

async function* events(source: AsyncIterable<Item>) {
  for await (const item of source) yield { id: String(item.i), event: "tick", data: item };
}

function closeSignal(raw: { on(e: "close", f: () => void): unknown }): AbortSignal {
  const ac = new AbortController();
  raw.on("close", () => ac.abort());
  return ac.signal;
}

app.get(
  "/json",
  {
    schema: {
      response: { 200: { type: "object", properties: { hello: { type: "string" } } } },
    },
  },
  async () => JSON_BODY,
);

app.get<{ Querystring: Query }>("/ndjson", (req, reply) => {
  const signal = closeSignal(reply.raw);
  const lines = (async function* () {
    for await (const item of items(int(req.query.n, 10), int(req.query.delay, 0), signal))
      yield ndjsonLine(item);
  })();
  reply.type("application/x-ndjson").send(Readable.from(lines));
});

app.get<{ Querystring: Query }>("/sse", { sse: "only" }, async (req, reply) => {
  await reply.sse.send(events(items(int(req.query.n, Number.POSITIVE_INFINITY))));
});

app.get("/infinite", (_req, reply) => {
  const chunks = (async function* () {
    for (;;) yield INFINITE_CHUNK;
  })();
  reply.type("application/octet-stream").send(Readable.from(chunks, { objectMode: false }));
});

app.get("/file", (_req, reply) => {
  const { size } = statSync(BIG_FILE);
  reply
    .type("application/octet-stream")
    .header("content-length", size)
    .send(createReadStream(BIG_FILE));
});

// The ready event's data is a plain string: sent as is, not as JSON.
const plain = (data: unknown) => (typeof data === "string" ? data : JSON.stringify(data));
app.get("/sse-hub", { sse: { kind: "only", serializer: plain } }, async (_req, reply) => {
  const signal = closeSignal(reply.raw);
  reply.sse.keepAlive();
  await reply.sse.send(READY);
  await reply.sse.send(events(hub.stream(signal)));
});

app.get("/broadcast", async () => ({ sent: hub.broadcast() }));

await app.listen({ port: PORT, host: HOST });
announce("fastify");
