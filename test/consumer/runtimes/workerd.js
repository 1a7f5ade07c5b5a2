// Runs the bundled Worker (build/worker.js) in workerd through Miniflare, on a loopback port. No
// nodejs_compat: only enable_request_signal, which makes request.signal abort when the client
// leaves (workerd never cancels a response body whose client is gone).
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";

const mf = new Miniflare({
  modules: true,
  scriptPath: fileURLToPath(new URL("./build/worker.js", import.meta.url)),
  compatibilityDate: "2026-07-01",
  compatibilityFlags: ["enable_request_signal"],
  host: "127.0.0.1",
  port: 0,
});
const url = await mf.ready;
console.log(`LISTENING ${url.origin} workerd (miniflare)`);
for (const signal of ["SIGTERM", "SIGINT"])
  process.on(signal, () => mf.dispose().finally(() => process.exit(0)));
