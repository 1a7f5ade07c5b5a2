/**
 * The contract's client (shared/contract/APP.md): reads the contract app through the project's typed
 * client and prints what it gets, one JSON line per item on stdout (diagnostics go to stderr).
 *
 *   npm run -s contract-client -- BASE_URL CHANNEL      subscribes to /channel/CHANNEL; each event
 *                                                      {"id", "event"?, "data"}, a gap {"gap": true,
 *                                                      "lastEventId"}; resumes after every
 *                                                      disconnect and restart until it is killed
 *   npm run -s contract-client -- BASE_URL --ndjson N  reads /ndjson?n=N, each item a line; resumes
 *                                                      after a disconnect; exits 0 when all came
 *                                                      (`--delay MS` after N paces the rows)
 */
import { z } from "zod";
import { client, ProblemError, StreamError } from "../../src/client/index.ts";
import type { NDJSONDecl, Route, SSEDecl } from "../../src/index.ts";

const Row = z.object({ i: z.number().int(), sq: z.number().int() });

/**
 * The routes this client reads, as APP.md declares them. Written as types rather than taken from
 * `typeof app`: the server at BASE_URL may be any implementation of the contract.
 */
type ContractRoutes = Route<
  "GET",
  "/ndjson",
  {
    query: z.ZodObject<{ n: z.ZodNumber; delay: z.ZodOptional<z.ZodNumber> }>;
    responses: { 200: NDJSONDecl<typeof Row, "i"> };
  }
> &
  Route<"GET", "/channel/:name", { responses: { 200: SSEDecl<z.ZodUnknown> } }>;

const RESUME = { delay: 250, maxDelay: 5000 };

function usage(): never {
  process.stderr.write(
    "usage: contract-client BASE_URL CHANNEL\n       contract-client BASE_URL --ndjson N [--delay MS]\n",
  );
  process.exit(2);
}

function print(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

function note(message: string): void {
  process.stderr.write(`contract-client: ${message}\n`);
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Reads /ndjson?n=N; the typed client resumes from the last row's `i` after a cut. */
async function readNDJSON(baseURL: string, n: number, delay: number | undefined): Promise<void> {
  const api = client<ContractRoutes>(baseURL, { resume: RESUME });
  const rows = await api.get("/ndjson", { query: { n, delay }, validate: Row });
  for await (const row of rows) print(row);
}

/**
 * Subscribes to a channel for as long as the process lives. The typed client resumes by itself
 * once it has an event id; before the first event (nothing to resume from) and after a refusal, the
 * subscription is opened again here, from the last id when there is one.
 */
async function follow(baseURL: string, name: string): Promise<never> {
  const api = client<ContractRoutes>(baseURL, { resume: RESUME });
  let lastEventId: string | undefined;
  for (let failures = 0; ; ) {
    try {
      const stream = await api.get("/channel/:name", { params: { name }, lastEventId });
      failures = 0;
      for await (const ev of stream) {
        if (ev.gap) {
          print({ gap: true, lastEventId: ev.lastEventId });
          continue;
        }
        lastEventId = ev.id;
        print(
          ev.event === "message"
            ? { id: ev.id, data: ev.data }
            : { id: ev.id, event: ev.event, data: ev.data },
        );
      }
      note("the subscription ended; subscribing again");
    } catch (err) {
      failures++;
      if (StreamError.is(err) && err.lastEventId !== undefined) lastEventId = err.lastEventId;
      const why = ProblemError.is(err)
        ? `${err.status} ${err.problem.detail ?? err.problem.title}`
        : String(err);
      note(`${why}; subscribing again`);
    }
    await wait(
      Math.min(RESUME.maxDelay, RESUME.delay * 2 ** Math.min(failures, 5)) *
        (1 + Math.random() / 2),
    );
  }
}

const [baseURL, second, third, fourth, fifth] = process.argv.slice(2);
if (!baseURL || !second) usage();
for (const signal of ["SIGTERM", "SIGINT"] as const) process.once(signal, () => process.exit(0));

try {
  if (second === "--ndjson") {
    const n = Number(third);
    const delay = fourth === "--delay" ? Number(fifth) : undefined;
    if (!Number.isInteger(n) || n < 0) usage();
    if (fourth !== undefined && !(Number.isInteger(delay) && delay! >= 0)) usage();
    await readNDJSON(baseURL, n, delay);
  } else {
    await follow(baseURL, second);
  }
} catch (err) {
  note(
    ProblemError.is(err) ? `${err.status} ${err.problem.detail ?? err.problem.title}` : String(err),
  );
  process.exit(1);
}
