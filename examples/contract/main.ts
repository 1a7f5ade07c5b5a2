import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { serve } from "../../src/node/index.ts";
import { createContractApp } from "./app.ts";

const host = process.env.HOST ?? "127.0.0.1";
const port = Number(process.env.PORT ?? 3100);
const staticDir = process.env.STATIC_DIR ?? fileURLToPath(new URL("./public", import.meta.url));
const bigFile = process.env.BIG_FILE ?? join(staticDir, "big.bin");

const app = createContractApp({ staticDir, bigFile });
const server = await serve(app, { host, port, shutdownTimeout: 4000 });
console.log(`listening on ${server.url}`);

let stopping = false;
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    server.close().then(
      () => process.exit(0),
      (err) => {
        console.error(err);
        process.exit(1);
      },
    );
  });
}
