/// <reference types="node" preserve="true" />
// The declarations emitted for this module name Node's types: the directive keeps them resolvable in
// a consumer whose tsconfig lists no `types` (@types/node comes with the package).
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { finishResponse } from "../../core/lifecycle.ts";
import type { AppPort } from "../../core/port.ts";
import { isContentless } from "../../http/status.ts";
import {
  type Body,
  BufferedResponse,
  encodedBody,
  type SluiceResponse,
} from "../../responses/base.ts";
import { Closing } from "../pump.ts";
import { writeFileBody } from "./file.ts";
import { NodeRequest } from "./request.ts";
import { writeStreamBody, writeWebBody } from "./write.ts";

/** Options of `serve`. */
export interface ServeOptions {
  /** Port to listen on; 0 picks a free one (default 3000). */
  port?: number;
  /** Address to bind (default 127.0.0.1). */
  host?: string;
  /**
   * How long `close()` lets in-flight requests and finite streams finish before it cuts them, in
   * ms (default 5000). Event streams do not wait for it: they are ended cleanly at once.
   */
  shutdownTimeout?: number;
  /** Idle keep-alive timeout for connections, in ms (Node's default: 5000). */
  keepAliveTimeout?: number;
}

/** A running server, from `serve`. */
export interface RunningServer {
  /** The underlying node:http server. */
  readonly server: Server;
  /** The bound port. */
  readonly port: number;
  /** `http://host:port`. */
  readonly url: string;
  /**
   * Graceful shutdown: stops accepting connections and closes idle ones; ends open event streams
   * cleanly at once (terminating chunk: an EventSource reconnects elsewhere with Last-Event-ID;
   * teardown runs; counted as aborted); lets other in-flight requests and streams finish within
   * `shutdownTimeout`, then aborts their signal and cuts them (a stream cut there is truncated,
   * never ended cleanly). Resolves once every connection is closed.
   */
  close(): Promise<void>;
}

/**
 * Serves an app on node:http. Buffered bodies go out with Content-Length in one write; streams
 * with backpressure. Resolves once the server accepts connections.
 *
 * @example
 * const server = await serve(app, { port: 3000 });
 * console.log(`listening on ${server.url}`);
 * process.on("SIGTERM", () => server.close());
 */
export async function serve(app: AppPort, options: ServeOptions = {}): Promise<RunningServer> {
  const host = options.host ?? "127.0.0.1";
  const inflight = new InFlight();
  // Every connection, so shutdown can close those with nothing in flight — also those that never
  // sent a request, which closeIdleConnections() leaves open.
  const sockets = new Set<Socket>();
  let closing: Promise<void> | undefined;
  // Streams see the shutdown through this (shared with every stream of this server).
  const streams = new Closing();

  // One listener for every response of this server, not a closure per request: `this` is the
  // response, its request hangs from it. Disconnect is detected on the response: the request's
  // "close" fires as soon as its body has been read, long before the response ends.
  function onResponseClose(this: ServerResponse): void {
    const req = (this as Answering)[REQUEST]!;
    inflight.delete(req);
    if (!this.writableFinished) req.abort(new Error("client disconnected"));
    if (closing !== undefined) {
      const socket = req.raw.socket;
      if (!busySockets(inflight).has(socket)) socket.destroySoon();
    }
  }

  const server = createServer((raw, res) => {
    const req = new NodeRequest(raw);
    inflight.add(req);
    (res as Answering)[REQUEST] = req;
    res.on("close", onResponseClose);
    if (closing !== undefined) res.setHeader("connection", "close");
    // A plain route answers at once: written in this same turn, with no promise on the way.
    const answer = app.handleNow === undefined ? app.handle(req) : app.handleNow(req);
    if (answer instanceof Promise)
      answer.then((response) => send(app, req, res, response, streams));
    else send(app, req, res, answer, streams);
  });
  // One listener for every connection's close (no closure or once-wrapper per connection).
  function onSocketClose(this: Socket): void {
    sockets.delete(this);
  }
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", onSocketClose);
  });
  if (options.keepAliveTimeout !== undefined) server.keepAliveTimeout = options.keepAliveTimeout;
  server.on("clientError", (err: NodeJS.ErrnoException, socket) => {
    if (socket.writable && err.code !== "ECONNRESET") {
      const status = err.code === "HPE_HEADER_OVERFLOW" ? 431 : 400;
      socket.end(
        `HTTP/1.1 ${status} ${status === 431 ? "Request Header Fields Too Large" : "Bad Request"}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`,
      );
    } else socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 3000, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const shown = host.includes(":") ? `[${host}]` : host;

  return {
    server,
    port,
    url: `http://${shown}:${port}`,
    close() {
      closing ??= shutdown(server, inflight, sockets, streams, options.shutdownTimeout ?? 5000);
      return closing;
    },
  };
}

/** The request being answered on a node:http response (a property, so no closure is needed). */
const REQUEST = Symbol("sluice.request");
type Answering = ServerResponse & { [REQUEST]?: NodeRequest };

/**
 * The requests in flight, as a list linked through the requests themselves: adding and removing
 * one allocates nothing, where a Set's table grows and shrinks under the churn of requests.
 */
class InFlight {
  #head: NodeRequest | undefined = undefined;

  add(req: NodeRequest): void {
    req.next = this.#head;
    if (this.#head !== undefined) this.#head.prev = req;
    this.#head = req;
  }

  delete(req: NodeRequest): void {
    const { prev, next } = req;
    if (prev === undefined) {
      if (this.#head !== req) return;
      this.#head = next;
    } else prev.next = next;
    if (next !== undefined) next.prev = prev;
    req.prev = undefined;
    req.next = undefined;
  }

  *[Symbol.iterator](): IterableIterator<NodeRequest> {
    // Callers that change the list while they walk it take a copy first.
    for (let req = this.#head; req !== undefined; req = req.next) yield req;
  }
}

/** The connections with a request in flight (only asked during a shutdown). */
function busySockets(inflight: InFlight): Set<Socket> {
  const busy = new Set<Socket>();
  for (const req of inflight) busy.add(req.raw.socket);
  return busy;
}

/** Writes the app's answer to one request. */
function send(
  app: AppPort,
  req: NodeRequest,
  res: ServerResponse,
  response: SluiceResponse,
  streams: Closing,
): void {
  try {
    respond(app, req, res, response, streams);
  } catch (error) {
    // A failure of the engine itself (node:http refusing what it was given): heard, and the
    // exchange cut rather than left hanging; the server keeps serving.
    app.report(error, { request: req, phase: "server" });
    res.destroy();
  }
}

async function shutdown(
  server: Server,
  inflight: InFlight,
  sockets: Set<Socket>,
  streams: Closing,
  timeout: number,
): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  const closeIdle = () => {
    server.closeIdleConnections();
    const busy = busySockets(inflight);
    for (const socket of sockets) if (!busy.has(socket)) socket.destroySoon();
  };
  closeIdle();
  // Event streams never end on their own: they end now, cleanly. Everything else gets the timeout.
  streams.close();
  const deadline = setTimeout(() => {
    // Past the deadline: what is left is cut. Aborting the signals stops the streams (truncated,
    // their teardown run) and tells handlers still at work; then every connection still open is
    // reset, which no client can read as a complete response, close-delimited ones included.
    const reason = new Error("server shutting down: the shutdown timeout has passed");
    for (const req of [...inflight]) req.abort(reason);
    setImmediate(() => {
      for (const socket of sockets) socket.resetAndDestroy();
    });
  }, timeout);
  deadline.unref();
  const idle = setInterval(closeIdle, 50);
  try {
    await closed;
  } finally {
    clearTimeout(deadline);
    clearInterval(idle);
  }
}

/** Writes a response value to a node:http response. */
function respond(
  app: AppPort,
  req: NodeRequest,
  res: ServerResponse,
  response: SluiceResponse,
  streams: Closing,
): void {
  if (res.headersSent || res.destroyed) {
    void finishResponse({ app, request: req, response }, false);
    return;
  }
  const head = req.method === "HEAD";
  const status = response.status;
  // The buffered answer of a plain route (JSON, text) takes the shortest way: its rendered bytes,
  // no body object, no listener when nothing runs afterwards.
  if (
    response.encodeBody === undefined &&
    response.body === BufferedResponse.prototype.body &&
    !isContentless(status)
  ) {
    let data: string | Uint8Array;
    try {
      data = (response as BufferedResponse).render();
    } catch (err) {
      void finishResponse({ app, request: req, response }, false);
      respond(app, req, res, app.errorResponse(err, req), streams);
      return;
    }
    sendBytes(res, response, status, data, head);
    if (response.hasFollowUps) afterwards(app, req, res, response);
    return;
  }
  let body: Body;
  try {
    body = encodedBody(response);
  } catch (err) {
    void finishResponse({ app, request: req, response }, false);
    respond(app, req, res, app.errorResponse(err, req), streams);
    return;
  }
  switch (body.kind) {
    case "bytes":
      if (isContentless(status)) writeEmpty(res, status, response.headers);
      else sendBytes(res, response, status, body.data, head);
      break;
    case "empty":
      if (!isContentless(status)) response.headers["content-length"] = "0";
      writeEmpty(res, status, response.headers);
      break;
    case "web":
      writeWebBody(app, req, res, response, body.response, head, streams);
      return;
    case "stream":
      writeStreamBody(app, req, res, response, body, head, streams);
      return;
    case "file":
      writeFileBody(app, req, res, response, body, head);
      return;
    default:
      throw new TypeError(`unknown body kind ${(body as { kind: string }).kind}`);
  }
  // Most responses have nothing to run afterwards: no listener for them.
  if (response.hasFollowUps) afterwards(app, req, res, response);
}

/** A body known in full: Content-Length and one write. */
function sendBytes(
  res: ServerResponse,
  response: SluiceResponse,
  status: number,
  data: string | Uint8Array,
  head: boolean,
): void {
  const headers = response.headers;
  headers["content-length"] = String(
    typeof data === "string" ? Buffer.byteLength(data) : data.byteLength,
  );
  res.writeHead(status, headers);
  if (head) res.end();
  else res.end(data);
}

/** Teardown hooks once the response is over; background tasks if it went out in full. */
function afterwards(
  app: AppPort,
  req: NodeRequest,
  res: ServerResponse,
  response: SluiceResponse,
): void {
  res.once("close", () => {
    void finishResponse({ app, request: req, response }, res.writableFinished);
  });
}

function writeEmpty(res: ServerResponse, status: number, headers: SluiceResponse["headers"]): void {
  if (isContentless(status)) {
    // 204 and 304 carry no content and so no Content-Length or Transfer-Encoding (RFC 9110 §8.6).
    delete headers["content-length"];
    delete headers["transfer-encoding"];
  }
  res.writeHead(status, headers);
  res.end();
}
