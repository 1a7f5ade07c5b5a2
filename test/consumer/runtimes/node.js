// Node (22 or 24, no flags): the app on node:http through sluice/node.
import { serve } from "sluice/node";
import { app } from "./app.js";

const server = await serve(app, { port: 0, host: "127.0.0.1" });
console.log(`LISTENING ${server.url} node ${process.version}`);
for (const signal of ["SIGTERM", "SIGINT"])
  process.on(signal, () => server.close().then(() => process.exit(0)));
