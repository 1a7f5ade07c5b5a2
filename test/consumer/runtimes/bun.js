// Bun: the app through app.fetch.
import { app } from "./app.js";

const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: app.fetch });
console.log(`LISTENING ${server.url.origin} bun ${Bun.version}`);
for (const signal of ["SIGTERM", "SIGINT"])
  process.on(signal, () => {
    server.stop(true);
    process.exit(0);
  });
