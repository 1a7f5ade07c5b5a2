import { closeSync, existsSync, mkdirSync, openSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import {
  App,
  type Channel,
  Channels,
  CSVResponse,
  escapeHTML,
  HTMLResponse,
  HTTPError,
  JSONResponse,
  NDJSONResponse,
  ndjsonOf,
  RedirectResponse,
  sseOf,
} from "../../src/index.ts";
import { staticMount } from "../../src/node/index.ts";
import { serveOpenAPI } from "../../src/openapi/index.ts";
import { liquidEngine, TemplateResponse } from "../../src/templates/index.ts";
import { browserAssets } from "./assets.ts";
import { createGateway } from "./gateway.ts";

/** One page of the showcase: a title, a little text, and the HTML inside <main>. */
function page(title: string, body: string): HTMLResponse {
  return new HTMLResponse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>${escapeHTML(title)} · Sluice</title>
<style>
 body{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#1d2733}
 a{color:#0b62c4} code,pre{background:#f1f4f8;border-radius:4px;padding:.1rem .3rem}
 pre{padding:.8rem;overflow:auto;max-height:22rem} li{margin:.3rem 0} .muted{color:#6b7785}
</style></head>
<body><p><a href="/">Sluice showcase</a></p><h1>${escapeHTML(title)}</h1>${body}</body></html>`);
}

/** The last tick values, for the dashboard's figures. */
const recent: { at: string; value: number }[] = [];

/**
 * The ticker: one value a second, a random walk, published to the `ticks` channel. Every open chart
 * gets each tick from the channel; one that reconnects (or a server restarted with Redis) resumes
 * after the last tick it drew, so its line has no hole.
 */
function startTicker(ticks: Channel<Tick>, interval: number | false): () => void {
  if (interval === false) return () => {};
  let value = 50;
  const tick = () => {
    value = Math.min(100, Math.max(0, value + (Math.random() - 0.5) * 8));
    const t = { at: new Date().toISOString(), value: Math.round(value * 10) / 10 };
    recent.push(t);
    if (recent.length > 100) recent.shift();
    ticks.publish(t, { event: "tick" }).catch((err) => console.error("ticker:", err.message));
  };
  tick();
  const timer = setInterval(tick, interval);
  timer.unref();
  return () => clearInterval(timer);
}

const DASHBOARD_DELAY_MS = 1500;

/** The dashboard's figures, as a slow query would deliver them. */
async function dashboardStats(signal: AbortSignal): Promise<{ label: string; value: string }[]> {
  await sleep(DASHBOARD_DELAY_MS, undefined, { signal }).catch(() => {});
  const values = recent.map((t) => t.value);
  const mean = values.reduce((a, b) => a + b, 0) / Math.max(values.length, 1);
  return [
    { label: "ticks kept", value: String(values.length) },
    { label: "mean tick value", value: mean.toFixed(1) },
    { label: "last tick", value: recent.at(-1)?.at ?? "none" },
    { label: "server uptime", value: `${process.uptime().toFixed(0)} s` },
    { label: "heap used", value: `${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(1)} MiB` },
  ];
}

const NameQuery = z.object({ name: z.string().max(100).optional() });
const CountQuery = z.object({ n: z.coerce.number().int().min(0).max(1_000_000).optional() });
const Hello = z.object({ hello: z.string() });
const Status = z.object({ ok: z.boolean() });
const RowSchema = z.object({ i: z.number().int(), sq: z.number().int() });
const TickSchema = z.object({ at: z.string(), value: z.number() });
type Tick = z.infer<typeof TickSchema>;
const MessageSchema = z.object({
  name: z.string().trim().min(1).max(40),
  text: z.string().trim().min(1).max(500),
});
/**
 * Makes the showcase's media once per machine: a 6-second tone as WAV and an 8 MiB download.
 * Generated, not committed, so the repository stays small.
 */
function mediaDir(): string {
  const dir = join(tmpdir(), "sluice-showcase-media");
  mkdirSync(dir, { recursive: true });
  const wav = join(dir, "tone.wav");
  if (!existsSync(wav)) {
    const rate = 22050;
    const samples = rate * 6;
    const buf = Buffer.alloc(44 + samples * 2);
    buf.write("RIFF", 0);
    buf.writeUInt32LE(36 + samples * 2, 4);
    buf.write("WAVEfmt ", 8);
    buf.writeUInt32LE(16, 16);
    buf.writeUInt16LE(1, 20); // PCM
    buf.writeUInt16LE(1, 22); // mono
    buf.writeUInt32LE(rate, 24);
    buf.writeUInt32LE(rate * 2, 28);
    buf.writeUInt16LE(2, 32);
    buf.writeUInt16LE(16, 34);
    buf.write("data", 36);
    buf.writeUInt32LE(samples * 2, 40);
    for (let i = 0; i < samples; i++) {
      const f = 440 + 220 * Math.floor(i / rate); // a step up every second, so seeking is audible
      buf.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * f * i) / rate)), 44 + i * 2);
    }
    const fd = openSync(wav, "w");
    writeSync(fd, buf);
    closeSync(fd);
  }
  const big = join(dir, "big.bin");
  if (!existsSync(big)) {
    const fd = openSync(big, "w");
    const block = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < 8; i++) writeSync(fd, block.fill(65 + i));
    closeSync(fd);
  }
  return dir;
}

/** Options of the showcase. */
export interface ShowcaseOptions {
  /** The broadcast channels of the live chart and the chat room (default: in memory). */
  channels?: Channels;
  /** The OpenAI-compatible server the LLM gateway proxies (main.ts starts a fake one). */
  modelURL?: string;
  /** Milliseconds between the live chart's ticks (default 1000); false: no ticker (tests publish). */
  tickInterval?: number | false;
}

/**
 * The API the showcase's pages call through the typed client, mounted at /api: its routes are
 * declared as one chain, so `ShowcaseAPI` carries them to `client<ShowcaseAPI>()` in the browser.
 *
 * @example
 * const api = client<ShowcaseAPI>(new URL("/api", location.origin));
 */
export function createShowcaseAPI(options: ShowcaseOptions = {}) {
  return createGateway({ modelURL: options.modelURL }).get(
    "/status",
    { summary: "Health", tags: ["buffered"], responses: { 200: Status } },
    () => new JSONResponse({ ok: true }),
  );
}

/** The showcase's API (mounted at /api), as a client of it sees it. */
export type ShowcaseAPI = ReturnType<typeof createShowcaseAPI>;

/** The showcase app, as the browser pages' client sees it: /api/..., /live/events. */
export type ShowcaseApp = ReturnType<typeof createShowcaseApp>["app"];

/**
 * The showcase: a landing page linking one example per response type, a streamed dashboard, a live
 * chart and a chat room on broadcast channels (in memory, or in Redis when `channels` says so), and
 * an LLM gateway whose page calls the server through the typed client.
 *
 * @example
 * const { app } = createShowcaseApp({ modelURL: "http://127.0.0.1:4000" });
 * await serve(app, { port: 3000 });
 */
export function createShowcaseApp(options: ShowcaseOptions = {}) {
  const app = new App();
  const channels = options.channels ?? new Channels({ history: 300 });
  const ticks = channels.channel("ticks", { schema: TickSchema });
  const chat = channels.channel("chat", { schema: MessageSchema });
  const stopTicker = startTicker(ticks, options.tickInterval ?? 1000);

  app.templates(liquidEngine({ dir: fileURLToPath(new URL("./templates", import.meta.url)) }));
  app.get(
    "/",
    { summary: "The landing page, from a template", tags: ["pages"] },
    () => new TemplateResponse("index", { title: "Sluice showcase", delay: DASHBOARD_DELAY_MS }),
  );
  app.get(
    "/dashboard",
    {
      summary: "A streamed template: the head first, the figures when ready",
      tags: ["pages"],
      query: NameQuery,
    },
    (req) => {
      // Started now, awaited by the template where it is used: the page head is sent first.
      const stats = dashboardStats(req.signal);
      return new TemplateResponse(
        "dashboard",
        {
          title: "Dashboard",
          name: req.query.name ?? "guest",
          delay: DASHBOARD_DELAY_MS,
          renderedAt: new Date().toISOString(),
          stats,
          finishedAt: stats.then(() => new Date().toISOString()),
        },
        { stream: true },
      );
    },
  );

  app.get(
    "/hello",
    { summary: "A JSON greeting", tags: ["buffered"], query: NameQuery, responses: { 200: Hello } },
    (req) => ({ hello: req.query.name ?? "world" }),
  );
  app.get(
    "/greet",
    { summary: "An HTML greeting, escaped", tags: ["pages"], query: NameQuery },
    (req) => page("Greeting", `<p>Hello, ${escapeHTML(req.query.name ?? "world")}!</p>`),
  );
  app.get(
    "/go",
    { summary: "A 307 redirect", tags: ["buffered"], responses: { 307: null } },
    () => new RedirectResponse("/hello?name=redirected"),
  );
  app.get("/oops", { summary: "A problem details error", tags: ["buffered"] }, () => {
    throw new HTTPError(418, "this teapot refuses to brew coffee");
  });

  app.get("/live", { summary: "A live chart on a broadcast channel", tags: ["pages"] }, () =>
    page(
      "Live chart",
      `<p>One tick a second from a channel (<code>/live/events</code>), read through the typed client
(<code>sluice/client</code>). The server ends each connection after 15 events; the client reconnects
with <code>Last-Event-ID</code> and the channel replays what it missed, so the line never breaks (a gap,
should the history no longer hold the last tick drawn, is told and starts a new stretch). Started with
<code>REDIS_URL</code>, the history lives in Redis: restart the server and the line carries on where it
stopped.</p>
<p class="muted" id="state">connecting…</p>
<svg id="chart" viewBox="0 0 600 200" style="width:100%;background:#f7f9fc;border-radius:6px">
<polyline id="line" fill="none" stroke="#0b62c4" stroke-width="2" points=""/></svg>
<p class="muted"><span id="count">0</span> ticks drawn, <span id="reconnects">0</span> reconnects, <span id="gaps">0</span> gaps</p>
<script type="module" src="/assets/live.js"></script>`,
    ),
  );

  app.get("/room", { summary: "A chat room every open tab shows", tags: ["pages"] }, () =>
    page(
      "Chat room",
      `<p>Messages go to a broadcast channel; every open tab (open another) gets each one once,
and a new tab starts with the recent history.</p>
<form id="send"><input name="name" placeholder="name" maxlength="40" required style="width:8rem">
<input name="text" placeholder="say something" maxlength="500" required style="width:22rem">
<button>Send</button></form><p class="muted" id="error"></p><ul id="messages"></ul>
<script>
const list = document.getElementById("messages"), error = document.getElementById("error");
const es = new EventSource("/room/events");
es.addEventListener("message", (e) => {
  const m = JSON.parse(e.data), li = document.createElement("li");
  li.textContent = m.name + ": " + m.text;
  list.prepend(li);
});
document.getElementById("send").onsubmit = async (ev) => {
  ev.preventDefault();
  const form = new FormData(ev.target);
  const res = await fetch("/room/messages", { method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: form.get("name"), text: form.get("text") }) });
  error.textContent = res.ok ? "" : (await res.json()).detail;
  if (res.ok) ev.target.elements.text.value = "";
};
</script>`,
    ),
  );
  app.get(
    "/room/events",
    {
      summary: "The chat room's messages: the recent history, then live",
      tags: ["streams"],
      responses: { 200: sseOf(MessageSchema, { events: ["message", "gap"] }) },
    },
    (req) => chat.subscribe(req, { fromStart: true }),
  );
  app.post(
    "/room/messages",
    {
      summary: "Say something in the chat room",
      tags: ["streams"],
      body: MessageSchema,
      responses: { 201: z.object({ id: z.string() }) },
    },
    async (req) =>
      new JSONResponse({ id: await chat.publish(req.body, { event: "message" }) }, { status: 201 }),
  );

  app.get("/chat", { summary: "A chat through the LLM gateway, with Stop", tags: ["pages"] }, () =>
    page(
      "LLM gateway",
      `<p>The page calls <code>POST /api/chat</code> through <code>sluice/client</code>; the server proxies a
local OpenAI-compatible model (a fake one, started with the showcase, one token every few ms) with
<code>fetch(model, { signal: req.signal })</code>. Stop (or closing the tab) cancels the call, and the
model's request is aborted in the same turn of the server's event loop.</p>
<form id="ask"><textarea id="prompt" rows="2" style="width:100%">Why should a gateway pass its request's signal upstream?</textarea>
<label><input type="checkbox" id="fail"> make the model fail midway</label>
<p><button id="send" type="submit">Ask</button> <button id="stop" type="button" disabled>Stop</button></p></form>
<p id="status" class="muted"></p><p id="answer" style="white-space:pre-wrap"></p><p id="usage" class="muted"></p>
<script type="module" src="/assets/chat.js"></script>`,
    ),
  );

  app.get(
    "/export.ndjson",
    {
      summary: "An NDJSON export",
      tags: ["streams"],
      query: CountQuery,
      responses: { 200: ndjsonOf(RowSchema) },
    },
    (req) => {
      const n = req.query.n ?? 1000;
      return new NDJSONResponse(
        (function* () {
          for (let i = 0; i < n; i++) yield { i, sq: i * i };
        })(),
      );
    },
  );
  app.get(
    "/export.csv",
    { summary: "A CSV download", tags: ["streams"], query: CountQuery },
    (req) => {
      const n = req.query.n ?? 100;
      return new CSVResponse(
        (function* () {
          for (let i = 0; i < n; i++)
            yield { id: i, name: `row ${i}`, note: i % 3 ? "plain" : 'has "quotes", commas' };
        })(),
        { columns: ["id", "name", "note"], filename: "export.csv" },
      );
    },
  );
  const assets = browserAssets();
  app.get("/assets/:name", { summary: "The pages' scripts, bundled", tags: ["pages"] }, (req) =>
    assets(req.params.name),
  );

  // Files: an audio clip the browser seeks in with Range requests, and a resumable download.
  const media = mediaDir();
  app.mount("/files", staticMount(media));
  app.get("/media", { summary: "Range requests from a real browser", tags: ["pages"] }, () =>
    page(
      "Audio, video and resumable downloads",
      `<p>The clip is served by a static mount: the browser asks for byte ranges as you seek (206
Partial Content), and a reload revalidates with <code>If-None-Match</code> (304).</p>
<audio controls preload="metadata" src="/files/tone.wav"></audio>
<p><a href="/files/big.bin" download>Download 8 MiB</a> — resume an interrupted download with
<code>curl -C - -O http://127.0.0.1:3000/files/big.bin</code>.</p>`,
    ),
  );

  // The routes the pages' scripts call, declared as one chain: the app's type (`ShowcaseApp`)
  // carries them to the typed client in the browser (browser/*.ts).
  const routed = app.mount("/api", createShowcaseAPI(options)).get(
    "/live/events",
    {
      summary: "Live ticks from a channel, resumable with Last-Event-ID",
      tags: ["streams"],
      responses: { 200: sseOf(TickSchema, { events: ["tick", "gap"] }) },
    },
    (req) => ticks.subscribe(req, { limit: 15, retry: 1000 }),
  );

  serveOpenAPI(routed, { info: { title: "Sluice showcase", version: "1.0.0" } });

  return {
    app: routed,
    stop: () => {
      stopTicker();
      void channels.close();
    },
  };
}
