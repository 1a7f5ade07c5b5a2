/**
 * Starting, measuring and stopping one bench server: pinned to CPU 0 with a raised file limit,
 * ready when it prints its `listening on` line, always killed at the end (also on Ctrl-C and
 * errors, through `killAll`).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { type AddressInfo, createServer } from "node:net";
import { fileURLToPath } from "node:url";

export const HOST = "127.0.0.1";

/**
 * A port free on the loopback now, picked by the kernel: several sessions may bench on one machine
 * at once, and a port next to a known one may be a client connection's (ephemeral ports share
 * the range).
 */
export function freePort(): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, HOST, () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}
export const SERVER_CPU = "0";
export const CLIENT_CPU = "1";

export interface Peer {
  name: string;
  file: string;
}

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

/** Every server the bench knows, in the order of the table. Sluice first; raw node:http is the baseline. */
export const PEERS: Peer[] = [
  { name: "sluice", file: here("../servers/sluice.ts") },
  { name: "node:http", file: here("../servers/raw.ts") },
  { name: "fastify", file: here("../servers/fastify.ts") },
  { name: "hono", file: here("../servers/hono.ts") },
  { name: "h3", file: here("../servers/h3.ts") },
  { name: "express", file: here("../servers/express.ts") },
];

const live = new Set<ChildProcess>();

/** Registers a child process to be killed by `killAll`. */
export function track(child: ChildProcess): void {
  live.add(child);
  child.on("exit", () => live.delete(child));
}

export interface RunningServer {
  peer: Peer;
  pid: number;
  port: number;
  url: string;
  /** Runs full garbage collections in the server (see lib/gc-on-signal.ts); resolves after them. */
  gc(): Promise<void>;
  stop(): Promise<void>;
}

const GC_PRELOAD = here("./gc-on-signal.ts");

/** Starts a peer's server on CPU 0 and resolves once it listens (10 s at most). */
export async function startServer(
  peer: Peer,
  port: number,
  bigFile: string,
  extraArgs: string[] = [],
  extraEnv: Record<string, string> = {},
): Promise<RunningServer> {
  const child = spawn(
    "bash",
    [
      "-c",
      'ulimit -n "$(ulimit -Hn)"; exec taskset -c "$SERVER_CPU" "$@"',
      "bash",
      process.execPath,
      "--expose-gc",
      "--import",
      GC_PRELOAD,
      ...extraArgs,
      peer.file,
    ],
    {
      env: {
        ...process.env,
        PORT: String(port),
        HOST,
        BIG_FILE: bigFile,
        SERVER_CPU,
        NODE_ENV: "production",
        ...extraEnv,
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  track(child);
  let output = "";
  child.stderr.on("data", (d) => {
    output += d;
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${peer.name} did not start in 10 s:\n${output}`)),
      10_000,
    );
    child.stdout.on("data", (d) => {
      output += d;
      if (output.includes("listening on")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${peer.name} exited (${code}) before listening:\n${output}`));
    });
  });
  child.stdout.resume();
  const pid = child.pid!;
  return {
    peer,
    pid,
    port,
    url: `http://${HOST}:${port}`,
    gc() {
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          child.stdout.off("data", seen);
          reject(new Error(`${peer.name}: no "gc done" in 10 s`));
        }, 10_000);
        const seen = (d: Buffer) => {
          if (!String(d).includes("gc done")) return;
          clearTimeout(timer);
          child.stdout.off("data", seen);
          resolve();
        };
        child.stdout.on("data", seen);
        child.kill("SIGUSR2");
      });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGKILL");
      await exited;
    },
  };
}

/** The fan-out peer (measures 8 and 9 only): better-sse's channels. */
export const BETTER_SSE: Peer = { name: "better-sse", file: here("../servers/better-sse.ts") };

/** Kills every server and client process still running (synchronous: safe in an `exit` handler). */
export function killAll(): void {
  for (const child of live) child.kill("SIGKILL");
}

function statusField(pid: number, field: string): number {
  const m = readFileSync(`/proc/${pid}/status`, "utf8").match(
    new RegExp(`^${field}:\\s+(\\d+) kB`, "m"),
  );
  return m ? Number(m[1]) * 1024 : Number.NaN;
}

/** CPU time (user + system) the process has used, in seconds (`/proc/PID/stat`, clock ticks of 1/100 s). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name may hold spaces: fields are counted after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Resident set size in bytes. */
export const rss = (pid: number) => statusField(pid, "VmRSS");
/** Peak resident set size in bytes since start or the last `resetPeak`. */
export const peakRss = (pid: number) => statusField(pid, "VmHWM");
/** Resets VmHWM to the current RSS (Linux `clear_refs` 5), so a measure sees its own peak. */
export function resetPeak(pid: number): void {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
  } catch {
    // not permitted: the peak then counts from the server's start
  }
}
