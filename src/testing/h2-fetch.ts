/// <reference types="node" preserve="true" />
// The declarations emitted for this module name Node's types: the directive keeps them resolvable in
// a consumer whose tsconfig lists no `types` (@types/node comes with the package).
import {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  connect,
  constants,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type SecureClientSessionOptions,
} from "node:http2";
import type { Readable } from "node:stream";
import zlib from "node:zlib";

const { NGHTTP2_CANCEL } = constants;

/** Fields a client must not send on h2 (RFC 9113 §8.2.2); `host` becomes `:authority`. */
const NOT_ON_H2 = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "host",
]);

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * A fetch over one HTTP/2 session that answers web Responses the way Node's fetch does over
 * HTTP/1.1: `accept-encoding: gzip, deflate` unless set, bodies decoded, redirects followed unless
 * `redirect` says otherwise, a body cut short by a reset an error when read, cancelling the body a
 * RST_STREAM CANCEL. One session carries every request, reopened after it closes.
 * @internal
 */
export class H2Fetcher {
  readonly #origin: string;
  readonly #options: SecureClientSessionOptions;
  #session: ClientHttp2Session | undefined;

  constructor(origin: string, options: SecureClientSessionOptions = {}) {
    this.#origin = origin;
    this.#options = options;
  }

  /** The session, opened (again) when there is none that can take a stream. */
  session(): ClientHttp2Session {
    const s = this.#session;
    if (s !== undefined && !s.closed && !s.destroyed) return s;
    const session = connect(this.#origin, this.#options);
    // A session's errors reach the requests on it; the session itself is simply replaced.
    session.on("error", () => {});
    session.unref();
    this.#session = session;
    return session;
  }

  async fetch(url: string | URL | Request, init?: RequestInit): Promise<Response> {
    let request = new Request(url, init);
    for (let hops = 0; ; hops++) {
      const res = await this.#once(request);
      const location = res.headers.get("location");
      if (!REDIRECTS.has(res.status) || location === null || request.redirect === "manual") {
        return res;
      }
      await res.body?.cancel();
      if (request.redirect === "error") throw new TypeError("fetch failed: redirect");
      if (hops === 20) throw new TypeError("fetch failed: too many redirects");
      const next = new URL(location, request.url);
      const get =
        res.status === 303 ||
        ((res.status === 301 || res.status === 302) && request.method === "POST");
      request = new Request(next, {
        method: get ? "GET" : request.method,
        headers: request.headers,
        body: get ? null : request.body,
        redirect: request.redirect,
        signal: request.signal,
        ...(request.body && !get ? { duplex: "half" } : {}),
      } as RequestInit);
    }
  }

  close(): void {
    this.#session?.close();
    this.#session = undefined;
  }

  async #once(request: Request): Promise<Response> {
    const signal = request.signal;
    signal.throwIfAborted();
    const target = new URL(request.url);
    const fields: OutgoingHttpHeaders = {
      ":method": request.method,
      ":path": target.pathname + target.search,
      ":scheme": target.protocol.slice(0, -1),
      ":authority": request.headers.get("host") ?? target.host,
    };
    for (const [name, value] of request.headers) {
      if (!NOT_ON_H2.has(name)) fields[name] = value;
    }
    fields["accept-encoding"] ??= "gzip, deflate";
    const body = request.body;
    const stream = this.session().request(fields, { endStream: body === null });
    const head = await new Promise<IncomingHttpHeaders>((resolve, reject) => {
      const fail = (cause: unknown) => {
        settle();
        reject(new TypeError("fetch failed", { cause }));
      };
      const closed = () => fail(new Error(`stream closed before a response (${stream.rstCode})`));
      const abort = () => {
        settle();
        stream.close(NGHTTP2_CANCEL);
        reject(signal.reason);
      };
      const settle = () => {
        signal.removeEventListener("abort", abort);
        stream.off("error", fail);
        stream.off("close", closed);
      };
      signal.addEventListener("abort", abort, { once: true });
      stream.once("response", (h) => {
        settle();
        resolve(h);
      });
      stream.on("error", fail);
      stream.once("close", closed);
      if (body !== null) void sendBody(body, stream).catch(fail);
    });
    // Errors past the head reach the body's reader.
    stream.on("error", () => {});
    const status = Number(head[":status"]);
    const headers = new Headers();
    for (const name in head) {
      if (name.startsWith(":")) continue;
      const v = head[name];
      if (Array.isArray(v)) for (const x of v) headers.append(name, x);
      else if (v !== undefined) headers.set(name, String(v));
    }
    const empty = request.method === "HEAD" || status === 204 || status === 205 || status === 304;
    if (empty) {
      stream.resume();
      return new Response(null, { status, headers });
    }
    return new Response(webBody(stream, headers.get("content-encoding"), signal), {
      status,
      headers,
    });
  }
}

async function sendBody(
  body: ReadableStream<Uint8Array>,
  stream: ClientHttp2Stream,
): Promise<void> {
  const reader = body.getReader();
  for (;;) {
    const r = await reader.read();
    if (r.done) break;
    if (!stream.write(r.value)) {
      await new Promise<void>((resolve) => {
        stream.once("drain", resolve);
        stream.once("close", resolve);
      });
    }
    if (stream.destroyed) return void reader.cancel();
  }
  stream.end();
}

/** A decoder for a content coding fetch decodes, or undefined for identity. */
function decoder(
  coding: string | null,
): zlib.Gunzip | zlib.Inflate | zlib.BrotliDecompress | undefined {
  switch (coding?.trim().toLowerCase()) {
    case "gzip":
    case "x-gzip":
      return zlib.createGunzip();
    case "deflate":
      return zlib.createInflate();
    case "br":
      return zlib.createBrotliDecompress();
    case "zstd": {
      const zstd = (zlib as unknown as { createZstdDecompress?: () => zlib.Gunzip })
        .createZstdDecompress;
      return zstd?.();
    }
    default:
      return undefined;
  }
}

/** Bytes a response body may hold unread before the h2 stream is paused (and its window shut). */
const BODY_BUFFER = 64 * 1024;

/**
 * The response body as a web stream pulled with backpressure: past BODY_BUFFER unread bytes the h2
 * stream is paused, so the client's window stays shut and the server's flow control holds. A reset
 * errors the body only once what arrived before it has been read.
 */
function webBody(
  stream: ClientHttp2Stream,
  coding: string | null,
  signal: AbortSignal,
): ReadableStream<Uint8Array> {
  const decode = decoder(coding);
  const source: Readable = decode ?? stream;
  if (decode !== undefined) {
    stream.pipe(decode);
    stream.on("error", (err) => decode.destroy(err));
  }
  let done = false;
  let failed: Error | undefined;
  const stop = () => {
    if (!stream.closed) stream.close(NGHTTP2_CANCEL);
    decode?.destroy();
  };
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        const fail = (cause: unknown) => {
          if (done) return;
          done = true;
          failed = new TypeError("terminated", { cause });
          // What arrived before the reset is read first (an error would drop the queue).
          if ((controller.desiredSize ?? 0) >= BODY_BUFFER) controller.error(failed);
        };
        source.on("data", (chunk: Buffer) => {
          if (done) return;
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
          if ((controller.desiredSize ?? 0) <= 0) source.pause();
        });
        source.once("end", () => {
          if (done) return;
          done = true;
          controller.close();
        });
        source.once("error", fail);
        // A reset, of any code, before the end leaves the body incomplete.
        stream.once("close", () => {
          if (!stream.readableEnded) fail(new Error(`stream reset (code ${stream.rstCode})`));
        });
        signal.addEventListener(
          "abort",
          () => {
            stop();
            if (!done) {
              done = true;
              controller.error(signal.reason);
            }
          },
          { once: true },
        );
      },
      pull(controller) {
        if (failed === undefined) source.resume();
        else if ((controller.desiredSize ?? 0) >= BODY_BUFFER) controller.error(failed);
      },
      cancel() {
        done = true;
        stop();
      },
    },
    { highWaterMark: BODY_BUFFER, size: (chunk) => chunk.byteLength },
  );
}
