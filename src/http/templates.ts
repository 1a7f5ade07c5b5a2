/**
 * The port of template engines: what TemplateResponse (in `sluice/templates`) asks of an engine, and
 * what an app carries for the requests it answers. Only types: the core renders nothing itself.
 */

/**
 * The data a template renders: names to values. Values may be promises; an engine awaits them
 * where the template uses them (a streamed render sends what comes before first). It is data only:
 * no key of it ever becomes a render option, a template name or template source.
 */
export type TemplateContext = Readonly<Record<string, unknown>>;

/** What the response tells an engine about one render. */
export interface TemplateRenderOptions {
  /** Aborts when the client goes away: an engine that can stop early should. */
  signal?: AbortSignal;
}

/**
 * A template engine, as TemplateResponse uses it: render a named template with a context to a
 * string, and optionally stream it. Plug another engine by implementing this; validate the name
 * with `checkTemplateName` and keep the context out of the engine's options.
 *
 * @example
 * const echo: TemplateEngine = {
 *   async render(name, context) {
 *     checkTemplateName(name);
 *     return `<pre>${escapeHTML(JSON.stringify(context))}</pre>`;
 *   },
 * };
 * app.templates(echo);
 */
export interface TemplateEngine {
  /** The whole page. A missing template or a render error rejects. */
  render(name: string, context: TemplateContext, options: TemplateRenderOptions): Promise<string>;
  /**
   * The page as it renders, part by part, so the head can leave before a slow value resolves. A
   * missing template or a render error throws from the iteration.
   */
  stream?(
    name: string,
    context: TemplateContext,
    options: TemplateRenderOptions,
  ): AsyncIterable<string | Uint8Array>;
}
