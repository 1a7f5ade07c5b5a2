// The app every runtime serves in the consumer check: only the root entry "sluice", so it runs
// wherever web Request/Response do. Each route is one behaviour the check asks about over a real
// socket; /__stats shows what the server saw (streams started/ended, teardowns, producers' finally).
import { App, NDJSONResponse, SSEResponse, sse } from "sluice";

export const app = new App();
const seen = { finallies: 0 };

/** A timer that ends early when the signal aborts: how a producer ends its waits. */
function sleep(ms, signal) {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(t);
      resolve();
    });
  });
}

app.onError(() => {});
app.get("/json", () => ({ hello: "world" }));
app.get("/ndjson", (req) => {
  const n = Number(req.query.n ?? 3);
  const delay = Number(req.query.delay ?? 0);
  return new NDJSONResponse(
    (async function* () {
      try {
        for (let i = 0; i < n && !req.signal.aborted; i++) {
          if (i > 0) await sleep(delay, req.signal);
          yield { i };
        }
      } finally {
        seen.finallies++;
      }
    })(),
  );
});
app.get(
  "/sse",
  (req) =>
    new SSEResponse(
      (async function* () {
        try {
          for (let i = 0; !req.signal.aborted; i++) {
            yield sse({ id: i, event: "tick", data: { i } });
            await sleep(50, req.signal);
          }
        } finally {
          seen.finallies++;
        }
      })(),
    ),
);
app.get("/throw-early", () => {
  throw new Error("fails before the first byte");
});
app.get(
  "/throw-late",
  (req) =>
    new NDJSONResponse(
      (async function* () {
        yield { i: 0 };
        await sleep(20, req.signal);
        throw new Error("fails after the first byte");
      })(),
    ),
);
app.post("/echo", { bodyLimit: 1024 }, async (req) => ({ got: await req.json() }));
app.get("/__stats", () => ({ ...app.stats, finallies: seen.finallies }));
