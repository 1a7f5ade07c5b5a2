// The public surface of "sluice/templates": pages rendered from template files. Kept out of the
// root export so an app that renders no templates never loads LiquidJS.

export {
  checkTemplateName,
  type TemplateContext,
  type TemplateEngine,
  TemplateError,
  type TemplateRenderOptions,
} from "./engine.ts";
export { type LiquidEngineOptions, type LiquidFilter, liquidEngine } from "./liquid.ts";
export { type TemplateInit, TemplateResponse } from "./response.ts";
