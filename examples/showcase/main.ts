import { Channels } from "../../src/index.ts";
import { serve } from "../../src/node/index.ts";
import { RedisBackend } from "../../src/redis/index.ts";
import { createShowcaseApp } from "./app.ts";
import { createModel } from "./model.ts";

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
// The LLM gateway proxies MODEL_URL (any OpenAI-compatible server), or a fake model started here on
// a free loopback port, emitting one token every TOKEN_INTERVAL ms.
const model = process.env.MODEL_URL
  ? undefined
  : await serve(createModel({ tokenInterval: Number(process.env.TOKEN_INTERVAL ?? 30) }).app, {
      port: 0,
      host: "127.0.0.1",
    });
const modelURL = process.env.MODEL_URL ?? model!.url;
const { app, stop } = createShowcaseApp({ channels, modelURL });
const server = await serve(app, { port, host });
console.log(
  `Sluice showcase on ${server.url} (model: ${modelURL}${redisUrl ? `; channels in Redis at ${redisUrl}` : ""})`,
);

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => {
    Promise.all([server.close(), model?.close()]).then(() => {
      stop();
      process.exit(0);
    });
  });
}
