/// <reference types="node" preserve="true" />
// The declarations emitted for this module name Node's types: the directive keeps them resolvable in
// a consumer whose tsconfig lists no `types` (@types/node comes with the package).
import {
  constants,
  type Http2Session,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
  type ServerOptions,
} from "node:http2";
import type { Duplex } from "node:stream";
import { finishResponse } from "../../core/lifecycle.ts";
import type { AppPort } from "../../core/port.ts";
import { isContentless } from "../../http/status.ts";
import { type Body, encodedBody, type SluiceResponse } from "../../responses/base.ts";
import type { Chunk, StreamBody } from "../../responses/stream.ts";
import { type Closing, startStream, streamHeaders, webStreamBody } from "../pump.ts";
import { H2Request } from "./request.ts";
import { drained, SocketStream } from "./write.ts";

const { NGHTTP2_NO_ERROR, NGHTTP2_CANCEL } = constants;

/**
 * HTTP/2 settings and limits of `serve` (with `tls` or `h2c`). Each has a default chosen for a
 * public server; the comments name the frame or setting of RFC 9113 it governs.
 *
 * @example
 * await serve(app, { tls: { cert, key }, http2: { maxConcurrentStreams: 250 } });
 */
export interface HTTP2Options {
  /**
   * SETTINGS_MAX_CONCURRENT_STREAMS: streams one client may have open at once on a connection
   * (default 128). A stream past it is refused with RST_STREAM REFUSED_STREAM (RFC 9113 §5.1.2),
   * which a client may retry.
   */
  maxConcurrentStreams?: number;
  /**
   * SETTINGS_INITIAL_WINDOW_SIZE: bytes of a request body a client may send on one stream ahead of
   * the app reading them (default 65535, the protocol's own). Responses follow the client's window:
   * a stream whose reader stops is not pulled again until it reads.
   */
  initialWindowSize?: number;
  /**
   * SETTINGS_MAX_HEADER_LIST_SIZE: the largest request header block, counted decoded (name + value
   * + 32 per field, RFC 9113 §6.5.2; default 16384, as HTTP/1.1's 16 KiB). A larger block, however
   * well it compressed, resets its stream with ENHANCE_YOUR_CALM.
   */
  maxHeaderListSize?: number;
  /** Most header fields in one request block (default 128); more resets the stream likewise. */
  maxHeaderListPairs?: number;
  /**
   * Memory one connection may hold in frames, header tables and queued output, in MiB (default 10).
   * Past it, new streams are refused with ENHANCE_YOUR_CALM until it drops.
   */
  maxSessionMemory?: number;
  /**
   * RST_STREAM frames a client may send: a burst, then a sustained rate per second (defaults 1000
   * and 33). A client past it has its connection closed with GOAWAY: opening and resetting streams
   * in a loop (rapid reset, CVE-2023-44487) cannot keep the server busy.
   */
  resetBurst?: number;
  /** See `resetBurst`. */
  resetRate?: number;
  /**
   * A connection on which nothing was received or sent for this long, in ms, is closed gracefully
   * with GOAWAY (default 60000; 0 never). Its open streams, if any, still finish.
   */
  idleTimeout?: number;
  /**
   * With `tls` only: offer HTTP/1.1 beside h2 in ALPN (default true). A client that offers no ALPN
   * at all gets HTTP/1.1 as well; with false, it gets a 403 and h2 is required.
   */
  allowHTTP1?: boolean;
}

/** The defaults of `HTTP2Options`. */
export const HTTP2_DEFAULTS = {
  maxConcurrentStreams: 128,
  initialWindowSize: 65_535,
  maxHeaderListSize: 16_384,
  maxHeaderListPairs: 128,
  maxSessionMemory: 10,
  resetBurst: 1000,
  resetRate: 33,
  idleTimeout: 60_000,
  allowHTTP1: true,
} as const satisfies Required<HTTP2Options>;

/**
 * node:http2 server options for ours.
 * @internal
 */
export function http2ServerOptions(options: HTTP2Options = {}): ServerOptions {
  const o = { ...HTTP2_DEFAULTS, ...options };
  return {
    settings: {
      maxConcurrentStreams: o.maxConcurrentStreams,
      initialWindowSize: o.initialWindowSize,
      maxHeaderListSize: o.maxHeaderListSize,
    },
    maxHeaderListPairs: o.maxHeaderListPairs,
    maxSessionMemory: o.maxSessionMemory,
    streamResetBurst: o.resetBurst,
    streamResetRate: o.resetRate,
  } as ServerOptions;
}

/**
 * True for a field HTTP/2 forbids in a message: one that describes an HTTP/1.1 connection, which
 * an h2 stream is not (RFC 9113 §8.2.2): Connection, Keep-Alive, Proxy-Connection,
 * Transfer-Encoding, Upgrade, and TE (allowed in requests only, as "trailers"). Checked by length
 * first: most names have none of these lengths and cost one comparison.
 */
function connectionSpecific(name: string): boolean {
  switch (name.length) {
    case 2:
      return name.toLowerCase() === "te";
    case 7:
      return name.toLowerCase() === "upgrade";
    case 10: {
      const n = name.toLowerCase();
      return n === "connection" || n === "keep-alive";
    }
    case 16:
      return name.toLowerCase() === "proxy-connection";
    case 17:
      return name.toLowerCase() === "transfer-encoding";
    default:
      return false;
  }
}

/**
 * The header block of a response on h2: its own headers (names may be in any case: a middleware
 * may have written the object directly), without the fields HTTP/2 forbids, whatever set them, and
 * `:status` (node:http2 sends 200 when it is absent). The response's object is used as it is:
 * node:http2 copies it.
 */
function h2Fields(status: number, headers: SluiceResponse["headers"]): OutgoingHttpHeaders {
  for (const name in headers) if (connectionSpecific(name)) delete headers[name];
  const fields = headers as OutgoingHttpHeaders;
  if (status !== 200) fields[":status"] = status;
  return fields;
}

/**
 * The error a stream is destroyed with to end it with RST_STREAM INTERNAL_ERROR: the h2 form of
 * truncation. Destroying without an error would send NO_ERROR, which reads as a clean end.
 */
const TRUNCATED = new Error("response truncated");
const CLIENT_GONE = "client reset the stream";

/**
 * Streams a client may reset on one connection before its new streams are held back a turn (see
 * `H2Streams.stream`). A browser cancels a few requests as pages change; a flood resets thousands.
 */
const RAPID_RESETS = 100;

function ignore(): void {}

/** Where a stream keeps its request, for the shared "close" listener. */
const REQUEST: unique symbol = Symbol("sluice.request");
type Tagged = ServerHttp2Stream & { [REQUEST]?: H2Request };

/**
 * A response went out whole while the request body was read only in part (a 413): the client is
 * asked to stop sending with RST_STREAM NO_ERROR once the response is complete (RFC 9113 §8.1),
 * so the stream does not stay half open. A body Node never started reading is closed by Node.
 */
function stopBody(stream: ServerHttp2Stream): void {
  if (stream.readableEnded) return;
  stream.once("finish", () => {
    if (!stream.readableEnded && !stream.closed) stream.close(NGHTTP2_NO_ERROR);
  });
}

/**
 * Serves HTTP/2 streams for one app: requests in, responses out through the shared pump, and the
 * sessions that carry them, for graceful shutdown.
 * @internal
 */
export class H2Streams {
  readonly #app: AppPort;
  readonly #idleTimeout: number;
  /** Open sessions, for shutdown. */
  readonly sessions = new Set<ServerHttp2Session>();
  /** The sockets under them (a session only lends a proxy that cannot be closed). */
  readonly #sockets = new Set<Duplex>();
  /** Streams each session's client has reset. */
  readonly #resets = new WeakMap<Http2Session, number>();
  #shuttingDown = false;
  /** The server's graceful shutdown, shared with its HTTP/1.1 streams. */
  readonly #closing: Closing;

  constructor(app: AppPort, closing: Closing, options: HTTP2Options = {}) {
    this.#app = app;
    this.#closing = closing;
    this.#idleTimeout = options.idleTimeout ?? HTTP2_DEFAULTS.idleTimeout;
  }

  /** Tracks a connection that carries HTTP/2, for shutdown. */
  readonly track = (socket: Duplex): void => {
    this.#sockets.add(socket);
    socket.once("close", () => this.#sockets.delete(socket));
  };

  /** The server's "session" listener. */
  readonly session = (session: ServerHttp2Session): void => {
    this.sessions.add(session);
    session.once("close", () => this.sessions.delete(session));
    if (this.#shuttingDown) {
      session.close();
      return;
    }
    // Idle: nothing received or sent for that long. close() lets open streams finish.
    if (this.#idleTimeout > 0) session.setTimeout(this.#idleTimeout, () => session.close());
  };

  /** The server's "stream" listener: one request. */
  readonly stream = (stream: ServerHttp2Stream, fields: IncomingHttpHeaders): void => {
    // A stream destroyed by a reset emits "error"; it is handled as a disconnect below.
    stream.on("error", ignore);
    const session = stream.session;
    if (session !== undefined && (this.#resets.get(session) ?? 0) >= RAPID_RESETS) {
      // This client resets streams in bulk (rapid reset, CVE-2023-44487). Its new streams wait
      // one turn of the event loop: a reset that came in the same read as its HEADERS is seen
      // first, and that stream never reaches the app. (nghttp2 closes the connection past its
      // own reset rate limit; this keeps the handlers from running meanwhile.)
      setImmediate(() => {
        if (stream.closed || stream.destroyed) this.#countReset(session);
        else this.#serve(stream, fields);
      });
      return;
    }
    this.#serve(stream, fields);
  };

  #serve(stream: ServerHttp2Stream, fields: IncomingHttpHeaders): void {
    const req = new H2Request(stream, fields);
    (stream as Tagged)[REQUEST] = req;
    stream.on("close", this.#closed);
    const app = this.#app;
    const answer = app.handleNow === undefined ? app.handle(req) : app.handleNow(req);
    if (answer instanceof Promise) {
      answer.then(
        (response) => this.send(req, stream, response),
        (err) => this.send(req, stream, app.errorResponse(err, req)),
      );
    } else this.send(req, stream, answer);
  }

  /**
   * A stream's "close" listener (one function for all, `this` the stream). Closed by a reset —
   * the client's (CANCEL when it left) or its session's end — before the response was complete:
   * the request's signal aborts. A stream that ended cleanly closes with NO_ERROR.
   */
  readonly #closed = ((engine: H2Streams) =>
    function closed(this: ServerHttp2Stream): void {
      const req = (this as Tagged)[REQUEST];
      if (req === undefined || this.rstCode === NGHTTP2_NO_ERROR || req.truncated) return;
      req.abort(new Error(CLIENT_GONE));
      if (req.session !== undefined) engine.#countReset(req.session);
    })(this);

  #countReset(session: Http2Session): void {
    this.#resets.set(session, (this.#resets.get(session) ?? 0) + 1);
  }

  /** Writes the app's answer to one stream; a failure of the engine itself cuts the stream. */
  send(req: H2Request, stream: ServerHttp2Stream, response: SluiceResponse): void {
    try {
      this.respond(req, stream, response);
    } catch (error) {
      this.#app.report(error, { request: req, phase: "server" });
      stream.destroy(TRUNCATED);
    }
  }

  /** Writes a response value to an h2 stream. */
  respond(req: H2Request, stream: ServerHttp2Stream, response: SluiceResponse): void {
    const app = this.#app;
    if (stream.headersSent || stream.destroyed || stream.closed) {
      void finishResponse({ app, request: req, response }, false);
      return;
    }
    let body: Body;
    try {
      body = encodedBody(response);
    } catch (err) {
      void finishResponse({ app, request: req, response }, false);
      this.respond(req, stream, app.errorResponse(err, req));
      return;
    }
    const head = req.method === "HEAD";
    const status = response.status;
    const headers = response.headers;
    switch (body.kind) {
      case "bytes": {
        const data = body.data;
        if (isContentless(status)) {
          // 204 and 304 carry no content and so no Content-Length (RFC 9110 §8.6).
          delete headers["content-length"];
          if (!this.#head(req, stream, response, true)) return;
        } else {
          headers["content-length"] = String(
            typeof data === "string" ? Buffer.byteLength(data) : data.byteLength,
          );
          if (!this.#head(req, stream, response, head)) return;
          if (!head) stream.end(data);
        }
        break;
      }
      case "empty":
        if (isContentless(status)) delete headers["content-length"];
        else headers["content-length"] = "0";
        if (!this.#head(req, stream, response, true)) return;
        break;
      case "web":
        if (body.response.body === null) {
          if (!this.#head(req, stream, response, true)) return;
          break;
        }
        this.#writeStream(req, stream, response, webStreamBody(body.response.body), head);
        return;
      case "stream":
        this.#writeStream(req, stream, response, body, head);
        return;
      case "file":
        // Through the writer as a stream of chunks: node:http2 frames and flow-controls them.
        this.#writeStream(req, stream, response, body.stream(), head);
        return;
      default:
        throw new TypeError(`unknown body kind ${(body as { kind: string }).kind}`);
    }
    if (req.bodyTaken) stopBody(stream);
    // Most responses have nothing to run afterwards: no listener for them.
    if (response.hasFollowUps) {
      stream.once("close", () => {
        void finishResponse({ app, request: req, response }, stream.rstCode === NGHTTP2_NO_ERROR);
      });
    }
  }

  /**
   * Sends the header block; false when node:http2 refused it (a field it cannot carry), in which
   * case an error response went out instead.
   */
  #head(
    req: H2Request,
    stream: ServerHttp2Stream,
    response: SluiceResponse,
    endStream: boolean,
  ): boolean {
    try {
      stream.respond(h2Fields(response.status, response.headers), { endStream });
      return true;
    } catch (err) {
      void finishResponse({ app: this.#app, request: req, response }, false);
      if (stream.headersSent || stream.destroyed) return false;
      this.respond(req, stream, this.#app.errorResponse(err, req));
      return false;
    }
  }

  /** A stream body through the shared writer, with a sink over the h2 stream and its flow control. */
  #writeStream(
    req: H2Request,
    stream: ServerHttp2Stream,
    response: SluiceResponse,
    body: StreamBody<unknown>,
    head: boolean,
  ): void {
    // An h2 body ends with END_STREAM: a length only when it is known in advance (a file).
    streamHeaders(response, body);
    startStream(new H2Stream(this.#app, req, stream, response, body, head, this.#closing));
  }

  /**
   * Graceful shutdown, first step: every session gets GOAWAY (NO_ERROR) and takes no new stream;
   * the streams it has go on until they end.
   */
  close(): void {
    this.#shuttingDown = true;
    for (const session of this.sessions) session.close();
  }

  /**
   * During shutdown: a session that is done has ended its side of the connection (GOAWAY sent)
   * and waits for the client to close its own, which a browser may put off for minutes. Once what
   * it wrote has gone out, the connection is closed.
   */
  closeIdle(): void {
    for (const socket of this.#sockets) if (socket.writableFinished) socket.destroy();
  }

  /**
   * Graceful shutdown, last step: whatever is still open is cut. Its streams close with CANCEL,
   * so their requests abort (and their streams end as aborted, teardown run).
   */
  destroy(): void {
    const reason = new Error("server shutting down: the shutdown timeout has passed");
    for (const session of this.sessions) session.destroy(reason, NGHTTP2_CANCEL);
    for (const socket of this.#sockets) socket.destroy();
  }
}

/**
 * A stream's target and sink on an h2 stream: flow control is the backpressure (the stream drains
 * as the client's window lets its data out). Truncation is RST_STREAM INTERNAL_ERROR, sent once
 * what was written has left: a reset would overtake DATA frames still queued.
 */
class H2Stream extends SocketStream<H2Request> {
  readonly stream: ServerHttp2Stream;
  /** Writes node:http2 has not sent yet. */
  unsent = 0;
  /** A truncation waits for them. */
  cut = false;
  readonly #sent = (): void => {
    if (--this.unsent === 0 && this.cut) this.reset();
  };

  constructor(
    app: AppPort,
    request: H2Request,
    stream: ServerHttp2Stream,
    response: SluiceResponse,
    body: StreamBody<unknown>,
    head: boolean,
    closing: Closing,
  ) {
    super(app, request, response, body, head, closing);
    this.stream = stream;
  }

  write(chunk: Chunk): boolean {
    this.unsent++;
    return this.stream.write(chunk, this.#sent);
  }

  drained(): Promise<void> {
    return drained(this.stream, this.signal);
  }

  ready(): boolean {
    return !this.stream.writableNeedDrain;
  }

  sendHead(): void {
    this.stream.respond(h2Fields(this.response.status, this.response.headers), {
      endStream: this.head,
    });
  }

  finish(): void {
    const stream = this.stream;
    if (!stream.writableEnded && !stream.destroyed) stream.end();
    if (this.request.bodyTaken) stopBody(stream);
  }

  truncate(): void {
    if (this.stream.destroyed) return;
    this.cut = true;
    if (this.unsent === 0) this.reset();
    // A client that stopped reading never takes the rest: reset it anyway after a while.
    else setTimeout(() => this.reset(), 5000).unref();
  }

  reset(): void {
    this.request.truncated = true;
    if (!this.stream.destroyed) this.stream.destroy(TRUNCATED);
  }

  replace(error: unknown): void {
    const problem = this.app.errorResponse(error, this.request);
    const text = problem.body();
    const stream = this.stream;
    if (text.kind !== "bytes" || stream.destroyed) {
      this.reset();
      return;
    }
    problem.headers["content-length"] = String(Buffer.byteLength(text.data as string));
    stream.respond(h2Fields(problem.status, problem.headers), { endStream: this.head });
    if (!this.head) stream.end(text.data);
  }
}
