import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { gzipSync } from "node:zlib";
import { App } from "../app.ts";
import { BufferedResponse } from "../responses/base.ts";
import { JSONResponse, RedirectResponse } from "../responses/buffered.ts";
import { NDJSONResponse } from "../responses/ndjson.ts";
import { testClient } from "./client.ts";

describe("testClient in h2 mode", () => {
  const app = new App().onError(() => {});
  let aborted = 0;
  app.get("/headers", (req) => ({
    accept: req.header("accept-encoding") ?? null,
    version: req.httpVersion,
    host: req.header("host") ?? null,
  }));
  app.get(
    "/gzip",
    () =>
      new BufferedResponse(gzipSync("squeezed"), {
        mediaType: "text/plain",
        headers: { "content-encoding": "gzip" },
      }),
  );
  app.get("/to-json", () => new RedirectResponse("/headers", 302));
  app.post("/see-other", () => new RedirectResponse("/method", 303));
  app.all("/method", (req) => ({ method: req.method }));
  app.post(
    "/echo",
    async (req) => new JSONResponse({ type: req.contentType, text: await req.text() }),
  );
  app.get(
    "/endless",
    (req) =>
      new NDJSONResponse(
        (async function* () {
          try {
            for (let i = 0; ; i++) {
              yield { i };
              await sleep(5);
            }
          } finally {
            if (req.signal.aborted) aborted++;
          }
        })(),
      ),
  );
  const client = testClient(app, "h2");
  after(() => client.close());

  it("serves over TLS with HTTP/2, and gives the certificate to trust", async () => {
    assert.match(await client.url(), /^https:\/\/127\.0\.0\.1:\d+$/);
    const body = (await (await client.fetch("/headers")).json()) as Record<string, string>;
    assert.equal(body.version, "2.0");
    assert.equal(body.host, new URL(await client.url()).host);
    const cert = await client.certificate();
    assert.ok(cert);
    assert.equal(new X509Certificate(cert.cert).checkIP("127.0.0.1"), "127.0.0.1");
    assert.equal(await testClient(app, "memory").certificate(), undefined);
  });

  it("asks for gzip and deflate as fetch does, unless told otherwise, and decodes", async () => {
    const asked = (await (await client.fetch("/headers")).json()) as { accept: string };
    assert.equal(asked.accept, "gzip, deflate");
    const own = await client.fetch("/headers", { headers: { "accept-encoding": "br" } });
    assert.equal(((await own.json()) as { accept: string }).accept, "br");
    const res = await client.fetch("/gzip");
    assert.equal(res.headers.get("content-encoding"), "gzip");
    assert.equal(await res.text(), "squeezed");
  });

  it("follows redirects unless told not to", async () => {
    const followed = await client.fetch("/to-json");
    assert.equal(followed.status, 200);
    assert.equal(((await followed.json()) as { version: string }).version, "2.0");
    const manual = await client.fetch("/to-json", { redirect: "manual" });
    assert.equal(manual.status, 302);
    assert.equal(manual.headers.get("location"), "/headers");
    await assert.rejects(client.fetch("/to-json", { redirect: "error" }), TypeError);
    // 303 after a POST goes on as a GET.
    const seeOther = await client.fetch("/see-other", { method: "POST", body: "x" });
    assert.deepEqual(await seeOther.json(), { method: "GET" });
  });

  it("sends bodies of every kind fetch takes", async () => {
    const cases: [BodyInit, string, string][] = [
      ["plain", "text/plain", "plain"],
      [new URLSearchParams({ a: "1 2" }), "application/x-www-form-urlencoded", "a=1+2"],
      [new TextEncoder().encode("bytes"), "", "bytes"],
    ];
    for (const [body, type, text] of cases) {
      const res = await client.fetch("/echo", { method: "POST", body });
      const got = (await res.json()) as { type?: string; text: string };
      assert.equal(got.text, text);
      if (type) assert.equal(got.type, type);
    }
    const streamed = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode("str"));
        c.enqueue(new TextEncoder().encode("eamed"));
        c.close();
      },
    });
    const res = await client.fetch("/echo", {
      method: "POST",
      body: streamed,
      duplex: "half",
    } as RequestInit);
    assert.equal(((await res.json()) as { text: string }).text, "streamed");
  });

  it("resets the stream when the body is cancelled, and the server sees the client leave", async () => {
    const res = await client.fetch("/endless");
    const reader = res.body!.getReader();
    await reader.read();
    await reader.cancel();
    const deadline = Date.now() + 2000;
    while (aborted === 0 && Date.now() < deadline) await sleep(10);
    assert.equal(aborted, 1);
  });

  it("rejects with the signal's reason when aborted before the answer", async () => {
    const controller = new AbortController();
    controller.abort(new Error("not now"));
    await assert.rejects(client.fetch("/headers", { signal: controller.signal }), /not now/);
  });
});
