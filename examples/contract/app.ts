import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { compress } from "../../src/compress/index.ts";
import {
  App,
  type Channel,
  Channels,
  CSVResponse,
  EmptyResponse,
  HeaderError,
  HTTPError,
  isChannelName,
  isLocalPath,
  isValidHeaderValue,
  JSONResponse,
  JSONRPCRouter,
  NDJSONResponse,
  ndjsonOf,
  ProblemResponse,
  RedirectResponse,
  ServerSentEvent,
  SSEResponse,
  StreamingResponse,
  sse,
  sseOf,
  TextResponse,
} from "../../src/index.ts";
import { FileResponse, resolveStaticFile, staticMount } from "../../src/node/index.ts";
import { serveOpenAPI } from "../../src/openapi/index.ts";
import { liquidEngine, TemplateResponse } from "../../src/templates/index.ts";

/** Where the contract app finds its files. */
export interface ContractOptions {
  /** The directory mounted at /static. */
  staticDir: string;
  /** The file served by /file. */
  bigFile: string;
  /** The broadcast channels of /channel/NAME (default: in memory, the default history and queue). */
  channels?: Channels;
}

const Row = z.object({ i: z.number().int(), sq: z.number().int() });
const ItemIn = z.object({ name: z.string().min(1).max(100), qty: z.number().int().min(1) });
const Item = ItemIn.extend({ id: z.number().int() });
/** A channel's data and optional event name, as POST /channel/NAME takes them. */
function channelPost(body: unknown): { data: unknown; event: string | undefined } {
  if (typeof body !== "object" || body === null || Array.isArray(body) || !("data" in body)) {
    throw new HTTPError(400, 'the body must be a JSON object {"data": any JSON, "event"?: string}');
  }
  const { data, event } = body as { data: unknown; event?: unknown };
  if (event !== undefined && typeof event !== "string")
    throw new HTTPError(400, "event must be a string");
  if (event !== undefined && /[\r\n\0]/.test(event))
    throw new HTTPError(400, "event must not contain CR, LF or NUL");
  return { data, event };
}

/** A non-negative integer query parameter, or the default; anything else is a 400. */
function int(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined || value === "") return fallback;
  if (!/^\d{1,15}$/.test(value)) throw new HTTPError(400, `${name} must be a non-negative integer`);
  return Number(value);
}

function optionalInt(value: string | undefined, name: string): number | undefined {
  return value === undefined || value === "" ? undefined : int(value, 0, name);
}

/** An absolute http(s) URL, or a path on this origin that no browser reads as another host. */
function redirectTarget(to: string | undefined): string {
  if (to === undefined || to === "") throw new HTTPError(400, "to is required");
  if (/[\0-\x1f\x7f]/.test(to))
    throw new HTTPError(400, "redirect target contains control characters");
  if (isLocalPath(to)) return to;
  if (/^https?:\/\//i.test(to)) {
    try {
      const url = new URL(to);
      if (url.protocol === "http:" || url.protocol === "https:") return to;
    } catch {
      // fall through to the 400
    }
  }
  throw new HTTPError(
    400,
    "redirect target must be a path on this origin or an absolute http(s) URL",
  );
}

/** Runs `build`; a HeaderError (a header the input would make unsafe or invalid) becomes a 400. */
function asBadRequest<T>(build: () => T): T {
  try {
    return build();
  } catch (err) {
    if (err instanceof HeaderError) throw new HTTPError(400, err.message);
    throw err;
  }
}

/**
 * The contract app of shared/contract/APP.md: every response type behind fixed routes, used by
 * the end-to-end tests, the benchmarks and any outside client.
 *
 * @example
 * const app = createContractApp({ staticDir: "public", bigFile: "public/big.bin" });
 * await app.listen({ port: 3100 });
 */
export function createContractApp(options: ContractOptions): App {
  const app = new App();
  let nextId = 1;
  const channels = options.channels ?? new Channels();

  app.get("/json", () => ({ hello: "world" }));
  app.get("/text", () => new TextResponse("hello, world"));
  // templates/hello.liquid: the name is HTML-escaped by the engine, as every output is.
  app.templates(liquidEngine({ dir: fileURLToPath(new URL("./templates", import.meta.url)) }));
  app.get("/html", (req) => new TemplateResponse("hello", { name: req.query.name ?? "world" }));
  app.get("/empty", () => new EmptyResponse());
  // A target that percent-encoding would point at another host (RedirectResponse refuses it with a
  // HeaderError) is the client's mistake: a 400, like the other refusals.
  app.get("/redirect", (req) =>
    asBadRequest(() => new RedirectResponse(redirectTarget(req.query.to), 307)),
  );
  app.get("/header", (req) => {
    const v = req.query.v ?? "";
    if (!isValidHeaderValue(v)) {
      throw new HTTPError(
        400,
        "v contains characters a header value cannot carry (CR, LF, NUL or other controls)",
      );
    }
    return new JSONResponse({ echoed: v }).setHeader("x-echo", v);
  });
  app.get("/cookie", (req) => {
    const { name, value = "", path } = req.query;
    if (!name) throw new HTTPError(400, "name is required");
    return asBadRequest(() =>
      new JSONResponse({ set: name }).setCookie(name, value, path === undefined ? {} : { path }),
    );
  });
  app.post("/echo", async (req) => new JSONResponse(await req.json()));
  app.get("/throw-early", () => {
    throw new Error("this message must not reach the client");
  });

  app.get(
    "/ndjson",
    {
      summary: "NDJSON rows (resumable: after Last-Event-ID, the rows after that i)",
      tags: ["streams"],
      responses: { 200: ndjsonOf(Row, { id: "i" }) },
    },
    (req) => {
      const n = int(req.query.n, 10, "n");
      const delay = int(req.query.delay, 0, "delay");
      // A typed client that lost the connection resumes after the last row it got (its `i`).
      const after = req.lastEventId === undefined ? -1 : int(req.lastEventId, 0, "Last-Event-ID");
      const signal = req.signal;
      return new NDJSONResponse(
        (async function* () {
          for (let i = after + 1; i < n; i++) {
            if (delay > 0 && i > after + 1) await sleep(delay, undefined, { signal });
            yield { i, sq: i * i };
          }
        })(),
      );
    },
  );
  app.get("/ndjson-error", (req) => {
    const n = int(req.query.n, 3, "n");
    return new NDJSONResponse(
      (async function* () {
        for (let i = 0; i < n; i++) yield { i, sq: i * i };
        throw new Error("the producer failed on purpose");
      })(),
    );
  });
  app.get("/stream", (req) => {
    const n = int(req.query.n, 10, "n");
    const size = int(req.query.size, 1024, "size");
    if (size > 16 * 1024 * 1024) throw new HTTPError(400, "size must be at most 16 MiB");
    const chunk = new Uint8Array(size).fill(0x61);
    return new StreamingResponse(
      (async function* () {
        for (let i = 0; i < n; i++) yield chunk;
      })(),
    );
  });
  app.get(
    "/stream-error",
    () =>
      new StreamingResponse(
        (async function* () {
          for (let i = 0; i < 3; i++) yield `chunk ${i}\n`;
          throw new Error("the producer failed on purpose");
        })(),
      ),
  );
  app.get("/infinite", () => {
    const chunk = new Uint8Array(64 * 1024).fill(0x62);
    return new StreamingResponse(
      (async function* () {
        for (;;) yield chunk;
      })(),
    );
  });
  // A producer stuck in an await that ignores the request's signal: when the client leaves, the
  // writer stops waiting for it (aborted, teardown run); its own finally would run only if the
  // await ever settled, and it never does.
  app.get(
    "/stall",
    () =>
      new NDJSONResponse(
        (async function* () {
          yield { i: 0 };
          await new Promise<never>(() => {});
        })(),
      ),
  );
  app.get(
    "/sse",
    {
      summary: "A tick every interval",
      tags: ["streams"],
      responses: { 200: sseOf(Row, { events: ["tick"] }) },
    },
    (req) => {
      const n = optionalInt(req.query.n, "n");
      const interval = int(req.query.interval, 0, "interval");
      const keepalive = int(req.query.keepalive, 15000, "keepalive");
      const last = req.lastEventId;
      const start = last !== undefined && /^\d{1,15}$/.test(last) ? Number(last) + 1 : 0;
      const signal = req.signal;
      return new SSEResponse(
        (async function* () {
          for (let k = 0; n === undefined || k < n; k++) {
            if (interval > 0 && k > 0) await sleep(interval, undefined, { signal });
            const i = start + k;
            yield sse({ id: i, event: "tick", data: { i, sq: i * i } });
          }
        })(),
        { keepalive },
      );
    },
  );
  app.get("/sse-user", (req) => {
    const { event, id, data, retry } = req.query;
    if (retry !== undefined && !/^\d{1,10}$/.test(retry)) {
      throw new HTTPError(400, "retry must be a non-negative integer (milliseconds)");
    }
    let ev: ServerSentEvent<string>;
    try {
      ev = new ServerSentEvent({
        data: data ?? "",
        event,
        id,
        retry: retry === undefined ? undefined : Number(retry),
      });
    } catch (err) {
      // Refused before the stream starts: never an extra field on the wire.
      throw new HTTPError(400, (err as Error).message);
    }
    return new SSEResponse([ev], { keepalive: false });
  });
  app.get("/csv", (req) => {
    const n = int(req.query.n, 5, "n");
    return new CSVResponse(
      (function* () {
        for (let i = 0; i < n; i++) {
          yield { i, name: `name ${i}, "quoted"`, note: i % 2 ? `line one\nline two` : "plain" };
        }
      })(),
      { columns: ["i", "name", "note"] },
    );
  });
  // Files. The guard is scoped by decoded segments, the way the file server reads the path, so
  // /static/%70rivate/, //static/private/ and the like meet it too.
  app.use("/static/private", (req, next) =>
    req.header("authorization") === "Bearer letmein"
      ? next()
      : new ProblemResponse(401, "send authorization: Bearer letmein", {
          "www-authenticate": 'Bearer realm="private"',
        }),
  );
  app.mount("/static", staticMount(options.staticDir));
  // Compressed when the client asks (Accept-Encoding), identity otherwise; streams are flushed per
  // item as without compression. The other routes always answer identity.
  const compression = compress();
  for (const prefix of ["/ndjson", "/sse", "/csv", "/html", "/static"])
    app.use(prefix, compression);
  app.get("/file", () => new FileResponse(options.bigFile));
  app.get("/download/:name", async (req) => {
    // The raw, still percent-encoded name: the router's decoded param would be decoded twice.
    // Cut after the first segment however it was spelled (`/%64ownload/` routes here too).
    const raw = req.path.slice(req.path.indexOf("/", 1));
    const path = await resolveStaticFile(options.staticDir, raw);
    const filename = req.query.filename || req.params.name;
    return new FileResponse(path, { filename, disposition: "attachment" });
  });
  // Broadcast channels: the name is checked after percent-decoding; a path with more segments (an
  // encoded or a real "/") names no channel either.
  const channel = (name: string): Channel => {
    if (!isChannelName(name))
      throw new HTTPError(400, "NAME must be 1-200 characters of A-Z a-z 0-9 . _ ~ -");
    return channels.channel(name);
  };
  app.get(
    "/channel/:name",
    {
      summary: "Subscribe to a broadcast channel (resumes after Last-Event-ID or ?lastEventId=)",
      tags: ["channels"],
      responses: { 200: sseOf(z.unknown(), { description: "the channel's events, then live" }) },
    },
    (req) => {
      const ch = channel(req.params.name);
      return ch.subscribe(req, { limit: optionalInt(req.query.n, "n") });
    },
  );
  app.post(
    "/channel/:name",
    { summary: "Publish one event to a broadcast channel", tags: ["channels"] },
    async (req) => {
      const ch = channel(req.params.name);
      const { data, event } = channelPost(await req.json());
      return new JSONResponse({ id: await ch.publish(data, { event }) }, { status: 201 });
    },
  );
  const badName = () => {
    throw new HTTPError(400, "NAME must be 1-200 characters of A-Z a-z 0-9 . _ ~ -");
  };
  app.get("/channel/*", { hidden: true }, badName);
  app.post("/channel/*", { hidden: true }, badName);

  app.get("/__stats", () => ({
    streams: { ...app.stats.streams },
    teardowns: app.stats.teardowns,
  }));

  app.post(
    "/items",
    { summary: "Create an item", tags: ["items"], body: ItemIn, responses: { 201: Item } },
    (req) => {
      const item = { id: nextId++, ...req.body };
      return new JSONResponse(item, { status: 201 });
    },
  );

  const rpc = new JSONRPCRouter()
    .method("add", { params: z.object({ a: z.number(), b: z.number() }) }, ({ a, b }) => a + b)
    .method("echo", (params) => params ?? null);
  app.post("/rpc", { summary: "JSON-RPC 2.0: add, echo", tags: ["rpc"] }, rpc.handler(app));

  serveOpenAPI(app, { info: { title: "Sluice contract app", version: "1.0.0" } });
  return app;
}
