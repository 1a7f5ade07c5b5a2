import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import zlib from "node:zlib";
import type { Sink } from "../responses/stream.ts";
import { availableEncodings, codingOf, type Encoding } from "./codings.ts";
import { codingSink } from "./sink.ts";

/** An engine sink that records what it gets, and is full whenever the test says so. */
function recordingSink(): Sink & { out: Buffer[]; full: boolean; release(): void } {
  let wake: (() => void) | undefined;
  const sink = {
    out: [] as Buffer[],
    full: false,
    write(chunk: string | Uint8Array) {
      sink.out.push(Buffer.from(chunk));
      return !sink.full;
    },
    drained: () =>
      new Promise<void>((resolve) => {
        if (!sink.full) return resolve();
        wake = resolve;
      }),
    ready: () => !sink.full,
    defer: <A>(fn: (arg: A) => void, arg: A) => setImmediate(fn, arg),
    release() {
      sink.full = false;
      wake?.();
    },
  };
  return sink;
}

/** Decodes a partial stream: whatever the bytes so far decode to, without an end. */
async function decodeSoFar(coding: Encoding, bytes: Buffer): Promise<string> {
  const decoder =
    coding === "br"
      ? zlib.createBrotliDecompress()
      : coding === "gzip"
        ? zlib.createGunzip()
        : zlib.createZstdDecompress();
  const out: Buffer[] = [];
  decoder.on("data", (chunk: Buffer) => out.push(chunk));
  decoder.write(bytes);
  await new Promise<void>((resolve) => decoder.flush(() => resolve()));
  decoder.destroy();
  return Buffer.concat(out).toString();
}

function sinkFor(coding: Encoding, inner: Sink) {
  const c = codingOf(coding)!;
  return codingSink(inner, c.stream(undefined), c.flush);
}

for (const coding of availableEncodings()) {
  describe(`codingSink (${coding})`, () => {
    it("makes each write decodable before anything else is written", async () => {
      const inner = recordingSink();
      const sink = sinkFor(coding, inner);
      try {
        assert.equal(sink.write("data: one\n\n"), false, "the pump waits for the batch");
        await sink.drained();
        assert.equal(await decodeSoFar(coding, Buffer.concat(inner.out)), "data: one\n\n");
        sink.write("data: two\n\n");
        await sink.drained();
        assert.equal(
          await decodeSoFar(coding, Buffer.concat(inner.out)),
          "data: one\n\ndata: two\n\n",
        );
      } finally {
        sink.destroy();
      }
    });

    it("hands the engine one write per batch, however many pieces the compressor makes", async () => {
      const inner = recordingSink();
      const sink = sinkFor(coding, inner);
      try {
        // Random bytes do not compress: 64 KiB in comes out in several of zlib's 16 KiB pieces.
        sink.write(randomBytes(64 * 1024));
        await sink.drained();
        assert.equal(inner.out.length, 1);
        assert.ok(inner.out[0]!.byteLength > 32 * 1024);
      } finally {
        sink.destroy();
      }
    });

    it("ends with a complete stream that decodes to everything written", async () => {
      const inner = recordingSink();
      const sink = sinkFor(coding, inner);
      sink.write("a".repeat(10_000));
      sink.write(new TextEncoder().encode("b".repeat(10_000)));
      assert.equal(await sink.finish(), true);
      sink.destroy();
      const all = Buffer.concat(inner.out);
      const text =
        coding === "br"
          ? zlib.brotliDecompressSync(all)
          : coding === "gzip"
            ? zlib.gunzipSync(all)
            : zlib.zstdDecompressSync(all);
      assert.equal(text.toString(), "a".repeat(10_000) + "b".repeat(10_000));
    });

    it("holds the pump while the engine's sink is full, and lets it go once it drains", async () => {
      const inner = recordingSink();
      inner.full = true;
      const sink = sinkFor(coding, inner);
      try {
        sink.write("x".repeat(5000));
        let drained = false;
        const waiting = sink.drained().then(() => {
          drained = true;
        });
        await sink.settle();
        await new Promise((r) => setImmediate(r));
        assert.equal(drained, false, "drained() resolved while the engine's sink was full");
        inner.release();
        await waiting;
        assert.equal(drained, true);
      } finally {
        sink.destroy();
      }
    });

    it("releases whoever waits when it is destroyed, and takes no more writes", async () => {
      const inner = recordingSink();
      inner.full = true;
      const sink = sinkFor(coding, inner);
      sink.write("y".repeat(5000));
      sink.destroy();
      await sink.settle();
      assert.equal(sink.write("more"), false);
      assert.equal(await sink.finish(), false);
    });
  });
}
