/** Client processes of the measures that hold many connections (idle SSE, fan-out). */
import { type ChildProcess, spawn } from "node:child_process";
import { CLIENT_CPU, track } from "./server.ts";

export type Reply = { type: string; ok?: number; failed?: number; firstError?: string };

/** A client process on the client CPU, spoken to over IPC: `send` a message, await the `next` reply of a type. */
export class ClientProcess {
  readonly child: ChildProcess;
  private waiters: Array<{ type: string; resolve: (m: Reply) => void }> = [];
  constructor(script: string) {
    this.child = spawn(
      "bash",
      [
        "-c",
        'ulimit -n "$(ulimit -Hn)"; exec taskset -c "$CPU" "$@"',
        "bash",
        process.execPath,
        script,
      ],
      {
        env: { ...process.env, CPU: CLIENT_CPU },
        stdio: ["ignore", "inherit", "inherit", "ipc"],
      },
    );
    track(this.child);
    this.child.on("message", (m: Reply) => {
      const i = this.waiters.findIndex((w) => w.type === m.type);
      if (i >= 0) this.waiters.splice(i, 1)[0]!.resolve(m);
    });
  }
  next(type: string, timeoutMs: number): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`idle client: no "${type}" in ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.waiters.push({
        type,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
    });
  }
  send(msg: object): void {
    if (this.child.connected) this.child.send(msg);
  }
  kill(): void {
    if (this.child.exitCode === null) this.child.kill("SIGKILL");
  }
}
