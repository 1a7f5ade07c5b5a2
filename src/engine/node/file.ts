/// <reference types="node" preserve="true" />
// The declarations emitted for this module name Node's types: the directive keeps them resolvable in
// a consumer whose tsconfig lists no `types` (@types/node comes with the package).
import type { ServerResponse } from "node:http";
import { runTasks, runTeardowns } from "../../core/lifecycle.ts";
import type { AppPort } from "../../core/port.ts";
import type { SluiceResponse } from "../../responses/base.ts";
import type { FileBody, FileRange } from "../../responses/body.ts";
import type { StreamEnd } from "../pump.ts";
import type { NodeRequest } from "./request.ts";
import { truncateResponse } from "./write.ts";

/**
 * Writes a file body straight from the file to the socket (DESIGN.md §1's third source): large
 * reads into two buffers that take turns — one is read into while the other is being written, and
 * a buffer is read into again only once the socket has written it — with a callback per read and
 * per write, no promise. Backpressure comes with it: nothing more is read while both buffers wait
 * for the socket. The lifecycle is the writer's: counted as a stream (started unless HEAD), ended
 * once as completed, aborted (client gone, or cut at the shutdown deadline) or errored (a read
 * failed or the file shrank: truncated, reported), teardown always (it closes the file, after the
 * last read has returned), background tasks after a body that went out whole.
 * @internal
 */
export function writeFileBody(
  app: AppPort,
  req: NodeRequest,
  res: ServerResponse,
  response: SluiceResponse,
  body: FileBody,
  head: boolean,
): void {
  const headers = response.headers;
  delete headers["transfer-encoding"];
  headers["content-length"] = String(body.length);
  if (head || req.aborted) {
    // HEAD: the headers GET would send, and the file is never read. A client gone already: the
    // file is not read either, and no stream is counted.
    if (head) {
      res.writeHead(response.status, headers);
      res.end();
    } else res.destroy();
    void (async () => {
      await runTeardowns({ app, request: req, response });
      if (head) await runTasks({ app, request: req, response });
    })();
    return;
  }
  res.writeHead(response.status, headers);
  new FileWriter(app, req, res, response, body).start();
}

class FileWriter {
  readonly app: AppPort;
  readonly req: NodeRequest;
  readonly res: ServerResponse;
  readonly response: SluiceResponse;
  readonly body: FileBody;
  readonly size: number;
  /** Buffers free to read into; at most two ever exist. */
  readonly free: Buffer[] = [];
  made = 0;
  /** The piece being sent, and where in it (a file range) the next read starts. */
  piece = 0;
  position = -1;
  /** A read is in flight: the file must stay open until it returns. */
  reading = false;
  /** Writes the socket has not finished yet. */
  writing = 0;
  end: StreamEnd | undefined = undefined;
  readonly onAbort = (): void => this.stop("aborted");

  constructor(
    app: AppPort,
    req: NodeRequest,
    res: ServerResponse,
    response: SluiceResponse,
    body: FileBody,
  ) {
    this.app = app;
    this.req = req;
    this.res = res;
    this.response = response;
    this.body = body;
    // A buffer as large as a read, but no larger than the largest range: a small file gets a small
    // buffer (from Node's pool when under 4 KiB).
    let largest = 0;
    for (const piece of body.pieces) {
      if (!(piece instanceof Uint8Array)) largest = Math.max(largest, piece.end - piece.start + 1);
    }
    this.size = Math.max(1, Math.min(body.chunkSize, largest));
  }

  start(): void {
    const stats = this.app.stats.streams;
    stats.started++;
    stats.active++;
    this.req.signal.addEventListener("abort", this.onAbort);
    this.next();
  }

  /** Sends what can be sent now: framing bytes at once, the next read if a buffer is free. */
  next(): void {
    const pieces = this.body.pieces;
    while (this.end === undefined && !this.reading) {
      if (this.piece === pieces.length) {
        this.res.end();
        this.stop("completed");
        return;
      }
      const piece = pieces[this.piece]!;
      if (piece instanceof Uint8Array) {
        this.write(piece, false);
        this.piece++;
        continue;
      }
      const range = piece as FileRange;
      if (this.position === -1) this.position = range.start;
      const left = range.end + 1 - this.position;
      if (left <= 0) {
        this.piece++;
        this.position = -1;
        continue;
      }
      const buffer = this.take();
      // Both buffers are with the socket: a write's callback carries on.
      if (buffer === undefined) return;
      const want = Math.min(left, buffer.length);
      const at = this.position;
      this.reading = true;
      this.body.read(buffer, 0, want, at, (error, bytesRead) => {
        this.reading = false;
        if (this.end !== undefined) {
          // Stopped while the read was out: only now may the file be closed.
          this.finish();
          return;
        }
        if (error !== null) return this.fail(error);
        // The file shrank since it was stat'ed: fail so the client sees a truncated body rather
        // than a Content-Length that lies.
        if (bytesRead === 0)
          return this.fail(new Error(`file shrank while being sent (at byte ${at})`));
        this.position += bytesRead;
        this.write(bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead), buffer);
        this.next();
      });
    }
  }

  take(): Buffer | undefined {
    const buffer = this.free.pop();
    if (buffer !== undefined) return buffer;
    if (this.made === 2) return undefined;
    this.made++;
    return Buffer.allocUnsafe(this.size);
  }

  /** Writes bytes; a buffer of ours comes back to `free` once the socket is done with it. */
  write(chunk: Uint8Array, owner: Buffer | false): void {
    this.writing++;
    this.res.write(chunk, () => {
      this.writing--;
      if (this.end !== undefined) return;
      if (owner !== false) {
        this.free.push(owner);
        this.next();
      }
    });
  }

  fail(error: Error): void {
    this.app.report(error, { request: this.req, phase: "stream" });
    this.stop("errored");
  }

  /** Ends the stream once: truncates unless it completed; the rest waits for a read in flight. */
  stop(end: StreamEnd): void {
    if (this.end !== undefined) return;
    this.end = end;
    this.req.signal.removeEventListener("abort", this.onAbort);
    if (end !== "completed") truncateResponse(this.res);
    if (!this.reading) this.finish();
  }

  /** Teardown (the file is closed), the counters, and background tasks after a whole body. */
  finish(): void {
    const end = this.end!;
    const t = { app: this.app, request: this.req, response: this.response };
    void (async () => {
      await runTeardowns(t);
      const stats = this.app.stats;
      stats.streams[end]++;
      stats.streams.active--;
      stats.teardowns++;
      if (end === "completed") await runTasks(t);
    })();
  }
}
