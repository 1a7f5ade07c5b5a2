// Asks one running server (any runtime) over a real loopback socket what a user would: buffered
// JSON, streams that stream, a client that leaves mid-stream, errors before and after the first
// byte, HEAD, a body over the limit. Exits non-zero naming the first expectation that failed.
// usage: node probe.js BASE_URL RUNTIME
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";

const [base, runtime] = process.argv.slice(2);
const url = (path) => new URL(path, base);
const stats = async () => (await fetch(url("/__stats"))).json();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls until `check(stats)` holds, at most `ms`; fails naming `what` with the last stats. */
async function until(check, ms, what) {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    last = await stats();
    if (check(last)) return last;
    await sleep(50);
  }
  throw new Error(`${runtime}: ${what} within ${ms} ms; stats: ${JSON.stringify(last)}`);
}

async function check(name, fn) {
  try {
    await fn();
    console.log(`  ok  ${name}`);
  } catch (error) {
    console.error(`  FAIL ${name}: ${error.message}`);
    process.exitCode = 1;
  }
}

console.log(`== ${runtime} at ${base}`);

await check("buffered JSON", async () => {
  const res = await fetch(url("/json"));
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
  assert.deepEqual(await res.json(), { hello: "world" });
});

await check("NDJSON streams: the first line arrives long before the last", async () => {
  const started = performance.now();
  const res = await fetch(url("/ndjson?n=4&delay=300"));
  assert.equal(res.status, 200);
  const decoder = new TextDecoder();
  let text = "";
  let firstAt;
  for await (const chunk of res.body) {
    text += decoder.decode(chunk, { stream: true });
    if (firstAt === undefined && text.includes("\n")) firstAt = performance.now() - started;
  }
  const endAt = performance.now() - started;
  assert.deepEqual(
    text
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l)),
    [{ i: 0 }, { i: 1 }, { i: 2 }, { i: 3 }],
  );
  assert.ok(firstAt < endAt - 500, `first line at ${firstAt} ms, end at ${endAt} ms`);
});

await check("SSE streams, and a client that leaves mid-stream gets its teardown run", async () => {
  const before = await stats();
  const controller = new AbortController();
  const res = await fetch(url("/sse"), { signal: controller.signal });
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  const deadline = Date.now() + 5000;
  while (!/\n\n.*\n\n/s.test(text) && Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  assert.match(text, /event: tick\nid: 0\ndata: \{"i":0\}\n\n/);
  controller.abort();
  await until(
    (s) =>
      s.streams.aborted >= before.streams.aborted + 1 &&
      s.teardowns >= before.teardowns + 1 &&
      s.finallies >= before.finallies + 1 &&
      s.streams.active === before.streams.active,
    5000,
    "the stream ended as aborted, its teardown and the producer's finally ran",
  );
});

await check("an error before the first byte is a 500 problem, without internals", async () => {
  const res = await fetch(url("/throw-early"));
  assert.equal(res.status, 500);
  assert.equal(res.headers.get("content-type"), "application/problem+json");
  const body = await res.text();
  assert.ok(!body.includes("fails before"), body);
});

await check("an error after the first byte truncates the body", async () => {
  const before = await stats();
  const curl = spawnSync("curl", ["-sS", "--max-time", "5", url("/throw-late").href], {
    encoding: "utf8",
  });
  assert.match(curl.stdout, /^\{"i":0\}\n/);
  if (runtime === "workerd") {
    // workerd ends a response whose body stream errored with a clean terminating chunk
    // (cloudflare/workerd#6818): the client cannot see the truncation there; the app's error hook
    // and stream counters still do.
    console.log(
      `      (workerd: curl exit ${curl.status}; a clean end is workerd's known behaviour)`,
    );
  } else {
    assert.ok([18, 56].includes(curl.status), `curl exit ${curl.status}: ${curl.stderr}`);
  }
  await until(
    (s) => s.streams.errored >= before.streams.errored + 1,
    3000,
    "the stream counted as errored",
  );
});

await check("HEAD answers the headers and never runs the producer", async () => {
  const before = await stats();
  const res = await fetch(url("/ndjson?n=3"), { method: "HEAD" });
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^application\/x-ndjson/);
  assert.equal((await res.arrayBuffer()).byteLength, 0);
  const after = await stats();
  assert.equal(after.streams.started, before.streams.started);
  assert.equal(after.finallies, before.finallies);
});

await check("a body over the limit is a 413 problem; one under it is read", async () => {
  const big = await fetch(url("/echo"), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ pad: "x".repeat(2048) }),
  });
  assert.equal(big.status, 413);
  assert.equal(big.headers.get("content-type"), "application/problem+json");
  await big.arrayBuffer();
  const small = await fetch(url("/echo"), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ a: 1 }),
  });
  assert.equal(small.status, 200);
  assert.deepEqual(await small.json(), { got: { a: 1 } });
});

await check("the server still answers after all of that", async () => {
  const res = await fetch(url("/json"));
  assert.equal(res.status, 200);
  await res.arrayBuffer();
});
