import { SluiceRequest } from "../../http/request.ts";
import { readerIterator } from "../pump.ts";

/** What a runtime can tell `app.fetch` besides the Request. */
export interface FetchInfo {
  /** The client's address, when the runtime knows it. */
  remoteAddress?: string;
  /** Keeps the runtime alive for background work (Workers' `ctx.waitUntil`). */
  waitUntil?: (promise: Promise<unknown>) => void;
}

/**
 * What a runtime passed to `app.fetch` beside the Request, read the way each one passes it, so
 * `export default { fetch: app.fetch }` or `Bun.serve({ fetch: app.fetch })` just works:
 * Sluice's own `FetchInfo`; Workers' `(env, ctx)` (`ctx.waitUntil` keeps background work and
 * teardown alive; the address from `CF-Connecting-IP`); Deno's handler info (`remoteAddr`); Bun's
 * server (`requestIP(request)`). Anything else is ignored.
 *
 * @example
 * runtimeInfo(request, env, ctx); // { waitUntil, remoteAddress } on Workers
 */
export function runtimeInfo(request: Request, second?: unknown, third?: unknown): FetchInfo {
  const ctx = third as { waitUntil?: unknown } | undefined;
  if (typeof ctx?.waitUntil === "function") {
    const waitUntil = ctx.waitUntil.bind(ctx) as FetchInfo["waitUntil"];
    const address = request.headers.get("cf-connecting-ip");
    return address === null ? { waitUntil } : { waitUntil, remoteAddress: address };
  }
  if (typeof second !== "object" || second === null) return {};
  const s = second as {
    remoteAddress?: unknown;
    waitUntil?: unknown;
    remoteAddr?: { hostname?: unknown };
    requestIP?: unknown;
  };
  if (typeof s.requestIP === "function") {
    // Bun: the server object, which knows each request's peer.
    const ip = (s.requestIP as (r: Request) => { address?: string } | null)(request);
    return ip?.address === undefined ? {} : { remoteAddress: ip.address };
  }
  if (typeof s.remoteAddr?.hostname === "string") return { remoteAddress: s.remoteAddr.hostname };
  const info: FetchInfo = {};
  if (typeof s.remoteAddress === "string") info.remoteAddress = s.remoteAddress;
  if (typeof s.waitUntil === "function")
    info.waitUntil = s.waitUntil.bind(second) as FetchInfo["waitUntil"];
  return info;
}

/**
 * The request under `app.fetch`: a lazy wrapper over a web Request.
 * @internal
 */
export class FetchRequest extends SluiceRequest<any> {
  readonly raw: Request;
  readonly method: string;
  readonly url: string;
  readonly ip: string | undefined;
  readonly httpVersion = "1.1";
  readonly signal: AbortSignal;
  readonly #controller = new AbortController();
  #headers: Record<string, string> | undefined;
  #cut = false;

  constructor(raw: Request, info?: FetchInfo) {
    super();
    this.raw = raw;
    this.method = raw.method;
    const full = raw.url;
    const at = full.indexOf("/", full.indexOf("//") + 2);
    this.url = at === -1 ? "/" : full.slice(at).replace(/#.*$/, "");
    this.ip = info?.remoteAddress;
    // The client is gone when the runtime aborts the Request, or when the response body is cancelled.
    this.signal = AbortSignal.any([raw.signal, this.#controller.signal]);
  }

  /** Aborts the request's signal. */
  abort(reason: unknown): void {
    this.#controller.abort(reason);
  }

  header(name: string): string | undefined {
    return this.raw.headers.get(name) ?? undefined;
  }

  protected rawHeaders(): Readonly<Record<string, string>> {
    this.#headers ??= Object.fromEntries(this.raw.headers);
    return this.#headers;
  }

  protected rawBody(): AsyncIterable<Uint8Array> | null {
    const body = this.raw.body;
    if (body === null) return null;
    return {
      [Symbol.asyncIterator]: () => {
        // Reading stops early at the body limit: the rest of the body is cancelled, not left
        // locked. A body already locked or read (by code that reached for the web Request) throws
        // here: a bug, not the client's doing.
        const it = readerIterator(body);
        return {
          // Once reading has begun, the stream fails only when its source does: the runtime's
          // report of a client that cut its upload short.
          next: () =>
            it.next().catch((error: unknown) => {
              this.#cut = true;
              throw error;
            }),
          return: () => it.return!(),
        };
      },
    };
  }

  protected override isClientCut(): boolean {
    return this.#cut || this.signal.aborted;
  }
}
