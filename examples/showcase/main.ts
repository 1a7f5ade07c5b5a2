import { serve } from "../../src/node/index.ts";
import { createShowcaseApp } from "./app.ts";

const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST ?? "127.0.0.1";
const { app, stop } = createShowcaseApp();
const server = await serve(app, { port, host });
console.log(`Sluice showcase on ${server.url}`);

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => {
    stop();
    server.close().then(() => process.exit(0));
  });
}
