/**
 * `npm run -s contract-client` (shared/contract/APP.md): the contract's client, run as a process
 * against the contract app, which the test restarts under it. Its stdout must carry only JSON lines,
 * every item exactly once.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { createContractApp } from "../examples/contract/app.ts";
import { Channels } from "../src/index.ts";
import { type RunningServer, serve } from "../src/node/index.ts";
import { until, within } from "./helpers/wait.ts";

const CLIENT = fileURLToPath(new URL("../examples/contract/client.ts", import.meta.url));
const PUBLIC = fileURLToPath(new URL("../examples/contract/public", import.meta.url));

/** The contract client as a process, its stdout read line by line. */
function runClient(...args: string[]) {
  const child: ChildProcess = spawn(process.execPath, [CLIENT, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  let stderr = "";
  createInterface({ input: child.stdout! }).on("line", (line) => lines.push(line));
  child.stderr!.on("data", (d) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => resolve(code)),
  );
  return {
    lines,
    stderr: () => stderr,
    exited,
    stop() {
      child.kill("SIGTERM");
      return within(exited, 5000, "the contract client to exit");
    },
  };
}

/** The contract app, in this process, restartable on its port (with other channels, if given). */
async function contract(channels?: Channels) {
  const make = (c: Channels | undefined) => {
    const app = createContractApp({
      staticDir: PUBLIC,
      bigFile: join(PUBLIC, "big.bin"),
      channels: c,
    });
    app.onError(() => {});
    return app;
  };
  let app = make(channels);
  // Streams are cut at once on close (a finite one would otherwise get the shutdown timeout to
  // finish, and there would be nothing to resume).
  const options = { host: "127.0.0.1", shutdownTimeout: 0 };
  let server: RunningServer = await serve(app, { ...options, port: 0 });
  const port = server.port;
  return {
    get app() {
      return app;
    },
    url: server.url,
    /** Stops the server (its streams are cut), runs `meanwhile`, and serves again. */
    async restart(meanwhile?: () => Promise<void>, next?: Channels) {
      await server.close();
      await meanwhile?.();
      if (next) app = make(next);
      server = await serve(app, { ...options, port });
    },
    close: () => server.close(),
  };
}

describe("npm run contract-client", () => {
  it("reads /ndjson?n=N through the typed client across a server restart: every row once", {
    timeout: 30_000,
  }, async () => {
    const server = await contract();
    // One row every 2 ms is slow enough to restart the server in the middle of it.
    const client = runClient(server.url, "--ndjson", "600", "--delay", "2");
    try {
      await until(
        () => client.lines.length >= 100,
        10_000,
        () => `100 rows (${client.stderr()})`,
      );
      await server.restart();
      assert.equal(await within(client.exited, 20_000, "the client to finish"), 0);
      const rows = client.lines.map((line) => JSON.parse(line) as { i: number; sq: number });
      assert.deepEqual(
        rows.map((r) => r.i),
        Array.from({ length: 600 }, (_, i) => i),
      );
      for (const r of rows) assert.equal(r.sq, r.i * r.i);
      // The restart did cut a stream, which the client resumed.
      assert.equal(server.app.stats.streams.aborted, 1);
      assert.equal(server.app.stats.streams.completed, 1);
    } finally {
      await client.stop();
      await server.close();
    }
  });

  it("follows a channel across server restarts: every event once, in order; a lost history is a gap", {
    timeout: 40_000,
  }, async () => {
    const channels = new Channels({ keepalive: false });
    const server = await contract(channels);
    const client = runClient(server.url, "news");
    const news = channels.channel("news");
    const published: { id: string; event?: string; data: unknown }[] = [];
    const publish = async (from: number, to: number) => {
      for (let n = from; n < to; n++) {
        const event = n % 3 === 0 ? "headline" : undefined;
        const data = { n, title: `story ${n}` };
        published.push({ id: await news.publish(data, { event }), ...(event && { event }), data });
      }
    };
    const lines = () => client.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    try {
      // What is published once the client is subscribed reaches it.
      await until(
        () => channels.subscribers().news === 1,
        10_000,
        () => `a subscriber (${client.stderr()})`,
      );
      await publish(0, 20);
      await until(() => client.lines.length >= 20, 10_000, "20 events");
      // A restart cuts the stream; what is published meanwhile is replayed after it.
      await server.restart(() => publish(20, 30));
      await until(
        () => client.lines.length >= 30,
        15_000,
        () => `30 events (${client.stderr()})`,
      );
      await publish(30, 40);
      await until(() => client.lines.length >= 40, 10_000, "40 events");
      assert.deepEqual(lines(), published, "every event once, in order");
      // A server that no longer holds the client's last id (a fresh history) says so first.
      const fresh = new Channels({ keepalive: false });
      await server.restart(undefined, fresh);
      await until(
        () => fresh.subscribers().news === 1,
        15_000,
        () => `the resubscription (${client.stderr()})`,
      );
      const lastBefore = published.at(-1)!.id;
      published.length = 0;
      const freshNews = fresh.channel("news");
      for (let n = 40; n < 45; n++)
        published.push({ id: await freshNews.publish({ n }), data: { n } });
      await until(() => client.lines.length >= 46, 10_000, "the gap and 5 events");
      assert.deepEqual(lines().slice(40), [{ gap: true, lastEventId: lastBefore }, ...published]);
      assert.equal(await client.stop(), 0);
    } finally {
      await client.stop();
      await server.close();
    }
  });

  it("keeps stdout for JSON lines: usage and failures go to stderr", {
    timeout: 15_000,
  }, async () => {
    const server = await contract();
    try {
      const bad = runClient(server.url, "--ndjson", "-1");
      assert.equal(await within(bad.exited, 10_000, "the client to exit"), 2);
      assert.deepEqual(bad.lines, []);
      assert.match(bad.stderr(), /usage: contract-client/);
    } finally {
      await server.close();
    }
    // The server is gone now: nothing to read, and stdout says nothing.
    const gone = runClient(server.url, "--ndjson", "5");
    assert.equal(await within(gone.exited, 10_000, "the client to exit"), 1);
    assert.deepEqual(gone.lines, []);
    assert.match(gone.stderr(), /^contract-client: /);
  });
});
