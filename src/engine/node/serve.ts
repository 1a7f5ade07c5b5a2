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
import { type Body, encodedBody, type SluiceResponse } from "../../responses/base.ts";
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
  /** How long `close()` lets in-flight requests finish before it cuts them, in ms (default 5000). */
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
   * Graceful shutdown: stops accepting connections, closes idle ones, ends open streams (their
   * teardown runs; their clients see truncation), lets other in-flight requests finish within
   * `shutdownTimeout`, then cuts what is left.
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
  const inflight = new Set<NodeRequest>();
  // Requests in flight per connection, so shutdown can close connections that have none — also
  // those that never sent a request, which closeIdleConnections() leaves open.
  const busy = new Map<Socket, number>();
  let closing: Promise<void> | undefined;

  const http1 = (raw: IncomingMessage, res: ServerResponse) => {
    const req = new NodeRequest(raw);
    inflight.add(req);
    const socket = raw.socket;
    busy.set(socket, (busy.get(socket) ?? 0) + 1);
    // Disconnect is detected on the response: the request's "close" fires as soon as its body has
    // been read, long before the response ends.
    res.once("close", () => {
      inflight.delete(req);
      const n = (busy.get(socket) ?? 1) - 1;
      if (busy.has(socket)) busy.set(socket, n);
      if (closing && n === 0) socket.destroySoon();
      if (!res.writableFinished) req.abort(new Error("client disconnected"));
    });
    if (closing) res.setHeader("connection", "close");
    app.handle(req).then(
      (response) => respond(app, req, res, response),
      (err) => fail(app, req, res, err),
    );
  };
  const track = (socket: Socket) => {
    busy.set(socket, 0);
    socket.once("close", () => busy.delete(socket));
  };
  const { server, h2 } = createFor(app, options, http1);
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
      closing ??= shutdown(server, inflight, busy, h2, options.shutdownTimeout ?? 5000);
      return closing;
    },
  };
}

/** The server for the options: node:http, node:https, or node:http2 (TLS or cleartext). */
function createFor(
  app: AppPort,
  options: ServeOptions,
  http1: (raw: IncomingMessage, res: ServerResponse) => void,
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
  const h2 = new H2Streams(app, settings);
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

async function shutdown(
  server: AnyServer,
  inflight: Set<NodeRequest>,
  busy: Map<Socket, number>,
  h2: H2Streams | undefined,
  timeout: number,
): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  const closeIdle = () => {
    (server as Partial<Server>).closeIdleConnections?.();
    for (const [socket, n] of busy) if (n === 0) socket.destroySoon();
    h2?.closeIdle();
  };
  closeIdle();
  // HTTP/2: GOAWAY on every connection; their open streams go on.
  h2?.close();
  // Streams may never end on their own (SSE, /infinite): end them now so their teardown runs.
  for (const req of inflight) if (req.streaming) req.abort(new Error("server shutting down"));
  if (h2) for (const req of h2.streaming) req.abort(new Error("server shutting down"));
  const deadline = setTimeout(() => {
    (server as Partial<Server>).closeAllConnections?.();
    for (const socket of busy.keys()) resetSocket(socket);
    h2?.destroy();
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

function fail(app: AppPort, req: NodeRequest, res: ServerResponse, err: unknown): void {
  respond(app, req, res, app.errorResponse(err, req));
}

/** Writes a response value to a node:http response. */
function respond(
  app: AppPort,
  req: NodeRequest,
  res: ServerResponse,
  response: SluiceResponse,
): void {
  if (res.headersSent || res.destroyed) {
    void finishResponse({ app, request: req, response }, false);
    return;
  }
  let body: Body;
  try {
    body = encodedBody(response);
  } catch (err) {
    void finishResponse({ app, request: req, response }, false);
    respond(app, req, res, app.errorResponse(err, req));
    return;
  }
  const head = req.method === "HEAD";
  const status = response.status;
  switch (body.kind) {
    case "bytes": {
      const data = body.data;
      const headers = response.headers;
      if (isContentless(status)) {
        writeEmpty(res, status, headers);
      } else {
        headers["content-length"] = String(
          typeof data === "string" ? Buffer.byteLength(data) : data.byteLength,
        );
        res.writeHead(status, headers);
        if (head) res.end();
        else res.end(data);
      }
      break;
    }
    case "empty":
      if (!isContentless(status)) response.headers["content-length"] = "0";
      writeEmpty(res, status, response.headers);
      break;
    case "web":
      writeWebBody(app, req, res, response, body.response, head);
      return;
    case "stream":
      writeStreamBody(app, req, res, response, body, head);
      return;
    default:
      throw new TypeError(`unknown body kind ${(body as { kind: string }).kind}`);
  }
  // Most responses have nothing to run afterwards: no listener for them.
  if (response.tasks.length > 0 || response.teardowns.length > 0) {
    res.once("close", () => {
      void finishResponse({ app, request: req, response }, res.writableFinished);
    });
  }
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
