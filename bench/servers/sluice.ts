/**
 * Sluice: the contract app itself (examples/contract/app.ts), plus the two bench-only routes that
 * every peer has (`/sse-hub`, `/broadcast`; see README.md).
 */
import { fileURLToPath } from "node:url";
import { createContractApp } from "../../examples/contract/app.ts";
import { type ServerSentEvent, SSEResponse, sse } from "../../src/index.ts";
import { announce, BIG_FILE, HOST, Hub, int, PORT, READY } from "./common.ts";

const hub = new Hub();
const staticDir =
  process.env.STATIC_DIR ??
  fileURLToPath(new URL("../../examples/contract/public", import.meta.url));
const app = createContractApp({ staticDir, bigFile: BIG_FILE });

app.get("/sse-hub", (req) => {
  const signal = req.signal;
  return new SSEResponse<unknown>(
    (async function* (): AsyncGenerator<ServerSentEvent<unknown>> {
      yield sse(READY);
      for await (const item of hub.stream(signal))
        yield sse({ id: item.i, event: "tick", data: item });
    })(),
    { keepalive: int(req.query.keepalive, 15000) },
  );
});

app.get("/broadcast", () => ({ sent: hub.broadcast() }));

await app.listen({ host: HOST, port: PORT, shutdownTimeout: 1000 });
announce("sluice");

// A clean exit on SIGTERM, so that `--cpu-prof` can write its profile (see README.md).
process.on("SIGTERM", () => process.exit(0));
