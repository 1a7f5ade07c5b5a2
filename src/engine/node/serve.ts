/// <reference types="node" preserve="true" />
// The declarations emitted for this module name Node's types: the directive keeps them resolvable in
// a consumer whose tsconfig lists no `types` (@types/node comes with the package).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import {
  createServer as createH2CServer,
  createSecureServer,
  type Http2SecureServer,
  type Http2Server,
} from "node:http2";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { SecureContextOptions, TLSSocket } from "node:tls";
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
import { H2Streams, HTTP2_DEFAULTS, type HTTP2Options, http2ServerOptions } from "./http2.ts";
import { NodeRequest } from "./request.ts";
import { resetSocket } from "./socket.ts";
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
  /** Idle keep-alive timeout for HTTP/1.1 connections, in ms (Node's default: 5000). */
  keepAliveTimeout?: number;
  /**
   * Serve HTTPS with these credentials (PEM `cert` and `key`, or `pfx`; any node:tls secure-context
   * option passes through): HTTP/2 and HTTP/1.1 on the same port, negotiated by ALPN. A client that
   * offers no ALPN gets HTTP/1.1. With `http2: false`, HTTPS over HTTP/1.1 only.
   */
  tls?: SecureContextOptions;
  /**
   * Cleartext HTTP/2 with prior knowledge (h2c) instead of HTTP/1.1: for internal hops and load
   * tools (`curl --http2-prior-knowledge`, h2load). Browsers speak HTTP/2 over TLS only: see `tls`.
   */
  h2c?: boolean;
  /** HTTP/2 settings and limits (with `tls` or `h2c`); false: no HTTP/2 with `tls`. */
  http2?: HTTP2Options | false;
}

/** Every server `serve` may run. */
export type AnyServer = Server | HttpsServer | Http2SecureServer | Http2Server;

/**
 * A running server, from `serve`; `S` is the server's class, as the options decide it.
 *
 * @example
 * const running: RunningServer = await serve(app, { port: 0 });
 * running.server.headersTimeout = 10_000; // node:http's Server
 */
export interface RunningServer<S extends AnyServer = Server> {
  /**
   * The underlying server: node:http's, node:https's with `tls` and `http2: false`, node:http2's
   * secure server with `tls`, its cleartext one with `h2c`.
   */
  readonly server: S;
  /** The bound port. */
  readonly port: number;
  /** `http://host:port`, or `https://host:port` with `tls`. */
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
 * Serves an app on node:http, or with `tls` on HTTPS with HTTP/2 and HTTP/1.1 negotiated by ALPN,
 * or with `h2c` on cleartext HTTP/2. Buffered bodies go out with Content-Length in one write;
 * streams with backpressure (HTTP/2: the client's flow control). Handlers are the same for every
 * protocol. Resolves once the server accepts connections.
 *
 * @example
 * const server = await serve(app, { port: 3000 });
 * console.log(`listening on ${server.url}`);
 * process.on("SIGTERM", () => server.close());
 *
 * @example
 * const cert = await readFile("cert.pem");
 * const key = await readFile("key.pem");
 * await serve(app, { port: 8443, tls: { cert, key } }); // h2 and HTTP/1.1 by ALPN
 */
export function serve(
  app: AppPort,
  options?: ServeOptions & { tls?: undefined; h2c?: false },
): Promise<RunningServer<Server>>;
export function serve(
  app: AppPort,
  options: ServeOptions & { h2c: true },
): Promise<RunningServer<Http2Server>>;
export function serve(
  app: AppPort,
  options: ServeOptions & { tls: SecureContextOptions; http2: false },
): Promise<RunningServer<HttpsServer>>;
export function serve(
  app: AppPort,
  options: ServeOptions & { tls: SecureContextOptions; http2?: HTTP2Options },
): Promise<RunningServer<Http2SecureServer>>;
export function serve(app: AppPort, options?: ServeOptions): Promise<RunningServer<AnyServer>>;
export async function serve(
  app: AppPort,
  options: ServeOptions = {},
): Promise<RunningServer<AnyServer>> {
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

  const http1 = (raw: IncomingMessage, res: ServerResponse) => {
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
  };
  // One listener for every connection's close (no closure or once-wrapper per connection).
  function onSocketClose(this: Socket): void {
    sockets.delete(this);
  }
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", onSocketClose);
  };
  const { server, h2 } = createFor(app, options, http1, streams);
  // Connections, tracked for shutdown: over TLS, the TLS socket the requests come on; HTTP/2 ones
  // apart, for their sessions.
  if (options.tls === undefined) server.on("connection", h2 ? h2.track : track);
  else {
    server.on("secureConnection", (socket: TLSSocket) => {
      if (socket.alpnProtocol === "h2") h2?.track(socket);
      else track(socket);
    });
  }
  if (options.keepAliveTimeout !== undefined) {
    (server as Server).keepAliveTimeout = options.keepAliveTimeout;
  }
  server.on("clientError", (err: NodeJS.ErrnoException, socket: Duplex) => {
    // An HTTP/1.1 parse error or timeout is answered; anything else (a failed TLS handshake, a
    // reset) only closes the socket: an HTTP answer would mean nothing to that client.
    if (socket.writable && /^(?:HPE_|ERR_HTTP_)/.test(err.code ?? "")) {
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
    url: `${options.tls === undefined ? "http" : "https"}://${shown}:${port}`,
    close() {
      closing ??= shutdown(server, inflight, sockets, streams, h2, options.shutdownTimeout ?? 5000);
      return closing;
    },
  };
}

/** The server for the options: node:http, node:https, or node:http2 (TLS or cleartext). */
function createFor(
  app: AppPort,
  options: ServeOptions,
  http1: (raw: IncomingMessage, res: ServerResponse) => void,
  streams: Closing,
): { server: AnyServer; h2: H2Streams | undefined } {
  const { tls, h2c } = options;
  if (h2c && tls !== undefined) {
    throw new TypeError(
      "serve: h2c is cleartext HTTP/2, and with tls HTTP/2 is negotiated by ALPN: give one or the other",
    );
  }
  if (tls === undefined && !h2c) return { server: createServer(http1), h2: undefined };
  if (options.http2 === false) {
    if (h2c) throw new TypeError("serve: h2c needs HTTP/2, which http2: false turns off");
    return { server: createHttpsServer(tls ?? {}, http1), h2: undefined };
  }
  const settings = options.http2 ?? {};
  const h2 = new H2Streams(app, streams, settings);
  let server: Http2SecureServer | Http2Server;
  if (tls !== undefined) {
    const allowHTTP1 = settings.allowHTTP1 ?? HTTP2_DEFAULTS.allowHTTP1;
    server = createSecureServer({ ...tls, ...http2ServerOptions(settings), allowHTTP1 });
    if (allowHTTP1) {
      server.on("request", http1 as unknown as (...args: unknown[]) => void);
      // A "request" listener makes node:http2 add its compatibility "stream" listener, which
      // would answer h2 streams through Http2ServerRequest/Response. HTTP/1.1 connections come
      // to the "request" listener; h2 streams are served through the core API below instead.
      server.removeAllListeners("stream");
    }
  } else server = createH2CServer(http2ServerOptions(settings));
  server.on("session", h2.session);
  server.on("stream", h2.stream);
  return { server, h2 };
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
  server: AnyServer,
  inflight: InFlight,
  sockets: Set<Socket>,
  streams: Closing,
  h2: H2Streams | undefined,
  timeout: number,
): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  const closeIdle = () => {
    (server as Partial<Server>).closeIdleConnections?.();
    const busy = busySockets(inflight);
    for (const socket of sockets) if (!busy.has(socket)) socket.destroySoon();
    h2?.closeIdle();
  };
  closeIdle();
  // HTTP/2: GOAWAY on every connection; their open streams go on.
  h2?.close();
  // Event streams never end on their own: they end now, cleanly. Everything else gets the timeout.
  streams.close();
  const deadline = setTimeout(() => {
    // Past the deadline: what is left is cut. Aborting the signals stops the streams (truncated,
    // their teardown run) and tells handlers still at work; then every connection still open is
    // reset, which no client can read as a complete response, close-delimited ones included.
    const reason = new Error("server shutting down: the shutdown timeout has passed");
    for (const req of [...inflight]) req.abort(reason);
    h2?.destroy();
    setImmediate(() => {
      for (const socket of sockets) resetSocket(socket);
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
