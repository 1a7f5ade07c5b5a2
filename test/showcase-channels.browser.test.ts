/**
 * The showcase's channel pages in a real browser (Debian's Chromium through playwright-core): the
 * live chart keeps its line unbroken across its reconnects and, on Redis, across a restart of the
 * server; the chat room shows a message in every open tab.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createShowcaseApp } from "../examples/showcase/app.ts";
import { type Channel, Channels } from "../src/index.ts";
import { type RunningServer, serve } from "../src/node/index.ts";
import { RedisBackend } from "../src/redis/index.ts";
import { type Browser, browserMissing, launchBrowser } from "./helpers/browser.ts";
import { freePort, RedisServer, redisSkip } from "./helpers/redis.ts";
import { until } from "./helpers/wait.ts";

type ChartState = { ids: string[]; opened: number; gaps: number };
const SLOW = { timeout: 60_000 };

describe("the showcase's channel pages in a browser", { skip: browserMissing() }, () => {
  let browser: Browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  /** Publishes `n` ticks, a little apart, and returns their ids. */
  async function tick(ticks: Channel, n: number, from: number): Promise<string[]> {
    const ids = [];
    for (let i = 0; i < n; i++) {
      ids.push(
        await ticks.publish({ at: `t${from + i}`, value: (from + i) % 100 }, { event: "tick" }),
      );
      await new Promise((r) => setTimeout(r, 25));
    }
    return ids;
  }

  it("draws every tick once, in order, across the chart's reconnects", SLOW, async () => {
    const channels = new Channels({ keepalive: false });
    const { app, stop } = createShowcaseApp({ channels });
    const server = await serve(app, { port: 0 });
    const page = await browser.context.newPage();
    try {
      await page.goto(`${server.url}/live`);
      await page.waitForFunction(
        () => (window as unknown as { chart: ChartState }).chart.opened > 0,
      );
      const ticks = channels.channel("ticks");
      // 40 ticks: the server ends each connection after 15, so the page reconnects twice.
      await tick(ticks, 40, 0);
      const last = await ticks.publish({ at: "last", value: 1 }, { event: "tick" });
      await page.waitForFunction(
        (id) => (window as unknown as { chart: ChartState }).chart.ids.includes(id),
        last,
        { timeout: 20_000 },
      );
      const chart = (await page.evaluate(
        () => (window as unknown as { chart: ChartState }).chart,
      )) as ChartState;
      assert.equal(chart.gaps, 0);
      assert.ok(chart.opened >= 3, `connections: ${chart.opened}`);
      assert.equal(new Set(chart.ids).size, chart.ids.length, "no tick drawn twice");
      // Every tick the channel holds from the page's first one on, in order (the ticker's own
      // ticks included).
      const held = [];
      for await (const ev of ticks.events({
        fromStart: true,
        limit: 1000,
        signal: AbortSignal.timeout(2000),
      })) {
        if (!("gap" in ev)) held.push(ev.id);
        if (!("gap" in ev) && ev.id === last) break;
      }
      // (The ticker goes on meanwhile: compare up to the last tick the test published.)
      const drawn = chart.ids.slice(0, chart.ids.indexOf(last) + 1);
      assert.deepEqual(drawn, held.slice(held.indexOf(drawn[0]!)));
    } finally {
      await page.close();
      await server.close();
      stop();
    }
  });

  it("shows a message sent from one tab in every open tab", SLOW, async () => {
    const channels = new Channels({ keepalive: false });
    const { app, stop } = createShowcaseApp({ channels });
    const server = await serve(app, { port: 0 });
    const tabs = [await browser.context.newPage(), await browser.context.newPage()];
    try {
      for (const tab of tabs) await tab.goto(`${server.url}/room`);
      // Both are subscribed once the channel counts them.
      await until(() => channels.subscribers().chat === 2, 10_000, "both tabs subscribed");
      await tabs[0]!.fill("input[name=name]", "ada");
      await tabs[0]!.fill("input[name=text]", "hello, <b>tabs</b>");
      await tabs[0]!.click("button");
      for (const tab of tabs) {
        await tab.waitForFunction(() => document.querySelectorAll("#messages li").length === 1);
        assert.equal(await tab.textContent("#messages li"), "ada: hello, <b>tabs</b>");
      }
    } finally {
      for (const tab of tabs) await tab.close();
      await server.close();
      stop();
    }
  });

  describe("on Redis", { skip: redisSkip }, () => {
    let redis: RedisServer;
    before(async () => {
      redis = await RedisServer.start();
    });
    after(async () => {
      await redis?.destroy();
    });

    /** The showcase on its port, its channels in the suite's Redis. */
    async function start(
      port: number,
    ): Promise<{ server: RunningServer; ticks: Channel; stop: () => Promise<void> }> {
      const backend = new RedisBackend({ url: redis.url, history: 300, onError: () => {} });
      await backend.connect();
      const channels = new Channels({ backend, keepalive: false });
      const showcase = createShowcaseApp({ channels });
      const server = await serve(showcase.app, { port });
      return {
        server,
        ticks: channels.channel("ticks"),
        async stop() {
          await server.close();
          showcase.stop();
          await channels.close();
        },
      };
    }

    it(
      "carries the chart's line on across a restart of the server, without a gap",
      SLOW,
      async () => {
        const port = await freePort();
        let running = await start(port);
        const page = await browser.context.newPage();
        try {
          await page.goto(`${running.server.url}/live`);
          await page.waitForFunction(
            () => (window as unknown as { chart: ChartState }).chart.opened > 0,
          );
          const before = await tick(running.ticks, 10, 0);
          await running.stop();
          // Published while the page has no server to talk to: it must still get them.
          running = await start(port);
          const during = await tick(running.ticks, 5, 10);
          const after = await tick(running.ticks, 5, 15);
          await page.waitForFunction(
            (id) => (window as unknown as { chart: ChartState }).chart.ids.includes(id),
            after.at(-1)!,
            { timeout: 20_000 },
          );
          const chart = (await page.evaluate(
            () => (window as unknown as { chart: ChartState }).chart,
          )) as ChartState;
          assert.equal(chart.gaps, 0);
          for (const id of [...before, ...during, ...after]) assert.ok(chart.ids.includes(id), id);
          assert.equal(new Set(chart.ids).size, chart.ids.length, "no tick drawn twice");
        } finally {
          await page.close();
          await running.stop();
        }
      },
    );
  });
});
