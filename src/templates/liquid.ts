import { resolve } from "node:path";
import type { Readable } from "node:stream";
import { Liquid, toValue } from "liquidjs";
import { escapeHTML } from "../internal/html.ts";
import {
  checkTemplateName,
  type TemplateContext,
  type TemplateEngine,
  type TemplateRenderOptions,
} from "./engine.ts";

/** A filter: the value before the `|`, then the filter's arguments. */
export type LiquidFilter = (value: any, ...args: any[]) => unknown;

/** Options of `liquidEngine`. Everything here is the developer's; nothing comes from a request. */
export interface LiquidEngineOptions {
  /** The template directory. Names, includes and layouts resolve inside it, never outside. */
  dir: string;
  /** Added to a name without an extension: `"hello"` finds `hello.liquid` (default `".liquid"`). */
  extname?: string;
  /**
   * Delimiters other than `{% %}` and `{{ }}`, for pages whose front end uses those itself (Vue,
   * Angular, Alpine): `{ tag: ["[%", "%]"], output: ["[[", "]]"] }`.
   */
  delimiters?: { tag?: readonly [string, string]; output?: readonly [string, string] };
  /**
   * Keep compiled templates (default true). False is development mode: every render reads the
   * files again, so an edited template shows on the next request.
   */
  cache?: boolean;
  /** Extra filters, by name. */
  filters?: Readonly<Record<string, LiquidFilter>>;
  /** Values every template (and every include and layout) sees, under the context. */
  globals?: Readonly<Record<string, unknown>>;
  /** Throw on an undefined variable instead of printing nothing (default false). */
  strictVariables?: boolean;
}

/** Liquid's own output rules (nil is empty, arrays are joined), escaped as everywhere in Sluice. */
function escapeOutput(value: unknown): string {
  const v = toValue(value);
  if (typeof v === "string") return escapeHTML(v);
  if (v === null || v === undefined) return "";
  if (Array.isArray(v)) return v.map(escapeOutput).join("");
  return escapeHTML(String(v));
}

function noop(): void {}

/**
 * A TemplateEngine on LiquidJS: auto-escaping on (`{{ value }}` is HTML-escaped; `{{ html | raw }}`
 * is sent as it is, for trusted HTML only), promises in the context awaited where they are used,
 * streamed rendering, configurable delimiters, compiled templates cached. Liquid templates cannot
 * run code, and only own properties of context values are visible (no `constructor`, no
 * `__proto__`). Names, includes and layouts cannot leave `dir`.
 *
 * @example
 * app.templates(liquidEngine({ dir: new URL("./templates", import.meta.url).pathname }));
 * app.get("/", () => new TemplateResponse("index", { user: { name: "<Ada>" } }));
 */
export function liquidEngine(options: LiquidEngineOptions): TemplateEngine {
  const [tagLeft, tagRight] = options.delimiters?.tag ?? ["{%", "%}"];
  const [outputLeft, outputRight] = options.delimiters?.output ?? ["{{", "}}"];
  const liquid = new Liquid({
    root: resolve(options.dir),
    extname: options.extname ?? ".liquid",
    cache: options.cache ?? true,
    outputEscape: escapeOutput,
    ownPropertyOnly: true,
    strictVariables: options.strictVariables ?? false,
    globals: options.globals ?? {},
    tagDelimiterLeft: tagLeft,
    tagDelimiterRight: tagRight,
    outputDelimiterLeft: outputLeft,
    outputDelimiterRight: outputRight,
  });
  for (const [name, filter] of Object.entries(options.filters ?? {})) {
    liquid.registerFilter(name, filter);
  }

  return {
    async render(name: string, context: TemplateContext): Promise<string> {
      const templates = await liquid.parseFile(checkTemplateName(name));
      // The context is the render scope and nothing else: Liquid reads its options from the
      // engine, so no key of the context (`settings`, `layout`, `__proto__`) can change them.
      return String(await liquid.render(templates, context));
    },

    stream(
      name: string,
      context: TemplateContext,
      options: TemplateRenderOptions,
    ): AsyncIterable<string> {
      checkTemplateName(name);
      const signal = options.signal;
      return (async function* () {
        const templates = await liquid.parseFile(name);
        const out = liquid.renderToNodeStream(templates, context) as Readable;
        out.setEncoding("utf8");
        // LiquidJS cannot be cancelled: after a disconnect it renders to its end into the destroyed
        // stream, and a late render error is emitted there with nobody listening. This listener
        // keeps that from crashing the process; the loop below still sees every error.
        out.on("error", noop);
        // A client that leaves while the render waits on a slow value must not wait for it: the
        // pending read ends now, so the response's teardown runs now.
        const stop = () => out.destroy();
        signal?.addEventListener("abort", stop, { once: true });
        try {
          if (signal?.aborted) return;
          for await (const chunk of out) yield chunk as string;
        } finally {
          signal?.removeEventListener("abort", stop);
          out.destroy();
        }
      })();
    },
  };
}
