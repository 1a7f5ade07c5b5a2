/**
 * A real redis-server for a suite: started by the test itself on a free loopback port with a
 * temporary directory (append-only file, fsync on every write, so a restart keeps every
 * acknowledged event), restarted on demand, stopped and removed after. Outside CI a machine without
 * redis-server skips the suite with a message; in CI (CI=true) it is a failure.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { within } from "./wait.ts";

function findRedisServer(): string | undefined {
  for (const path of ["/usr/bin/redis-server", "/usr/local/bin/redis-server"]) {
    try {
      execFileSync(path, ["--version"], { stdio: "ignore" });
      return path;
    } catch {
      // not there
    }
  }
  return undefined;
}

const BINARY = findRedisServer();

/**
 * `false` when redis-server is here, or in CI (where starting it then fails the suite); otherwise
 * the reason to skip, for `describe(name, { skip: redisSkip })`.
 */
export const redisSkip: false | string =
  BINARY !== undefined || process.env.CI
    ? false
    : "redis-server is not installed (apt-get install redis-server); the Redis suites are skipped";

/** A free TCP port on the loopback, as the kernel hands one out. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

/** A redis-server this test started. */
export class RedisServer {
  readonly port: number;
  readonly dir: string;
  #child: ChildProcess | undefined;

  private constructor(port: number, dir: string) {
    this.port = port;
    this.dir = dir;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts a server on a free port with a fresh temporary directory, ready within 10 s. */
  static async start(): Promise<RedisServer> {
    if (BINARY === undefined) {
      throw new Error("redis-server is not installed (apt-get install redis-server)");
    }
    const server = new RedisServer(await freePort(), mkdtempSync(join(tmpdir(), "sluice-redis-")));
    await server.#run();
    return server;
  }

  async #run(): Promise<void> {
    const child = spawn(
      BINARY!,
      [
        "--port",
        String(this.port),
        "--bind",
        "127.0.0.1",
        "--dir",
        this.dir,
        "--save",
        "",
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
        "--protected-mode",
        "yes",
        "--daemonize",
        "no",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    this.#child = child;
    let output = "";
    await within(
      new Promise<void>((resolve, reject) => {
        child.stdout!.on("data", (d) => {
          output += d;
          if (output.includes("Ready to accept connections")) resolve();
        });
        child.once("exit", (code) =>
          reject(new Error(`redis-server exited (${code}) before it was ready:\n${output}`)),
        );
      }),
      10_000,
      "redis-server to accept connections",
    );
    child.stdout!.resume();
    child.stderr!.resume();
  }

  /** Stops the server (SIGTERM: it finishes its append-only file), within 10 s. */
  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    try {
      await within(exited, 10_000, "redis-server to stop");
    } catch {
      child.kill("SIGKILL");
      await exited;
    }
  }

  /** Stops the server and starts it again on the same port and directory (same data). */
  async restart(): Promise<void> {
    await this.stop();
    await this.#run();
  }

  /** Stops the server and removes its directory. */
  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
