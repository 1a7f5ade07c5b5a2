/**
 * The showcase's LLM gateway (issue 14): the gateway against the fake model, and the chat page in
 * headless Chromium, calling the server through the typed client bundled from the sources. A
 * stopped answer (Stop, or a closed tab) must stop the model upstream at once.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createShowcaseApp, type ShowcaseAPI } from "../examples/showcase/app.ts";
import { createGateway } from "../examples/showcase/gateway.ts";
import { createModel, type Generation } from "../examples/showcase/model.ts";
import { client, StreamError } from "../src/client/index.ts";
import { Channels } from "../src/index.ts";
import { type RunningServer, serve } from "../src/node/index.ts";
import { ndjson } from "../src/testing/index.ts";
import { BOUND } from "./helpers/app.ts";
import { type Browser, browserMissing, launchBrowser } from "./helpers/browser.ts";
import { settled, until } from "./helpers/wait.ts";

const TOKEN_INTERVAL = 15;

/** The fake model on a loopback port, and its record of every generation. */
async function startModel() {
  const model = createModel({ tokenInterval: TOKEN_INTERVAL });
  model.app.onError(() => {});
  const server = await serve(model.app, { port: 0, host: "127.0.0.1" });
  const only = (): Generation => {
    assert.equal(model.generations.size, 1, "one generation");
    return [...model.generations.values()][0]!;
  };
  return { server, generations: model.generations, only };
}

const ASK = JSON.stringify({ prompt: "why?" });

describe("the LLM gateway", () => {
  it("aborts the model's request in the same turn as the browser's leaving", BOUND, async () => {
    const model = await startModel();
    let upstream: AbortSignal | undefined;
    const spy: typeof fetch = (input, init) => {
      if (String(input).endsWith("/v1/chat/completions")) upstream = init?.signal ?? undefined;
      return fetch(input, init);
    };
    const gateway = createGateway({ modelURL: model.server.url, fetch: spy }).onError(() => {});
    try {
      const res = await gateway.fetch(
        new Request("http://localhost/chat", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: ASK,
        }),
      );
      assert.equal(res.status, 200);
      const reader = res.body!.getReader();
      let text = "";
      while ((text.match(/"token"/g) ?? []).length < 3) {
        const r = await reader.read();
        text += new TextDecoder().decode(r.value);
      }
      assert.ok(upstream, "the gateway called the model with a signal");
      assert.equal(upstream.aborted, false);
      // The browser goes away. Only microtasks run before the check: no timer, no I/O turn.
      await reader.cancel();
      assert.equal(upstream.aborted, true, "aborted in the same turn");
      await until(() => model.only().state === "aborted", 2000, "the model to see the abort");
      const gen = model.only();
      assert.equal(gen.generatedAfterAbort, 0);
      assert.ok(gen.generated < gen.planned, `${gen.generated} of ${gen.planned}`);
      // It stopped on its own and stays stopped.
      assert.equal(
        await settled(() => model.only().generated, 5 * TOKEN_INTERVAL, 2000),
        gen.generated,
      );
    } finally {
      await model.server.close();
    }
  });

  it("streams a whole answer through the typed client, start to done", BOUND, async () => {
    const model = await startModel();
    const { app, stop } = createShowcaseApp({ modelURL: model.server.url });
    app.onError(() => {});
    const server = await serve(app, { port: 0, host: "127.0.0.1" });
    try {
      const api = client<ShowcaseAPI>(`${server.url}/api`);
      const events = await api.post("/chat", { body: { prompt: "hello" } });
      const types: string[] = [];
      let text = "";
      for await (const ev of events) {
        types.push(ev.type);
        if (ev.type === "token") text += ev.text;
      }
      assert.equal(types[0], "start");
      assert.equal(types.at(-1), "done");
      assert.ok(text.startsWith('You asked: "hello".'), text.slice(0, 40));
      assert.equal(model.only().state, "done");
    } finally {
      stop();
      await server.close();
      await model.server.close();
    }
  });

  it(
    "lets an upstream failure midway reach the caller as an error, never a quiet end",
    BOUND,
    async () => {
      const model = await startModel();
      const gateway = createGateway({ modelURL: model.server.url });
      const server = await serve(gateway, { port: 0, host: "127.0.0.1" });
      try {
        const api = client<typeof gateway>(server.url);
        const events = await api.post("/chat", { body: { prompt: "x", failMidway: true } });
        const seen: string[] = [];
        await assert.rejects(
          (async () => {
            for await (const ev of events) seen.push(ev.type);
          })(),
          (e: unknown) => StreamError.is(e),
        );
        assert.equal(seen.at(-1), "error");
        assert.equal(seen.filter((t) => t === "token").length, 12);
        // Read raw, the body is cut: no terminating chunk after the error line.
        const res = await fetch(`${server.url}/chat`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ prompt: "x", failMidway: true }),
        });
        const lines: unknown[] = [];
        await assert.rejects(async () => {
          for await (const line of ndjson(res)) lines.push(line);
        });
        assert.deepEqual(lines.at(-1), {
          type: "error",
          message: "the model's answer broke off midway",
        });
      } finally {
        await server.close();
        await model.server.close();
      }
    },
  );

  it("answers 502 when the model cannot be reached, and 503 without one", BOUND, async () => {
    const api = (modelURL: string | undefined) => {
      const gateway = createGateway({ modelURL }).onError(() => {});
      return client<typeof gateway>("http://localhost", { fetch: gateway.fetch });
    };
    const unreachable = await api("http://127.0.0.1:9")
      .post("/chat", { body: { prompt: "x" } })
      .catch((e: unknown) => e);
    assert.ok(unreachable instanceof Error && "status" in unreachable);
    assert.equal(unreachable.status, 502);
    const none = await api(undefined)
      .post("/chat", { body: { prompt: "x" } })
      .catch((e: unknown) => e);
    assert.ok(none instanceof Error && "status" in none);
    assert.equal(none.status, 503);
  });
});

describe("the chat page in headless Chromium", { skip: browserMissing() }, () => {
  let browser: Browser;
  let model: Awaited<ReturnType<typeof startModel>>;
  let server: RunningServer;
  let stopShowcase: () => void;

  before(async () => {
    browser = await launchBrowser();
    model = await startModel();
    const showcase = createShowcaseApp({ modelURL: model.server.url });
    showcase.app.onError(() => {});
    stopShowcase = showcase.stop;
    server = await serve(showcase.app, { port: 0, host: "127.0.0.1" });
  });

  after(async () => {
    stopShowcase?.();
    await browser?.close();
    await server?.close();
    await model?.server.close();
  });

  /** A fresh page on /chat whose answer records the time of each token as it lands. */
  async function chatPage() {
    model.generations.clear();
    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(`${server.url}/chat`);
    await page.waitForSelector("#send:not([disabled])");
    await page.evaluate(() => {
      const times: number[] = [];
      (window as unknown as { tokenTimes: number[] }).tokenTimes = times;
      new MutationObserver((records) => {
        for (const _ of records) times.push(performance.now());
      }).observe(document.getElementById("answer")!, { childList: true, characterData: true });
    });
    return { page, errors };
  }

  const tokens = (page: import("playwright-core").Page) =>
    page.$eval("#answer", (el) => Number((el as HTMLElement).dataset.tokens ?? 0));

  it("streams the answer token by token", { timeout: 20_000 }, async () => {
    const { page, errors } = await chatPage();
    try {
      await page.click("#send");
      await page.waitForSelector('#status[data-state="done"]', { timeout: 15_000 });
      const times = await page.evaluate(
        () => (window as unknown as { tokenTimes: number[] }).tokenTimes,
      );
      const gen = model.only();
      assert.equal(gen.state, "done");
      assert.equal(await tokens(page), gen.planned);
      // Each token landed on its own, spread over the time the model took, not in one lump.
      assert.equal(times.length, gen.planned);
      const spread = times.at(-1)! - times[0]!;
      assert.ok(
        spread >= (gen.planned - 1) * TOKEN_INTERVAL * 0.5,
        `${gen.planned} tokens landed within ${spread.toFixed(0)} ms`,
      );
      assert.match((await page.textContent("#answer")) ?? "", /^You asked: "Why should a gateway/);
      assert.deepEqual(errors, []);
    } finally {
      await page.close();
    }
  });

  it("stops the model upstream when Stop is pressed: nothing generated after the abort", {
    timeout: 20_000,
  }, async () => {
    const { page, errors } = await chatPage();
    try {
      await page.click("#send");
      await page.waitForFunction(
        () => Number(document.getElementById("answer")!.dataset.tokens) >= 5,
      );
      await page.click("#stop");
      await page.waitForSelector("#usage[data-after-abort]", { timeout: 5000 });
      assert.equal(await page.getAttribute("#usage", "data-after-abort"), "0");
      assert.match((await page.textContent("#status")) ?? "", /^stopped after \d+ tokens$/);
      const gen = model.only();
      assert.equal(gen.state, "aborted");
      assert.equal(gen.generatedAfterAbort, 0);
      assert.ok(gen.generated < gen.planned, `${gen.generated} of ${gen.planned}`);
      assert.equal(await page.getAttribute("#usage", "data-generated"), String(gen.generated));
      assert.equal(
        await settled(() => model.only().generated, 5 * TOKEN_INTERVAL, 2000),
        gen.generated,
      );
      // The page says how soon the model followed (a figure, not a bound: the machine may be busy;
      // the same-turn abort is asserted without timing above).
      assert.match((await page.textContent("#usage")) ?? "", /stopped [\d.]+ ms after/);
      assert.deepEqual(errors, []);
    } finally {
      await page.close();
    }
  });

  it("stops the model upstream when the tab is closed", { timeout: 20_000 }, async () => {
    const { page } = await chatPage();
    await page.click("#send");
    await page.waitForFunction(
      () => Number(document.getElementById("answer")!.dataset.tokens) >= 5,
    );
    await page.close();
    await until(
      () => model.only().state === "aborted",
      3000,
      () => `state ${model.only().state}`,
    );
    const gen = model.only();
    assert.equal(gen.generatedAfterAbort, 0);
    assert.ok(gen.generated < gen.planned, `${gen.generated} of ${gen.planned}`);
    assert.equal(
      await settled(() => model.only().generated, 5 * TOKEN_INTERVAL, 2000),
      gen.generated,
    );
    // Both ends saw the abort, so the gateway can say how soon the model followed.
    const api = client<ShowcaseAPI>(`${server.url}/api`);
    const usage = await api.get("/chat/:id/usage", { params: { id: gen.id } });
    assert.equal(usage.state, "aborted");
    assert.equal(typeof usage.upstreamStoppedAfterMs, "number");
  });

  it("shows an upstream failure midway as a visible error", { timeout: 20_000 }, async () => {
    const { page, errors } = await chatPage();
    try {
      await page.check("#fail");
      await page.click("#send");
      await page.waitForSelector('#status[data-state="error"]', { timeout: 10_000 });
      // The call is over once Ask is enabled again: the cut has landed, and it still says error.
      await page.waitForSelector("#send:not([disabled])", { timeout: 5000 });
      assert.equal(await page.getAttribute("#status", "data-state"), "error");
      // The error event says why, when it arrives: Chromium may drop the last bytes before a
      // connection that ends without its terminating chunk (3 times in 20 here), and then the cut
      // itself is the visible error.
      assert.match(
        (await page.textContent("#status")) ?? "",
        /^error: (the model's answer broke off midway|the connection to the server was lost); the answer is incomplete$/,
      );
      assert.equal(await tokens(page), 12);
      assert.equal(model.only().state, "failed");
      assert.deepEqual(errors, []);
    } finally {
      await page.close();
    }
  });
});

describe("the live chart in headless Chromium", { skip: browserMissing() }, () => {
  it("tells the chart of a gap when the history no longer holds its last tick, and goes on", {
    timeout: 30_000,
  }, async () => {
    // A history of 5: what is published while the chart waits to reconnect pushes its last tick out.
    const channels = new Channels({ history: 5, keepalive: false });
    // No ticker: the test publishes every tick itself.
    const { app, stop } = createShowcaseApp({ channels, tickInterval: false });
    app.onError(() => {});
    const server = await serve(app, { port: 0, host: "127.0.0.1" });
    const browser = await launchBrowser();
    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    type Chart = { ids: string[]; opened: number; gaps: number };
    const chart = () => page.evaluate(() => (window as unknown as { chart: Chart }).chart);
    try {
      const ticks = channels.channel("ticks");
      await page.goto(`${server.url}/live`);
      await page.waitForFunction(() => (window as unknown as { chart: Chart }).chart.opened > 0);
      await until(() => channels.subscribers().ticks === 1, 5000, "the chart subscribed");
      // The server ends the chart's connection after 15 ticks; it comes back after retry: 1000.
      const first: string[] = [];
      for (let i = 0; i < 15; i++)
        first.push(await ticks.publish({ at: `a${i}`, value: i }, { event: "tick" }));
      await until(() => (channels.subscribers().ticks ?? 0) === 0, 5000, "the connection to end");
      // Published at once while the chart waits to come back: its last tick falls out of the
      // history.
      const later = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          ticks.publish({ at: `b${i}`, value: i }, { event: "tick" }),
        ),
      );
      await page.waitForFunction(
        (id) => (window as unknown as { chart: Chart }).chart.ids.includes(id),
        later.at(-1)!,
        { timeout: 10_000 },
      );
      const after = await chart();
      assert.equal(after.gaps, 1, "the gap is told once");
      assert.equal(after.opened, 2);
      // Everything before the gap, then what the history held (its last 5), each once, in order;
      // the 15 ticks it no longer held are not drawn, and the gap said so.
      assert.deepEqual(after.ids, [...first, ...later.slice(-5)]);
      assert.equal(await page.textContent("#gaps"), "1");
      assert.deepEqual(errors, []);
    } finally {
      await page.close();
      await browser.close();
      await server.close();
      stop();
    }
  });
});
