/**
 * Sluice on cleartext HTTP/2 (h2c): the contract app, served with `serve(app, { h2c: true })`.
 */
import { fileURLToPath } from "node:url";
import { createContractApp } from "../../examples/contract/app.ts";
import { serve } from "../../src/node/index.ts";
import { BIG_FILE, HOST, PORT } from "./common.ts";

const staticDir = fileURLToPath(new URL("../../examples/contract/public", import.meta.url));
const app = createContractApp({ staticDir, bigFile: BIG_FILE });
await serve(app, { host: HOST, port: PORT, h2c: true, shutdownTimeout: 1000 });
console.log(`listening on http://${HOST}:${PORT} (sluice, h2c)`);

// A clean exit on SIGTERM, so that `--cpu-prof` can write its profile.
process.on("SIGTERM", () => process.exit(0));
