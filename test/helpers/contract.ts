/**
 * The contract app as a separate process (examples/contract/main.ts), for what only processes show:
 * two of them sharing a Redis, a restart, `WORKERS`. And a channel reader that behaves like an
 * EventSource: it resumes with `Last-Event-ID` after every disconnect.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { events } from "../../src/testing/index.ts";
import { within } from "./wait.ts";

const MAIN = fileURLToPath(new URL("../../examples/contract/main.ts", import.meta.url));

/** A running contract app process. */
export class ContractProcess {
  readonly child: ChildProcess;
  readonly url: string;
  /** Everything it printed so far. */
  output: string;

  private constructor(child: ChildProcess, url: string, output: string) {
    this.child = child;
    this.url = url;
    this.output = output;
    child.stdout!.on("data", (d) => {
      this.output += d;
    });
    child.stderr!.on("data", (d) => {
      this.output += d;
    });
  }

  /** Starts the contract app with `env` on top of this process's; resolves once it listens (15 s). */
  static async start(env: Record<string, string>): Promise<ContractProcess> {
    const child = spawn(process.execPath, [MAIN], {
      env: { ...process.env, HOST: "127.0.0.1", PORT: "0", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const url = await within(
      new Promise<string>((resolve, reject) => {
        const seen = (d: Buffer) => {
          output += d;
          const m = /listening on (http:\/\/\S+)/.exec(output);
          if (m) resolve(m[1]!);
        };
        child.stdout!.on("data", seen);
        child.stderr!.on("data", (d) => {
          output += d;
        });
        child.once("exit", (code) =>
          reject(new Error(`the contract app exited (${code}) before listening:\n${output}`)),
        );
      }),
      15_000,
      "the contract app to listen",
    ).catch((error: unknown) => {
      child.kill("SIGKILL");
      throw error;
    });
    child.stdout!.removeAllListeners("data");
    child.stderr!.removeAllListeners("data");
    return new ContractProcess(child, url, output);
  }

  /** Sends `signal` and resolves with the exit code, within 10 s (then SIGKILL). */
  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> {
    const child = this.child;
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    child.kill(signal);
    try {
      return await within(exited, 10_000, "the contract app to exit");
    } catch (error) {
      child.kill("SIGKILL");
      await exited;
      throw error;
    }
  }
}

/** Runs a command to its end and reports how it ended (bounded). */
export async function runContract(
  env: Record<string, string>,
  ms = 15_000,
): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [MAIN], {
    env: { ...process.env, HOST: "127.0.0.1", PORT: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (d) => {
    output += d;
  });
  child.stderr.on("data", (d) => {
    output += d;
  });
  try {
    const code = await within(
      new Promise<number | null>((r) => child.once("exit", (c) => r(c))),
      ms,
      "the contract app to exit",
    );
    return { code, output };
  } finally {
    child.kill("SIGKILL");
  }
}

/** One event as a channel reader got it. */
export interface Received {
  id: string;
  event: string;
  data: unknown;
}

/** What a channel reader collected. */
export interface Followed {
  events: Received[];
  /** The `lastEventId` of each gap event, in order. */
  gaps: string[];
  /** Connections made (1 + reconnects). */
  connections: number;
}

/**
 * Reads `url` (a channel subscription) like an EventSource: on a disconnect or a clean end it
 * reconnects with `Last-Event-ID` (from `bases` in turn, so each reconnect may go to another
 * server), until `done` holds; all within `ms`. `lastEventId` resumes the first connection.
 *
 * @example
 * const got = await followChannel([a.url, b.url], "/channel/x", { done: (f) => f.events.length === 10 });
 */
export async function followChannel(
  bases: string[],
  path: string,
  options: {
    lastEventId?: string;
    done: (f: Followed) => boolean;
    ms?: number;
    /** Called once the first connection's headers have arrived. */
    onOpen?: () => void;
    /** Leave after this many events on a connection, to resume on the next one. */
    leaveAfter?: number;
  },
): Promise<Followed> {
  const ms = options.ms ?? 20_000;
  const deadline = Date.now() + ms;
  const got: Followed = { events: [], gaps: [], connections: 0 };
  let last = options.lastEventId;
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(new Error("time is up")), ms);
  try {
    while (!options.done(got)) {
      if (Date.now() > deadline)
        throw new Error(`channel reader: not done after ${ms} ms (${got.events.length} events)`);
      const base = bases[got.connections % bases.length]!;
      got.connections++;
      let res: Response;
      try {
        res = await fetch(base + path, {
          headers: last === undefined ? {} : { "last-event-id": last },
          signal: ac.signal,
        });
      } catch (error) {
        if (ac.signal.aborted) throw error;
        // The server is not there (restarting): try again shortly, like an EventSource.
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      if (res.status !== 200) {
        await res.body?.cancel();
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      if (got.connections === 1) options.onOpen?.();
      let here = 0;
      try {
        for await (const ev of events(res)) {
          if (ev.event === "gap") {
            got.gaps.push((JSON.parse(ev.data) as { lastEventId: string }).lastEventId);
            continue;
          }
          last = ev.id;
          got.events.push({ id: ev.id, event: ev.event, data: JSON.parse(ev.data) });
          here++;
          if (options.done(got)) break;
          if (options.leaveAfter !== undefined && here >= options.leaveAfter) break;
        }
      } catch (error) {
        if (ac.signal.aborted) throw error;
        // Cut off (a truncated stream): resume.
      }
    }
    return got;
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
}
