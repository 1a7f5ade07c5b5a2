import type { Chunk, Sink, SinkCoding } from "../responses/stream.ts";
import type { CodingStream } from "./codings.ts";

/**
 * Wraps an engine's sink with a compressing stream. Each write (one batch of the pump) goes into
 * the compressor followed by a flush, so its compressed bytes leave at once: items produced back
 * to back share a flush (and compress well together), an item after an idle moment is not held
 * back. Backpressure holds through the compressor: `write` answers false so the pump waits in
 * `drained()` until the batch is compressed and the inner sink can take more, so at most one
 * batch is ever inside the compressor.
 *
 * @example
 * const sink = codingSink(engineSink, zlib.createGzip(), zlib.constants.Z_SYNC_FLUSH);
 * sink.write("data: hello\n\n"); // leaves compressed and decodable, without waiting for more
 * await sink.finish();
 */
export function codingSink(inner: Sink, stream: CodingStream, flushKind: number): SinkCoding {
  let flushing = 0;
  let blocked = false;
  let failed = false;
  let gone = false;
  let waiters: (() => void)[] = [];
  const wake = (): void => {
    const list = waiters;
    waiters = [];
    for (const fn of list) fn();
  };
  const idle = (): Promise<void> =>
    flushing === 0 || failed || gone ? Promise.resolve() : new Promise((r) => waiters.push(r));

  // The compressor hands out its output in pieces (16 KiB each): they are held until the batch's
  // flush completes and go to the engine as one write, as the batch would have uncompressed.
  let held: Buffer[] = [];
  const release = (): void => {
    if (held.length === 0 || gone) return;
    const out = held.length === 1 ? held[0]! : Buffer.concat(held);
    held = [];
    if (!inner.write(out)) blocked = true;
  };
  stream.on("data", (chunk) => {
    held.push(chunk);
    if (flushing === 0) release();
  });
  stream.on("error", () => {
    failed = true;
    wake();
  });
  // A destroyed compressor never calls back its pending flushes: nobody may wait for them.
  stream.on("close", () => {
    gone = true;
    wake();
  });

  return {
    write(chunk: Chunk): boolean {
      if (failed || gone) return false;
      flushing++;
      stream.write(chunk);
      stream.flush(flushKind, () => {
        flushing--;
        release();
        if (flushing === 0) wake();
      });
      return false;
    },
    async drained(): Promise<void> {
      await idle();
      if (blocked) {
        blocked = false;
        await inner.drained();
      }
    },
    ready: () => flushing === 0 && (!blocked || inner.ready()),
    defer: (fn, arg) => inner.defer(fn, arg),
    settle: idle,
    finish(): Promise<boolean> {
      if (failed || gone) return Promise.resolve(false);
      return new Promise<boolean>((resolve) => {
        stream.on("end", () => resolve(!failed));
        stream.on("error", () => resolve(false));
        // Destroyed before it ended: what it held never went out.
        stream.on("close", () => resolve(false));
        stream.end();
      });
    },
    destroy(): void {
      gone = true;
      held = [];
      if (!stream.destroyed) stream.destroy();
      wake();
    },
  };
}
