import type { AnySchema, Input, Output } from "../http/schema.ts";
import type { ContentfulStatus } from "../http/status.ts";
import { SchemaError } from "../internal/standard-schema.ts";
import type { ResponseInit } from "./base.ts";
import { JSONResponse } from "./buffered.ts";

/**
 * A JSON response checked against a schema before it is sent: the content is validated and, where
 * the schema transforms (dates to strings, defaults, stripped keys), what goes out is the schema's
 * output. A mismatch is a server error reported to the error hook (a 500 without details), never an
 * invalid body sent with 200. On a route that declares `responses`, the schema of the status is
 * used when none is given, and a returned plain object is checked the same way.
 *
 * @example
 * const Movie = z.object({ id: z.number(), title: z.string() });
 * app.get("/movies/1", () => new APIResponse({ id: 1, title: "Dune" }, { schema: Movie }));
 */
export class APIResponse<S extends AnySchema = AnySchema> extends JSONResponse<Input<S>> {
  /** The schema the content is checked against. */
  schema: S | undefined;
  #checked = false;
  #output: Output<S> | undefined;

  constructor(content: Input<S>, init?: ResponseInit<ContentfulStatus> & { schema?: S }) {
    super(content, init);
    this.schema = init?.schema;
  }

  /**
   * An APIResponse with the status, headers, cookies, tasks and teardowns of a JSONResponse.
   *
   * @example
   * const checked = APIResponse.from(new JSONResponse({ id: 1 }), Movie);
   */
  static from<S extends AnySchema>(res: JSONResponse<unknown>, schema: S): APIResponse<S> {
    const api = new APIResponse<S>(res.content as Input<S>, {
      status: res.status as ContentfulStatus,
      schema,
    });
    Object.assign(api.headers, res.headers);
    api.tasks.push(...res.tasks);
    api.teardowns.push(...res.teardowns);
    return api;
  }

  /** Validates the content (once); throws a SchemaError that the app reports as a 500. */
  override async prepare(): Promise<this> {
    if (this.#checked || !this.schema) return this;
    const result = await this.schema["~standard"].validate(this.content);
    if (result.issues)
      throw new SchemaError(`the response body (status ${this.status})`, result.issues);
    this.#output = result.value as Output<S>;
    this.#checked = true;
    return this;
  }

  override render(): string {
    if (this.schema && !this.#checked) {
      throw new Error(
        "APIResponse was not validated before sending: return it from a handler or await prepare()",
      );
    }
    const text = JSON.stringify(this.#checked ? this.#output : this.content);
    if (text === undefined) throw new TypeError("APIResponse content is not serialisable as JSON");
    return text;
  }
}
