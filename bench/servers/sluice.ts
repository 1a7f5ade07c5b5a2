/**
 * Sluice: the contract app itself (examples/contract/app.ts), plus the two bench-only routes that
 * every peer has (`/sse-hub`, `/broadcast`; see README.md).
 */
import { fileURLToPath } from "node:url";
import { createContractApp } from "../../examples/contract/app.ts";
import { Channels, type ServerSentEvent, SSEResponse, sse } from "../../src/index.ts";
import { serve } from "../../src/node/index.ts";
import { RedisBackend } from "../../src/redis/index.ts";
import { announce, BIG_FILE, HOST, Hub, int, PORT, READY } from "./common.ts";

const hub = new Hub();
const staticDir =
  process.env.STATIC_DIR ??
  fileURLToPath(new URL("../../examples/contract/public", import.meta.url));
// Channels as the contract app's main.ts makes them: in Redis when REDIS_URL is set.
let channels: Channels | undefined;
if (process.env.REDIS_URL) {
  const backend = new RedisBackend({ url: process.env.REDIS_URL });
  await backend.connect();
  channels = new Channels({ backend });
}
const app = createContractApp({ staticDir, bigFile: BIG_FILE, channels });

/** One subscriber's events: declared once, like raw.ts's helpers, not as a function per request. */
async function* hubEvents(signal: AbortSignal): AsyncGenerator<ServerSentEvent<unknown>> {
  yield sse(READY);
  for await (const item of hub.stream(signal)) yield sse({ id: item.i, event: "tick", data: item });
}

app.get(
  "/sse-hub",
  (req) =>
    new SSEResponse<unknown>(hubEvents(req.signal), {
      keepalive: int(req.query.keepalive, 15000),
    }),
);

app.get("/broadcast", () => ({ sent: hub.broadcast() }));

await serve(app, { host: HOST, port: PORT, shutdownTimeout: 1000 });
announce("sluice");

// A clean exit on SIGTERM, so that `--cpu-prof` can write its profile (see README.md).
process.on("SIGTERM", () => process.exit(0));
