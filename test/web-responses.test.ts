// A web Response returned by a handler goes through the streaming writer in both engines (issue
// 11, item 2): counted as a stream, its teardown run once its body is done with, its background
// tasks only after its body has gone out in full, none of that before.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { App } from "../src/index.ts";
import { type TestClient, testClient } from "../src/testing/index.ts";
import { BOUND, MODES, Reports } from "./helpers/app.ts";
import { gate, until, within } from "./helpers/wait.ts";

const encoder = new TextEncoder();

for (const mode of MODES) {
  describe(`a web Response with a body (${mode})`, () => {
    const app = new App();
    const reports = new Reports(app);
    const log: string[] = [];
    let release = gate();
    let cancelled = gate<unknown>();
    let client: TestClient;

    /**
     * A body whose first chunk comes at once and the rest when the test releases it; or, `tick`,
     * a chunk every 10 ms for ever (a source that settles its pulls, so the writer sees a client
     * that leaves between two of them).
     */
    function body(ending: "close" | "error" | "tick"): ReadableStream<Uint8Array> {
      let step = 0;
      return new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (step++ === 0) return controller.enqueue(encoder.encode("first\n"));
          if (ending === "tick") {
            await new Promise((r) => setTimeout(r, 10));
            return controller.enqueue(encoder.encode("tick\n"));
          }
          await release.promise;
          if (ending === "error") return controller.error(new Error("the source failed"));
          controller.enqueue(encoder.encode("rest\n"));
          controller.close();
        },
        cancel(reason) {
          cancelled.resolve(reason);
        },
      });
    }

    before(() => {
      app.use(async (req, next) => {
        const res = await next();
        const name = req.path;
        return res
          .background(() => {
            log.push(`task ${name}`);
          })
          .teardown(() => {
            log.push(`teardown ${name}`);
          });
      });
      app.get("/web", () => new Response(body("close"), { headers: { "x-web": "1" } }));
      app.get("/web-error", () => new Response(body("error")));
      app.get("/web-endless", () => new Response(body("tick")));
      client = testClient(app, mode);
    });
    after(() => client.close());

    function reset() {
      log.length = 0;
      release = gate();
      cancelled = gate();
      reports.clear();
    }

    it(
      "runs teardown and background tasks only after the body, and counts a stream",
      BOUND,
      async () => {
        reset();
        const before = { ...app.stats.streams };
        const res = await client.fetch("/web");
        assert.equal(res.status, 200);
        assert.equal(res.headers.get("x-web"), "1");
        const reader = res.body!.getReader();
        const first = await within(reader.read(), 2000, "the first chunk");
        assert.equal(new TextDecoder().decode(first.value), "first\n");
        // The head and a chunk are out; the rest is not: nothing may have run yet.
        await new Promise((r) => setTimeout(r, 50));
        assert.deepEqual(log, []);
        assert.equal(app.stats.streams.active, before.active + 1);
        assert.equal(app.stats.streams.started, before.started + 1);
        release.resolve();
        let rest = "";
        for (;;) {
          const r = await within(reader.read(), 2000, "the rest of the body");
          if (r.done) break;
          rest += new TextDecoder().decode(r.value);
        }
        assert.equal(rest, "rest\n");
        await until(
          () => log.length === 2,
          2000,
          () => `teardown and task, got ${log}`,
        );
        assert.deepEqual(log, ["teardown /web", "task /web"]);
        assert.equal(app.stats.streams.completed, before.completed + 1);
        assert.equal(app.stats.streams.active, before.active);
      },
    );

    it("cancels the body, runs teardown and no task when the client leaves", BOUND, async () => {
      reset();
      const before = { ...app.stats.streams };
      const res = await client.fetch("/web-endless");
      const reader = res.body!.getReader();
      await within(reader.read(), 2000, "the first chunk");
      await within(reader.read(), 2000, "a tick");
      await reader.cancel();
      await within(cancelled.promise, 3000, "the web body to be cancelled");
      await until(() => log.includes("teardown /web-endless"), 3000, "the teardown");
      await until(
        () => app.stats.streams.aborted === before.aborted + 1,
        3000,
        "an aborted stream",
      );
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(log, ["teardown /web-endless"], "a body not sent in full runs no task");
      assert.equal(app.stats.streams.active, before.active);
    });

    it(
      "truncates, reports, runs teardown and no task when the body fails midway",
      BOUND,
      async () => {
        reset();
        const before = { ...app.stats.streams };
        const heard = reports.next();
        const res = await client.fetch("/web-error");
        const reader = res.body!.getReader();
        await within(reader.read(), 2000, "the first chunk");
        release.resolve();
        await assert.rejects(async () => {
          for (;;) if ((await within(reader.read(), 2000, "the truncation")).done) return;
        });
        const { context } = await heard;
        assert.equal(context.phase, "stream");
        await until(() => log.includes("teardown /web-error"), 2000, "the teardown");
        // The counters move once the teardown has run: wait for them, not for the hook.
        await until(
          () => app.stats.streams.errored === before.errored + 1,
          2000,
          "an errored stream",
        );
        await new Promise((r) => setTimeout(r, 50));
        assert.deepEqual(log, ["teardown /web-error"]);
      },
    );

    it(
      "answers HEAD without pulling the body past what the stream buffered, and tears down",
      BOUND,
      async () => {
        reset();
        const before = { ...app.stats.streams };
        const res = await client.fetch("/web", { method: "HEAD" });
        assert.equal(res.status, 200);
        assert.equal(res.headers.get("x-web"), "1");
        assert.equal(await res.text(), "");
        await within(cancelled.promise, 2000, "the unsent body to be cancelled");
        await until(() => log.includes("teardown /web"), 2000, "the teardown");
        assert.equal(app.stats.streams.started, before.started, "HEAD starts no stream");
      },
    );
  });
}
