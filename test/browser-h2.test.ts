/**
 * A browser on HTTP/2 (issue 13): headless Chromium loads a page from the TLS server (a certificate
 * made for the run, trusted by its SPKI pin) and opens ten EventSources at once. Over HTTP/2 they
 * share one connection and all ten receive their events; over HTTP/1.1 Chromium opens at most six
 * connections to the host, so the seventh and later wait.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { App, HTMLResponse, SSEResponse, sse } from "../src/index.ts";
import { type AnyServer, type RunningServer, type ServeOptions, serve } from "../src/node/index.ts";
import { testCertificate } from "./helpers/app.ts";
import { type Browser, browserMissing, launchBrowser } from "./helpers/browser.ts";

const STREAMS = 10;

/** The page opens STREAMS EventSources and counts those that received their first event. */
const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>ten event streams</title>
<script>
  window.received = new Set();
  for (let i = 0; i < ${STREAMS}; i++) {
    const source = new EventSource("/events?i=" + i);
    source.addEventListener("hello", () => window.received.add(i));
  }
</script>`;

/** The app: the page, and event streams that stay open (a hello, then a tick now and then). */
function eventsApp() {
  const seen = { versions: [] as string[] };
  const app = new App().onError(() => {});
  app.get("/", () => new HTMLResponse(PAGE));
  app.get("/events", (req) => {
    seen.versions.push(req.httpVersion);
    const signal = req.signal;
    return new SSEResponse(
      (async function* () {
        yield sse({ event: "hello", data: { i: req.query.i } });
        while (!signal.aborted) {
          await new Promise((r) => setTimeout(r, 200));
          yield sse({ event: "tick", data: {} });
        }
      })(),
    );
  });
  return { app, seen };
}

describe("ten EventSources in Chromium", { skip: browserMissing(), timeout: 60_000 }, () => {
  let browser: Browser;
  before(async () => {
    // Trust the test certificate, and only it, by its public key.
    browser = await launchBrowser({
      args: [`--ignore-certificate-errors-spki-list=${testCertificate().spki}`],
    });
  });
  after(() => browser?.close());

  /** Loads the page from a fresh server; resolves with the page and the server's record. */
  async function load(options: ServeOptions) {
    const { app, seen } = eventsApp();
    const server: RunningServer<AnyServer> = await serve(app, {
      port: 0,
      tls: testCertificate(),
      shutdownTimeout: 500,
      ...options,
    });
    // The connections the event streams came on (HTTP/2 only).
    const sessions = new Set<unknown>();
    server.server.on("stream", (stream: { session: unknown }, fields: Record<string, string>) => {
      if (fields[":path"]?.startsWith("/events")) sessions.add(stream.session);
    });
    const page = await browser.context.newPage();
    await page.goto(`${server.url}/`);
    return { app, seen, server, page, sessions: () => sessions.size };
  }

  it("all receive their events over HTTP/2, on one connection", async () => {
    const { seen, server, page, sessions } = await load({});
    try {
      await page.waitForFunction((n) => (window as any).received.size === n, STREAMS, {
        timeout: 10_000,
      });
      assert.equal(seen.versions.length, STREAMS);
      assert.ok(
        seen.versions.every((v) => v === "2.0"),
        seen.versions.join(),
      );
      assert.equal(sessions(), 1, "the ten streams shared one connection");
    } finally {
      await page.close();
      await server.close();
    }
  });

  it("get only six of them going over HTTP/1.1: the seventh waits for a connection", async () => {
    const { seen, server, page } = await load({ http2: false });
    try {
      await page.waitForFunction(() => (window as any).received.size === 6, undefined, {
        timeout: 10_000,
      });
      // The others stay queued in the browser while the six streams stay open.
      await new Promise((r) => setTimeout(r, 1000));
      assert.equal(await page.evaluate(() => (window as any).received.size), 6);
      assert.equal(seen.versions.length, 6);
      assert.ok(seen.versions.every((v) => v === "1.1"));
    } finally {
      await page.close();
      await server.close();
    }
  });
});
