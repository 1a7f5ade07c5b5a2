/// <reference types="node" preserve="true" />
// The declarations emitted for this module name Node's types: the directive keeps them resolvable in
// a consumer whose tsconfig lists no `types` (@types/node comes with the package).
import type { IncomingMessage } from "node:http";
import type { Http2Session, IncomingHttpHeaders, ServerHttp2Stream } from "node:http2";
import { SluiceRequest } from "../../http/request.ts";

/**
 * What the Node engine's requests share, HTTP/1.1 and HTTP/2 alike: a signal made on first use,
 * aborted once when the client goes away or the server shuts down.
 * @internal
 */
export abstract class SocketRequest extends SluiceRequest<any> {
  #controller: AbortController | undefined;
  #aborted: unknown;
  /** @internal told when the request aborts: the writer of its stream (see pump.ts `watch`) */
  watcher: { handleEvent(): void } | undefined = undefined;

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#aborted !== undefined) this.#controller.abort(this.#aborted);
    }
    return this.#controller.signal;
  }

  /** Aborts the request's signal (client gone, or shutdown). */
  abort(reason: unknown): void {
    if (this.#aborted !== undefined) return;
    this.#aborted = reason;
    this.#controller?.abort(reason);
    this.watcher?.handleEvent();
  }

  get aborted(): boolean {
    return this.#aborted !== undefined;
  }
}

/**
 * The request on node:http: a thin, lazy wrapper over IncomingMessage. No web Request is built.
 * @internal
 */
export class NodeRequest extends SocketRequest {
  readonly raw: IncomingMessage;
  readonly method: string;
  readonly url: string;
  /** @internal links of the server's list of requests in flight (see serve.ts) */
  prev: NodeRequest | undefined = undefined;
  /** @internal */
  next: NodeRequest | undefined = undefined;

  constructor(raw: IncomingMessage) {
    super();
    this.raw = raw;
    this.method = raw.method ?? "GET";
    this.url = raw.url ?? "/";
  }

  get httpVersion(): string {
    return this.raw.httpVersion;
  }

  get ip(): string | undefined {
    return this.raw.socket.remoteAddress;
  }

  header(name: string): string | undefined {
    const v = this.raw.headers[name.toLowerCase()];
    return Array.isArray(v) ? v.join(", ") : v;
  }

  protected rawHeaders(): Readonly<Record<string, string>> {
    return this.raw.headers as Record<string, string>;
  }

  protected rawBody(): AsyncIterable<Uint8Array> | null {
    return this.raw;
  }

  /**
   * The upload was cut when the socket closed under it (Node then fails the IncomingMessage with
   * "aborted", ECONNRESET or a premature close), or the request was aborted (client gone,
   * shutdown).
   */
  protected override isClientCut(error: unknown): boolean {
    if (this.aborted || this.raw.destroyed || this.raw.socket?.destroyed) return true;
    const code = (error as { code?: unknown } | null)?.code;
    return (
      code === "ECONNRESET" || code === "ECONNABORTED" || code === "ERR_STREAM_PREMATURE_CLOSE"
    );
  }
}

/**
 * The request on an HTTP/2 stream: its header block, read lazily. Pseudo-header fields are not
 * headers: `:method` and `:path` make the method and target, and `:authority` stands in for Host
 * when the client sent none (RFC 9113 §8.3.1).
 * @internal
 */
export class H2Request extends SocketRequest {
  readonly raw: ServerHttp2Stream;
  readonly method: string;
  readonly url: string;
  /** The session the stream came on (a closed stream no longer knows it). */
  readonly session: Http2Session | undefined;
  readonly #fields: IncomingHttpHeaders;
  #headers: Record<string, string> | undefined;
  /** True once the app began reading the body. */
  bodyTaken = false;
  /** True once the engine reset the stream itself (a truncated response). */
  truncated = false;

  constructor(stream: ServerHttp2Stream, fields: IncomingHttpHeaders) {
    super();
    this.raw = stream;
    this.session = stream.session;
    this.#fields = fields;
    this.method = fields[":method"] ?? "GET";
    this.url = fields[":path"] ?? "/";
  }

  get httpVersion(): string {
    return "2.0";
  }

  get ip(): string | undefined {
    return this.session?.socket?.remoteAddress;
  }

  header(name: string): string | undefined {
    const key = name.toLowerCase();
    if (key.charCodeAt(0) === 58 /* ":" */) return undefined;
    let v = this.#fields[key];
    if (v === undefined && key === "host") v = this.#fields[":authority"];
    return Array.isArray(v) ? v.join(", ") : v;
  }

  protected rawHeaders(): Readonly<Record<string, string>> {
    if (this.#headers === undefined) {
      const out: Record<string, string> = {};
      const fields = this.#fields;
      for (const key in fields) {
        if (key.charCodeAt(0) === 58) continue;
        const v = fields[key];
        if (v !== undefined) out[key] = Array.isArray(v) ? v.join(", ") : v;
      }
      if (out.host === undefined && fields[":authority"] !== undefined) {
        out.host = fields[":authority"];
      }
      this.#headers = out;
    }
    return this.#headers;
  }

  /**
   * The upload was cut when the client reset the stream or its connection went away (the stream
   * is then destroyed, and reading it fails with a stream error or a premature close), or the
   * request was aborted (client gone, shutdown).
   */
  protected override isClientCut(error: unknown): boolean {
    if (this.aborted || this.raw.aborted || this.raw.destroyed) return true;
    const code = (error as { code?: unknown } | null)?.code;
    return (
      code === "ERR_HTTP2_STREAM_ERROR" ||
      code === "ERR_HTTP2_STREAM_CANCEL" ||
      code === "ERR_STREAM_PREMATURE_CLOSE" ||
      code === "ECONNRESET"
    );
  }

  protected rawBody(): AsyncIterable<Uint8Array> | null {
    // Leaving the body early (a 413) must not destroy the stream: that would reset it before the
    // answer goes out. The engine resets what is left once the response is complete.
    this.bodyTaken = true;
    const stream = this.raw;
    return { [Symbol.asyncIterator]: () => stream.iterator({ destroyOnReturn: false }) };
  }
}
