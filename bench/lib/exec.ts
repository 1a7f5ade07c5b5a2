/** Running a load generator on the client CPU, bounded in time. */
import { execFile } from "node:child_process";
import { CLIENT_CPU } from "./server.ts";

/** Runs `cmd args` pinned to the client CPU; rejects after `timeoutMs`. Resolves with stdout. */
export function runPinned(cmd: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      "taskset",
      ["-c", CLIENT_CPU, cmd, ...args],
      { timeout: timeoutMs, killSignal: "SIGKILL", maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${cmd} failed: ${err.message}\n${stderr}`));
        else resolve(stdout);
      },
    );
  });
}

export interface CurlResult {
  bytes: number;
  seconds: number;
  status: number;
}

/** Downloads `url` with curl into /dev/null (curl is C: the client is never the bottleneck). */
export async function curlDownload(url: string, timeoutMs: number): Promise<CurlResult> {
  const out = await runPinned(
    "curl",
    [
      "-s",
      "-o",
      "/dev/null",
      "--max-time",
      String(timeoutMs / 1000),
      "-w",
      "%{http_code} %{size_download} %{time_total}",
      url,
    ],
    timeoutMs + 5000,
  );
  const [status, bytes, seconds] = out.trim().split(" ").map(Number);
  return { status: status!, bytes: bytes!, seconds: seconds! };
}
