/// <reference types="node" preserve="true" />
// The declarations emitted for this module name Node's types: the directive keeps them resolvable in
// a consumer whose tsconfig lists no `types` (@types/node comes with the package).
import type { ServerResponse } from "node:http";
import { finishResponse } from "../../core/lifecycle.ts";
import type { AppPort } from "../../core/port.ts";
import type { SluiceResponse } from "../../responses/base.ts";
import type { Chunk, Sink, StreamBody } from "../../responses/stream.ts";
import {
  type Closing,
  type StreamTarget,
  startStream,
  streamHeaders,
  webStreamBody,
} from "../pump.ts";
import type { NodeRequest, SocketRequest } from "./request.ts";
import { resetSocket } from "./socket.ts";

/**
 * Writes a stream body through the shared writer, to a node:http response.
 * @internal
 */
export function writeStreamBody(
  app: AppPort,
  req: NodeRequest,
  res: ServerResponse,
  response: SluiceResponse,
  body: StreamBody<unknown>,
  head: boolean,
  closing: Closing,
): void {
  // Without a known length: chunked on HTTP/1.1, close-delimited on HTTP/1.0 (Node picks).
  streamHeaders(response, body);
  const headers = response.headers;
  if (
    headers["content-type"] === "text/event-stream; charset=utf-8" &&
    req.httpVersion === "1.1" &&
    // Not when the connection will close anyway (the client sent `Connection: close`, or the
    // server is shutting down): an explicit keep-alive would make Node keep it open (RFC 9112 §9.6).
    res.shouldKeepAlive &&
    !res.hasHeader("connection")
  ) {
    // Connection is a hop-by-hop HTTP/1.1 field; HTTP/2 forbids it (RFC 9113 §8.2.2).
    headers.connection ??= "keep-alive";
  }
  startStream(new NodeStream(app, req, res, response, body, head, closing));
}

/**
 * What a stream's target and sink hold on the Node engine, HTTP/1.1 and HTTP/2 alike: one object
 * per stream with its methods on the prototype, so an idle stream holds no closures for them. The
 * protocol's own part (writing, the head, the ends) is the subclass's.
 * @internal
 */
export abstract class SocketStream<Req extends SocketRequest> implements StreamTarget, Sink {
  readonly app: AppPort;
  readonly request: Req;
  readonly response: SluiceResponse;
  readonly body: StreamBody<unknown>;
  readonly head: boolean;
  readonly signal: AbortSignal;
  readonly closing: Closing;
  readonly sink: Sink = this;

  constructor(
    app: AppPort,
    request: Req,
    response: SluiceResponse,
    body: StreamBody<unknown>,
    head: boolean,
    closing: Closing,
  ) {
    this.app = app;
    this.request = request;
    this.response = response;
    this.body = body;
    this.head = head;
    this.signal = request.signal;
    this.closing = closing;
  }

  abstract write(chunk: Chunk): boolean;
  abstract drained(): Promise<void>;
  abstract ready(): boolean;
  abstract sendHead(): void;
  abstract finish(): void;
  abstract truncate(): void;
  abstract replace(error: unknown): void;

  defer<A>(fn: (arg: A) => void, arg: A): void {
    setImmediate(fn, arg);
  }

  watch(watcher: { handleEvent(): void } | undefined): void {
    this.request.watcher = watcher;
  }
}

/** A stream's target and sink on node:http. */
class NodeStream extends SocketStream<NodeRequest> {
  readonly res: ServerResponse;

  constructor(
    app: AppPort,
    request: NodeRequest,
    res: ServerResponse,
    response: SluiceResponse,
    body: StreamBody<unknown>,
    head: boolean,
    closing: Closing,
  ) {
    super(app, request, response, body, head, closing);
    this.res = res;
  }

  write(chunk: Chunk): boolean {
    return this.res.write(chunk);
  }

  drained(): Promise<void> {
    return drained(this.res, this.signal);
  }

  ready(): boolean {
    return !this.res.writableNeedDrain;
  }

  sendHead(): void {
    this.res.writeHead(this.response.status, this.response.headers);
    // Send the head now: an EventSource opens before the first event, and a slow first item
    // doesn't hold the status back.
    if (this.body.headersFirst) this.res.flushHeaders();
  }

  finish(): void {
    this.res.end();
  }

  truncate(): void {
    truncateResponse(this.res);
  }

  replace(error: unknown): void {
    const problem = this.app.errorResponse(error, this.request);
    problem.headers.connection = "close";
    const text = problem.body();
    if (text.kind !== "bytes") return;
    problem.headers["content-length"] = String(Buffer.byteLength(text.data as string));
    this.res.writeHead(problem.status, problem.headers);
    this.res.end(this.head ? undefined : text.data);
  }
}

/**
 * Writes a web Response returned by a handler: its status and headers, and its body through the
 * same pump as any stream.
 * @internal
 */
export function writeWebBody(
  app: AppPort,
  req: NodeRequest,
  res: ServerResponse,
  response: SluiceResponse,
  web: globalThis.Response,
  head: boolean,
  closing: Closing,
): void {
  if (web.body === null) {
    res.writeHead(response.status, response.headers);
    res.end();
    res.once("close", () => {
      void finishResponse({ app, request: req, response }, res.writableFinished);
    });
    return;
  }
  writeStreamBody(app, req, res, response, webStreamBody(web.body), head, closing);
}

/**
 * Resolves once a Node writable can take more ("drain"), or at once when it can already, or when
 * it closes or the signal aborts (nothing more will be written then): a node:http response, an
 * HTTP/2 stream (whose "drain" comes as the client's flow-control window lets its data out).
 * @internal
 */
export function drained(out: Drainable, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    // The consumer may have drained while the pump awaited the producer: "drain" has fired
    // already and will not fire again, so waiting for it would stall the stream for good.
    if (signal.aborted || out.destroyed || !out.writableNeedDrain) return resolve();
    const done = () => {
      out.off("drain", done);
      out.off("close", done);
      signal.removeEventListener("abort", done);
      resolve();
    };
    out.on("drain", done);
    out.on("close", done);
    signal.addEventListener("abort", done);
  });
}

/** What `drained` needs of a writable. */
interface Drainable {
  readonly destroyed: boolean;
  readonly writableNeedDrain: boolean;
  on(event: "drain" | "close", listener: () => void): unknown;
  off(event: "drain" | "close", listener: () => void): unknown;
}

/** The pause between a truncated response's last bytes and its connection's end. */
const TRUNCATE_PAUSE_MS = 10;

/**
 * Ends a response without its end: no terminating chunk, or fewer bytes than its Content-Length,
 * so the client sees the body cut short, never a clean end that lies. The socket is ended (not
 * destroyed) so what was written before still goes out.
 * @internal
 */
export function truncateResponse(res: ServerResponse): void {
  const socket = res.socket;
  if (socket && !socket.destroyed) {
    if (res.headersSent && !res.chunkedEncoding && res.getHeader("content-length") === undefined) {
      // A close-delimited body (HTTP/1.0) ends at the close itself: a clean close would read as
      // complete. Reset the connection instead, once what was written has gone out, so the client
      // sees an error (RFC 9112 §6.3 item 8).
      socket.write("", () => resetSocket(socket));
    } else {
      // Once what was written has reached the kernel, a few milliseconds before the FIN: a
      // browser (Chromium) that reads the last bytes and the FIN together can drop those bytes —
      // an `onError` item, say — when it reports the cut (seen about 3 times in 20 without the
      // pause, never with 5 ms; coordination notes of issue 14).
      socket.write("", () => {
        setTimeout(() => socket.end(), TRUNCATE_PAUSE_MS).unref();
      });
    }
    setTimeout(() => socket.destroy(), 5000).unref();
  } else res.destroy();
}
