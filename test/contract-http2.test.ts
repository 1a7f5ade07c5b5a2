/**
 * The contract app started as outside clients start it (`node examples/contract/main.ts`), with
 * TLS_CERT/TLS_KEY (HTTPS: HTTP/2 and HTTP/1.1 by ALPN) and H2C=1 (cleartext HTTP/2), as
 * shared/contract/APP.md says: the printed line, every route the same over HTTP/2, at least 100
 * concurrent streams, a reset stream counted as aborted, a producer error as RST_STREAM
 * INTERNAL_ERROR, GOAWAY before the end on SIGTERM.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import type { ClientHttp2Stream } from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { testCertificate } from "./helpers/app.ts";
import {
  h2Connect,
  h2Request,
  NGHTTP2_CANCEL,
  NGHTTP2_INTERNAL_ERROR,
  NGHTTP2_NO_ERROR,
  tlsGet,
} from "./helpers/h2.ts";
import { within } from "./helpers/wait.ts";

const MAIN = fileURLToPath(new URL("../examples/contract/main.ts", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "sluice-contract-h2-"));
const CERT = join(dir, "cert.pem");
const KEY = join(dir, "key.pem");
writeFileSync(CERT, testCertificate().cert);
writeFileSync(KEY, testCertificate().key);
after(() => rmSync(dir, { recursive: true, force: true }));

interface Contract {
  child: ChildProcess;
  url: string;
  line: string;
  exit: Promise<number | null>;
}

const children: ChildProcess[] = [];
after(() => {
  for (const child of children) child.kill("SIGKILL");
});

/** Starts the contract app on a free port with these variables; resolves on its listening line. */
async function start(env: Record<string, string>): Promise<Contract> {
  const child = spawn(process.execPath, [MAIN], {
    env: { ...process.env, HOST: "127.0.0.1", PORT: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  // Its error log (a producer failing on purpose) is kept for a failure message, not printed.
  let errors = "";
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (d: string) => {
    errors += d;
  });
  const exit = new Promise<number | null>((resolve) => child.once("exit", resolve));
  const line = await within(
    new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout!.setEncoding("utf8");
      child.stdout!.on("data", (d: string) => {
        out += d;
        const nl = out.indexOf("\n");
        if (nl !== -1) resolve(out.slice(0, nl));
      });
      child.once("exit", (code) =>
        reject(new Error(`the contract app exited (${code}): ${errors}`)),
      );
    }),
    10_000,
    "the listening line",
  );
  const url = /^listening on (https?:\/\/127\.0\.0\.1:\d+)$/.exec(line)?.[1];
  assert.ok(url, `unexpected first line: ${line}`);
  return { child, url, line, exit };
}

async function stats(session: Parameters<typeof h2Request>[0]) {
  const res = await h2Request(session, "GET", "/__stats");
  return JSON.parse(res.body.toString()) as {
    streams: {
      started: number;
      completed: number;
      aborted: number;
      errored: number;
      active: number;
    };
    teardowns: number;
  };
}

describe("the contract app over TLS (TLS_CERT, TLS_KEY)", { timeout: 60_000 }, () => {
  it("serves every stream promise of APP.md over h2, and HTTP/1.1 by ALPN", async () => {
    const app = await start({ TLS_CERT: CERT, TLS_KEY: KEY });
    const session = await h2Connect(app.url, { ca: testCertificate().cert });
    try {
      assert.match(app.line, /^listening on https:\/\//);
      assert.equal(session.alpnProtocol, "h2");
      const json = await h2Request(session, "GET", "/json");
      assert.equal(json.status, 200);
      assert.equal(json.headers["content-type"], "application/json");
      assert.equal(json.body.toString(), '{"hello":"world"}');
      // A client that offers no ALPN gets HTTP/1.1.
      const port = Number(new URL(app.url).port);
      const h1 = await tlsGet(port, "/json");
      assert.equal(h1.protocol, false);
      assert.match(h1.raw, /^HTTP\/1\.1 200 [\s\S]*\r\n\r\n\{"hello":"world"\}$/);

      // At least 100 concurrent streams on one connection: 110 event streams, each with its first
      // event, open at once.
      const open: ClientHttp2Stream[] = [];
      await Promise.all(
        Array.from(
          { length: 110 },
          () =>
            new Promise<void>((resolve, reject) => {
              const s = session.request({ ":path": "/sse?interval=200" }, { endStream: true });
              s.on("error", reject);
              s.once("data", () => {
                open.push(s);
                resolve();
              });
            }),
        ),
      );
      assert.equal((await stats(session)).streams.active, 110);
      // A reset stream ends as aborted within 2 s, its teardown run, and /__stats counts it.
      const before = await stats(session);
      for (const s of open) s.close(NGHTTP2_CANCEL);
      const deadline = Date.now() + 2000;
      let now = await stats(session);
      while (now.streams.active > 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        now = await stats(session);
      }
      assert.equal(now.streams.active, 0, "reset streams still active after 2 s");
      assert.equal(now.streams.aborted - before.streams.aborted, 110);
      assert.equal(now.teardowns - before.teardowns, 110);

      // A producer error: RST_STREAM INTERNAL_ERROR after what was sent, never END_STREAM.
      const failed = await h2Request(session, "GET", "/ndjson-error?n=3");
      assert.equal(failed.ended, false);
      assert.equal(failed.rstCode, NGHTTP2_INTERNAL_ERROR);
      assert.equal(failed.body.toString().split("\n").length, 4);

      // A producer stuck in an await that ignores the signal (/stall): a reset still ends it as
      // aborted within 2 s, its teardown run.
      const beforeStall = await stats(session);
      const stall = session.request({ ":path": "/stall" }, { endStream: true });
      stall.on("error", () => {});
      await within(new Promise((r) => stall.once("data", r)), 3000, "the first line of /stall");
      assert.equal((await stats(session)).streams.active, beforeStall.streams.active + 1);
      stall.close(NGHTTP2_CANCEL);
      const stallDeadline = Date.now() + 2000;
      let afterStall = await stats(session);
      while (afterStall.streams.active > beforeStall.streams.active && Date.now() < stallDeadline) {
        await new Promise((r) => setTimeout(r, 50));
        afterStall = await stats(session);
      }
      assert.equal(afterStall.streams.active, beforeStall.streams.active, "/stall still active");
      assert.equal(afterStall.streams.aborted - beforeStall.streams.aborted, 1);
      assert.equal(afterStall.teardowns - beforeStall.teardowns, 1);

      // SIGTERM: GOAWAY (NO_ERROR) first, then the open streams end, then exit 0 within 5 s.
      const sse = session.request({ ":path": "/sse?interval=100" }, { endStream: true });
      sse.on("error", () => {});
      await within(new Promise((r) => sse.once("data", r)), 3000, "an event");
      sse.resume();
      const goaway = new Promise<number>((resolve) => session.once("goaway", resolve));
      const streamEnded = new Promise<number>((resolve) =>
        sse.once("close", () => resolve(sse.rstCode ?? NGHTTP2_NO_ERROR)),
      );
      app.child.kill("SIGTERM");
      assert.equal(await within(goaway, 3000, "GOAWAY"), NGHTTP2_NO_ERROR);
      // The event stream ends cleanly (END_STREAM, no reset): an EventSource reconnects.
      assert.equal(await within(streamEnded, 3000, "the event stream to end"), NGHTTP2_NO_ERROR);
      assert.equal(sse.readableEnded || sse.rstCode === NGHTTP2_NO_ERROR, true);
      assert.equal(await within(app.exit, 5000, "the exit"), 0);
    } finally {
      session.destroy();
      app.child.kill("SIGKILL");
    }
  });

  it("ignores H2C=1 when TLS_CERT and TLS_KEY are set", async () => {
    const app = await start({ TLS_CERT: CERT, TLS_KEY: KEY, H2C: "1" });
    try {
      assert.match(app.line, /^listening on https:\/\//);
    } finally {
      app.child.kill("SIGTERM");
      await within(app.exit, 5000, "the exit");
    }
  });
});

describe("the contract app on h2c (H2C=1)", { timeout: 30_000 }, () => {
  it("serves cleartext HTTP/2 with prior knowledge", async () => {
    const app = await start({ H2C: "1" });
    const session = await h2Connect(app.url);
    try {
      assert.match(app.line, /^listening on http:\/\//);
      const res = await h2Request(session, "GET", "/ndjson?n=3");
      assert.equal(res.status, 200);
      assert.equal(res.headers["content-type"], "application/x-ndjson");
      assert.equal(res.body.toString(), '{"i":0,"sq":0}\n{"i":1,"sq":1}\n{"i":2,"sq":4}\n');
    } finally {
      session.close();
      app.child.kill("SIGTERM");
      assert.equal(await within(app.exit, 5000, "the exit"), 0);
    }
  });
});
