import cluster from "node:cluster";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Channels } from "../../src/index.ts";
import { serve } from "../../src/node/index.ts";
import { RedisBackend } from "../../src/redis/index.ts";
import { createContractApp } from "./app.ts";

/** A positive integer setting from the environment, or the default; anything else ends the app. */
function setting(name: string, fallback: number): number {
  const value = process.env[name];
  if (value === undefined || value === "") return fallback;
  if (!/^\d{1,9}$/.test(value) || Number(value) < 1) {
    console.error(`${name} must be a positive integer, got ${JSON.stringify(value)}`);
    process.exit(1);
  }
  return Number(value);
}

const host = process.env.HOST ?? "127.0.0.1";
const port = Number(process.env.PORT ?? 3100);
const staticDir = process.env.STATIC_DIR ?? fileURLToPath(new URL("./public", import.meta.url));
const bigFile = process.env.BIG_FILE ?? join(staticDir, "big.bin");
const history = setting("HISTORY", 1000);
const queue = setting("CHANNEL_QUEUE", 1024);
const redisUrl = process.env.REDIS_URL || undefined;
const workers = setting("WORKERS", 0);

// TLS_CERT and TLS_KEY (PEM files): HTTPS with HTTP/2 and HTTP/1.1 by ALPN. H2C=1 without them:
// cleartext HTTP/2 with prior knowledge.
const { TLS_CERT, TLS_KEY } = process.env;
if ((TLS_CERT === undefined) !== (TLS_KEY === undefined)) {
  console.error("TLS_CERT and TLS_KEY go together: set both, or neither");
  process.exit(1);
}
const tls =
  TLS_CERT !== undefined && TLS_KEY !== undefined
    ? { cert: readFileSync(TLS_CERT), key: readFileSync(TLS_KEY) }
    : undefined;
const h2c = tls === undefined && process.env.H2C === "1";

if (workers > 0 && cluster.isPrimary) {
  // Workers share the port (node:cluster); channels must then be shared through Redis, or an event
  // published on one worker would never reach the subscribers of another.
  if (redisUrl === undefined) {
    console.error(
      "WORKERS needs REDIS_URL: broadcast channels must be shared by the workers (set REDIS_URL=redis://host:port)",
    );
    process.exit(1);
  }
  let stopping = false;
  let listening = 0;
  const start = () => {
    const worker = cluster.fork();
    worker.on("message", (msg: { listening?: string }) => {
      if (msg.listening !== undefined && ++listening === workers)
        console.log(`listening on ${msg.listening}`);
    });
    worker.on("exit", (code, signal) => {
      if (stopping) return;
      // A worker that died is replaced: the others keep serving meanwhile.
      console.error(`worker ${worker.process.pid} exited (${signal ?? code}); starting another`);
      listening--;
      start();
    });
  };
  for (let i = 0; i < workers; i++) start();
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill("SIGTERM");
      let code = 0;
      let left = Object.keys(cluster.workers ?? {}).length;
      if (left === 0) process.exit(0);
      cluster.on("exit", (_w, exitCode) => {
        if (exitCode !== 0) code = 1;
        if (--left === 0) process.exit(code);
      });
    });
  }
} else {
  let backend: RedisBackend | undefined;
  if (redisUrl !== undefined) {
    backend = new RedisBackend({ url: redisUrl, history });
    await backend.connect();
  }
  const channels = backend ? new Channels({ backend, queue }) : new Channels({ history, queue });
  const app = createContractApp({ staticDir, bigFile, channels });
  const server = await serve(app, { host, port, shutdownTimeout: 4000, tls, h2c });
  if (cluster.isWorker) process.send?.({ listening: server.url });
  else console.log(`listening on ${server.url}`);

  let stopping = false;
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      server
        .close()
        .then(() => channels.close())
        .then(
          () => process.exit(0),
          (err) => {
            console.error(err);
            process.exit(1);
          },
        );
    });
  }
}
