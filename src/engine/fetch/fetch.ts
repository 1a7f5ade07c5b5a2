import { finishResponse } from "../../core/lifecycle.ts";
import type { AppPort } from "../../core/port.ts";
import { isContentless } from "../../http/status.ts";
import { encodedBody, type SluiceResponse } from "../../responses/base.ts";
import type { Chunk, Sink, StreamBody } from "../../responses/stream.ts";
import { BATCH_BYTES, runStream, streamExchange, webStreamBody } from "../pump.ts";
import { type FetchInfo, FetchRequest } from "./request.ts";

const encoder = new TextEncoder();

// setTimeout(0) is the portable "after pending I/O" on runtimes without setImmediate.
const defer: Sink["defer"] =
  typeof setImmediate === "function"
    ? (fn, arg) => setImmediate(fn, arg)
    : (fn, arg) => setTimeout(fn, 0, arg);

/**
 * Answers a web Request with a web Response: the engine for Bun, Deno, Workers and in-memory tests.
 * Streams become a ReadableStream pulled with backpressure; cancelling it is a disconnect.
 *
 * @example
 * const res = await fetchApp(app, new Request("http://localhost/json"));
 */
export async function fetchApp(
  app: AppPort,
  request: Request,
  info?: FetchInfo,
): Promise<Response> {
  const req = new FetchRequest(request, info);
  const response = await (app.handleNow === undefined ? app.handle(req) : app.handleNow(req));
  return toWeb(app, req, response, info);
}

function webHeaders(response: SluiceResponse): Headers {
  const h = new Headers();
  for (const [k, v] of Object.entries(response.headers)) {
    if (Array.isArray(v)) for (const x of v) h.append(k, x);
    else h.set(k, v);
  }
  return h;
}

function after(
  app: AppPort,
  req: FetchRequest,
  response: SluiceResponse,
  sent: boolean,
  info?: FetchInfo,
): void {
  const work = finishResponse({ app, request: req, response }, sent);
  info?.waitUntil?.(work);
}

async function toWeb(
  app: AppPort,
  req: FetchRequest,
  response: SluiceResponse,
  info?: FetchInfo,
): Promise<Response> {
  const head = req.method === "HEAD";
  let body: ReturnType<SluiceResponse["body"]>;
  try {
    body = encodedBody(response);
  } catch (error) {
    after(app, req, response, false, info);
    return toWeb(app, req, app.errorResponse(error, req), info);
  }
  const status = response.status;
  switch (body.kind) {
    case "bytes": {
      const bytes = typeof body.data === "string" ? encoder.encode(body.data) : body.data;
      const headers = webHeaders(response);
      if (isContentless(status)) {
        headers.delete("content-length");
        after(app, req, response, true, info);
        return new Response(null, { status, headers });
      }
      headers.set("content-length", String(bytes.byteLength));
      after(app, req, response, true, info);
      return new Response(head ? null : (bytes as Uint8Array<ArrayBuffer>), { status, headers });
    }
    case "empty": {
      const headers = webHeaders(response);
      if (!isContentless(status)) headers.set("content-length", "0");
      after(app, req, response, true, info);
      return new Response(null, { status, headers });
    }
    case "web": {
      const web = body.response;
      if (web.body === null) {
        after(app, req, response, true, info);
        return new Response(null, { status, headers: webHeaders(response) });
      }
      // Its body goes through the writer like any stream: teardown and background tasks run once
      // it has been sent (or the client left), and it is counted as a stream.
      return streamToWeb(app, req, response, webStreamBody(web.body), head, info);
    }
    case "stream":
      return streamToWeb(app, req, response, body, head, info);
    case "file":
      // No file path here: its chunks go through the writer as a stream, read as it pulls.
      return streamToWeb(app, req, response, body.stream(), head, info);
    default:
      throw new TypeError(`unknown body kind ${(body as { kind: string }).kind}`);
  }
}

function streamToWeb(
  app: AppPort,
  req: FetchRequest,
  response: SluiceResponse,
  body: StreamBody<unknown>,
  head: boolean,
  info?: FetchInfo,
): Promise<Response> {
  const exchange = streamExchange(app, req, response, body, head);
  return new Promise<Response>((resolve) => {
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    let wake: (() => void) | undefined;
    let closed = false;
    let started = false;
    // A truncation waiting for the reader to take what was written before it.
    let failWhenRead: (() => void) | undefined;
    const signal = req.signal;
    const stream = new ReadableStream<Uint8Array>(
      {
        start(c) {
          controller = c;
        },
        pull() {
          if (failWhenRead && controller.desiredSize === BATCH_BYTES) {
            failWhenRead();
            failWhenRead = undefined;
          }
          wake?.();
          wake = undefined;
        },
        cancel(reason) {
          closed = true;
          req.abort(reason ?? new Error("response body cancelled"));
          wake?.();
        },
      },
      // Backpressure: roughly one batch may wait in the stream's queue.
      { highWaterMark: BATCH_BYTES, size: (chunk) => chunk.byteLength },
    );
    signal.addEventListener("abort", () => wake?.(), { once: true });
    const sink: Sink = {
      write(chunk: Chunk) {
        if (closed) return false;
        controller.enqueue(typeof chunk === "string" ? encoder.encode(chunk) : chunk);
        return (controller.desiredSize ?? 0) > 0;
      },
      drained: () =>
        new Promise<void>((r) => {
          // The reader may have emptied the queue while the pump awaited the producer: its pull()
          // has come and gone, and no other comes until something is enqueued.
          if (signal.aborted || closed || (controller.desiredSize ?? 0) > 0) return r();
          wake = r;
        }),
      ready: () => closed || (controller.desiredSize ?? 0) > 0,
      // setTimeout(0) is the portable "after pending I/O" on runtimes without setImmediate.
      defer,
    };
    const done = runStream({
      ...exchange,
      sink,
      sendHead() {
        started = true;
        resolve(
          new Response(head ? null : stream, {
            status: response.status,
            headers: webHeaders(response),
          }),
        );
      },
      finish() {
        if (!closed) {
          closed = true;
          controller.close();
        }
      },
      truncate() {
        if (closed) return;
        closed = true;
        // Aborted before the head went out: whoever asked is gone, and no response is owed.
        if (!started) return resolve(Response.error());
        // The reader sees an error, never a clean end that lies; but only after what was written
        // before it, as a socket would deliver it (controller.error() drops the queue).
        const fail = () => controller.error(new Error("stream truncated: the producer failed"));
        if (controller.desiredSize === BATCH_BYTES) fail();
        else failWhenRead = fail;
      },
      replace(error) {
        closed = true;
        const problem = app.errorResponse(error, req);
        resolve(toWeb(app, req, problem, info));
      },
    });
    info?.waitUntil?.(done);
  });
}
