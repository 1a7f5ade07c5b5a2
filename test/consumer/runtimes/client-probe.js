// The typed client (sluice/client) as a consumer runs it under each runtime, against a running
// server of runtimes/app.js: a buffered route, NDJSON items as they stream, SSE events with a
// disconnect the server sees. Exits non-zero naming the first expectation that failed.
// usage: <runtime> client-probe.js BASE_URL NAME
import { client } from "sluice/client";

const [base, name] = typeof Deno === "undefined" ? process.argv.slice(2) : Deno.args;
const api = client(base);
const fail = (what) => {
  throw new Error(`${name}: ${what}`);
};

const hello = await api.get("/json");
if (hello?.hello !== "world") fail(`GET /json gave ${JSON.stringify(hello)}`);

const items = [];
for await (const item of await api.get("/ndjson", { query: { n: 3, delay: 50 } }))
  items.push(item.i);
if (items.join() !== "0,1,2") fail(`NDJSON items ${items}`);

const stats = async () => (await fetch(new URL("/__stats", base))).json();
const before = await stats();
const seen = [];
for await (const ev of await api.get("/sse")) {
  if (ev.gap) fail("a gap on a fresh stream");
  seen.push(ev.data.i);
  if (seen.length === 3) break;
}
if (seen.join() !== "0,1,2") fail(`SSE events ${seen}`);
const deadline = Date.now() + 5000;
for (;;) {
  const now = await stats();
  if (now.streams.aborted > before.streams.aborted && now.finallies > before.finallies) break;
  if (Date.now() > deadline)
    fail(`the server did not see the client leave: ${JSON.stringify(now)}`);
  await new Promise((r) => setTimeout(r, 50));
}
console.log(`  ok  the typed client on ${name}: JSON, NDJSON items, SSE events, a disconnect`);
