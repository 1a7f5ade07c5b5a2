import { Channels } from "../../src/index.ts";
import { serve } from "../../src/node/index.ts";
import { RedisBackend } from "../../src/redis/index.ts";
import { createShowcaseApp } from "./app.ts";

const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST ?? "127.0.0.1";
// With REDIS_URL the live chart and the chat room keep their history in Redis, across restarts.
const redisUrl = process.env.REDIS_URL || undefined;
let channels: Channels | undefined;
if (redisUrl !== undefined) {
  const backend = new RedisBackend({ url: redisUrl, history: 300 });
  await backend.connect();
  channels = new Channels({ backend });
}
const { app, stop } = createShowcaseApp({ channels });
const server = await serve(app, { port, host });
console.log(
  `Sluice showcase on ${server.url}${redisUrl ? ` (channels in Redis at ${redisUrl})` : ""}`,
);

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => {
    server.close().then(() => {
      stop();
      process.exit(0);
    });
  });
}
