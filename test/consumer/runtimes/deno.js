// Deno: the app through app.fetch (reads ./node_modules, needs only --allow-net).
import { app } from "./app.js";

const server = Deno.serve(
  {
    port: 0,
    hostname: "127.0.0.1",
    onListen: ({ hostname, port }) =>
      console.log(`LISTENING http://${hostname}:${port} deno ${Deno.version.deno}`),
  },
  app.fetch,
);
for (const signal of ["SIGTERM", "SIGINT"])
  Deno.addSignalListener(signal, async () => {
    await server.shutdown();
    Deno.exit(0);
  });
