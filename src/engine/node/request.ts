/// <reference types="node" preserve="true" />
// The declarations emitted for this module name Node's types: the directive keeps them resolvable in
// a consumer whose tsconfig lists no `types` (@types/node comes with the package).
import type { IncomingMessage } from "node:http";
import { SluiceRequest } from "../../http/request.ts";

/**
 * The request on Node: a thin, lazy wrapper over IncomingMessage. No web Request is built.
 * @internal
 */
export class NodeRequest extends SluiceRequest<any> {
  readonly raw: IncomingMessage;
  readonly method: string;
  readonly url: string;
  #controller: AbortController | undefined;
  #aborted: unknown;
  /** @internal told when the request aborts: the writer of its stream (see pump.ts `watch`) */
  watcher: { handleEvent(): void } | undefined = undefined;
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
