/**
 * Fastify 5 on cleartext HTTP/2 (`http2: true`), as its docs show: a response schema for JSON,
 * `reply.send(stream)` for NDJSON (the same routes as servers/fastify.ts).
 */
import { Readable } from "node:stream";
import Fastify from "fastify";
import { HOST, int, items, JSON_BODY, ndjsonLine, PORT } from "./common.ts";

type Query = { n?: string; delay?: string };

const app = Fastify({ logger: false, http2: true });

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
  const ac = new AbortController();
  reply.raw.on("close", () => ac.abort());
  const lines = (async function* () {
    for await (const item of items(int(req.query.n, 10), int(req.query.delay, 0), ac.signal))
      yield ndjsonLine(item);
  })();
  reply.type("application/x-ndjson").send(Readable.from(lines));
});

await app.listen({ port: PORT, host: HOST });
console.log(`listening on http://${HOST}:${PORT} (fastify, http2)`);

// A clean exit on SIGTERM, so that `--cpu-prof` can write its profile.
process.on("SIGTERM", () => process.exit(0));
