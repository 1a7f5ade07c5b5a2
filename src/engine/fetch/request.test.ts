import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { App } from "../../app.ts";
import { JSONResponse } from "../../responses/buffered.ts";
import { runtimeInfo } from "./request.ts";

describe("runtimeInfo", () => {
  const request = new Request("http://localhost/", {
    headers: { "cf-connecting-ip": "203.0.113.9" },
  });

  it("reads Workers' (env, ctx): waitUntil from ctx, the address from CF-Connecting-IP", () => {
    const kept: Promise<unknown>[] = [];
    const ctx = { waitUntil: (p: Promise<unknown>) => kept.push(p) };
    const info = runtimeInfo(request, { SOME_BINDING: 1 }, ctx);
    assert.equal(info.remoteAddress, "203.0.113.9");
    info.waitUntil?.(Promise.resolve(1));
    assert.equal(kept.length, 1);
  });

  it("reads Deno's handler info", () => {
    const info = runtimeInfo(request, { remoteAddr: { hostname: "198.51.100.4", port: 5 } });
    assert.deepEqual(info, { remoteAddress: "198.51.100.4" });
  });

  it("reads Bun's server", () => {
    const server = { requestIP: (r: Request) => (r === request ? { address: "::1" } : null) };
    assert.deepEqual(runtimeInfo(request, server), { remoteAddress: "::1" });
  });

  it("takes Sluice's own FetchInfo", () => {
    const waitUntil = (_: Promise<unknown>) => {};
    const info = runtimeInfo(request, { remoteAddress: "192.0.2.1", waitUntil });
    assert.equal(info.remoteAddress, "192.0.2.1");
    assert.equal(typeof info.waitUntil, "function");
  });

  it("ignores what it does not know", () => {
    assert.deepEqual(runtimeInfo(request), {});
    assert.deepEqual(runtimeInfo(request, 42), {});
    assert.deepEqual(runtimeInfo(request, { env: "x" }), {});
  });

  it("hands the address to the request, and background work to waitUntil, through app.fetch", async () => {
    const app = new App();
    let ran = false;
    app.get("/ip", (req) => ({ ip: req.ip }));
    app.get("/task", () =>
      new JSONResponse({}).background(() => {
        ran = true;
      }),
    );
    const res = await app.fetch(new Request("http://localhost/ip"), {
      remoteAddr: { hostname: "10.0.0.7" },
    });
    assert.deepEqual(await res.json(), { ip: "10.0.0.7" });
    const kept: Promise<unknown>[] = [];
    await app.fetch(
      new Request("http://localhost/task"),
      {},
      { waitUntil: (p: Promise<unknown>) => kept.push(p) },
    );
    assert.equal(kept.length, 1);
    await Promise.all(kept);
    assert.equal(ran, true);
  });
});
