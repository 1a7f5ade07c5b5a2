export type {
  TemplateContext,
  TemplateEngine,
  TemplateRenderOptions,
} from "../http/templates.ts";

/**
 * A template could not be rendered: refused name, not found, no engine, or a render error. Its
 * message names the template and the cause, for the error hook; clients only see a plain 500.
 *
 * @example
 * app.onError((err) => { if (err instanceof TemplateError) console.error(err.template, err.cause); });
 */
export class TemplateError extends Error {
  override readonly name = "TemplateError";
  /** The template name as given (possibly hostile: print it with JSON.stringify). */
  readonly template: string;

  constructor(template: string, message: string, options?: { cause?: unknown }) {
    super(`template ${JSON.stringify(template)}: ${message}`, options);
    this.template = template;
  }
}

/**
 * Checks that a template name is a plain relative path inside the template directory and returns
 * it: `/`-separated segments, none empty, `.` or `..`; no leading `/`, no `\`, `:` (drive letters,
 * Windows streams), NUL or other control characters. Anything else throws a TemplateError, so a
 * name built from user input can never reach outside the directory.
 *
 * @example
 * checkTemplateName("emails/welcome.liquid"); // "emails/welcome.liquid"
 * checkTemplateName("../secret"); // throws TemplateError
 */
export function checkTemplateName(name: string): string {
  if (typeof name !== "string") throw new TemplateError(String(name), "the name is not a string");
  if (name === "" || name.length > 1024) throw new TemplateError(name, "empty or overlong name");
  if (/[\0-\x1f\x7f\\:]/.test(name)) {
    throw new TemplateError(name, "the name contains a control character, `\\` or `:`");
  }
  if (name.startsWith("/")) throw new TemplateError(name, "the name is an absolute path");
  for (const segment of name.split("/")) {
    if (segment === "" || segment === "." || segment === "..") {
      throw new TemplateError(name, "the name has an empty, `.` or `..` segment");
    }
  }
  return name;
}
