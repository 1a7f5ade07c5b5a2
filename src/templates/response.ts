import type { SluiceRequest } from "../http/request.ts";
import type { ContentfulStatus } from "../http/status.ts";
import { type Body, type ResponseInit, SluiceResponse } from "../responses/base.ts";
import type { Chunk } from "../responses/stream.ts";
import {
  checkTemplateName,
  type TemplateContext,
  type TemplateEngine,
  TemplateError,
} from "./engine.ts";

/** Options of a TemplateResponse. */
export interface TemplateInit extends ResponseInit<ContentfulStatus> {
  /** The media type (default `text/html; charset=utf-8`). */
  mediaType?: string;
  /**
   * Stream the page as it renders (when the engine can): the head leaves before a slow promise in
   * the context resolves; no Content-Length; an error after the first byte truncates the page.
   * Default false: the page is rendered in full, sent with Content-Length, and any error is a 500.
   */
  stream?: boolean;
}

function asChunk(item: unknown): Chunk {
  if (typeof item === "string" || item instanceof Uint8Array) return item;
  throw new TypeError(`a template engine streamed a ${typeof item}, not text or bytes`);
}

async function* streamed(
  engine: TemplateEngine,
  name: string,
  context: TemplateContext,
  signal: AbortSignal,
): AsyncGenerator<Chunk> {
  try {
    for await (const part of engine.stream!(name, context, { signal })) yield asChunk(part);
  } catch (err) {
    throw failed(name, err);
  }
}

function failed(name: string, err: unknown): TemplateError {
  if (err instanceof TemplateError) return err;
  return new TemplateError(name, err instanceof Error ? err.message : String(err), { cause: err });
}

/**
 * An HTML page rendered from a template of the app's engine (see `App.templates`) with a context.
 * Rendered right after the handler returns: in full by default, sent with Content-Length; as it
 * renders with `{ stream: true }`. Output is HTML-escaped unless the template marks it raw. The
 * name must be a relative path inside the template directory (`checkTemplateName`); build it from
 * your code, not from the request. A missing template or a render error before the first byte is a
 * 500 that says nothing about the template, and the error hook hears a TemplateError naming it.
 *
 * @example
 * app.get("/dashboard", (req) =>
 *   new TemplateResponse("dashboard", { user: req.query.user, stats: db.slowStats() }, { stream: true }),
 * );
 */
export class TemplateResponse extends SluiceResponse {
  readonly template: string;
  readonly context: TemplateContext;
  readonly stream: boolean;
  #prepared: Promise<this> | undefined;
  #body: Body | undefined;

  constructor(name: string, context: TemplateContext = {}, init?: TemplateInit) {
    super(init);
    this.template = checkTemplateName(name);
    this.context = context;
    this.stream = init?.stream ?? false;
    if (this.headers["content-type"] === undefined) {
      this.setHeader("content-type", init?.mediaType ?? "text/html; charset=utf-8");
    }
  }

  override prepare(req: SluiceRequest<any>): Promise<this> {
    this.#prepared ??= this.#render(req);
    return this.#prepared;
  }

  async #render(req: SluiceRequest<any>): Promise<this> {
    const engine = req.templates;
    if (engine === undefined) {
      throw new TemplateError(
        this.template,
        "the app has no template engine: call app.templates()",
      );
    }
    if (this.stream && engine.stream) {
      this.#body = {
        kind: "stream",
        source: streamed(engine, this.template, this.context, req.signal),
        encode: asChunk,
        headersFirst: false,
      };
      return this;
    }
    let html: string;
    try {
      html = await engine.render(this.template, this.context, { signal: req.signal });
    } catch (err) {
      throw failed(this.template, err);
    }
    if (typeof html !== "string") {
      throw new TemplateError(this.template, "the engine rendered something other than a string");
    }
    this.#body = { kind: "bytes", data: html };
    return this;
  }

  body(): Body {
    if (this.#body === undefined) {
      throw new Error(
        "a TemplateResponse is rendered by its prepare(req): return it from a handler or middleware",
      );
    }
    return this.#body;
  }
}
