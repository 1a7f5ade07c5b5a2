/**
 * The Standard Schema interface (standardschema.dev, v1): what zod, valibot, arktype and others
 * implement, so Sluice validates with any of them without depending on one. Only the types are
 * declared here; the spec asks libraries to do exactly that.
 */

/**
 * A validator that follows Standard Schema v1.
 *
 * @example
 * const schema: StandardSchemaV1<unknown, { n: number }> = z.object({ n: z.number() });
 */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly "~standard": {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (value: unknown) => StandardResult<Output> | Promise<StandardResult<Output>>;
    readonly types?: { readonly input: Input; readonly output: Output } | undefined;
  };
}

/** The result of a Standard Schema validation. */
export type StandardResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | { readonly issues: readonly StandardIssue[] };

/** One validation issue, with the path to the offending value. */
export interface StandardIssue {
  readonly message: string;
  readonly path?: readonly (PropertyKey | { readonly key: PropertyKey })[] | undefined;
}

/**
 * The output type of a schema.
 *
 * @example
 * type Movie = InferOutput<typeof MovieSchema>;
 */
export type InferOutput<S extends StandardSchemaV1> = NonNullable<
  S["~standard"]["types"]
>["output"];

/**
 * Thrown when a value fails its schema; lists each issue with its path.
 *
 * @example
 * try { validateSync(schema, v); } catch (e) { if (e instanceof SchemaError) console.log(e.issues); }
 */
export class SchemaError extends Error {
  readonly issues: readonly { message: string; path: string }[];
  constructor(what: string, issues: readonly StandardIssue[]) {
    const list = issues.map((i) => ({ message: i.message, path: formatPath(i.path) }));
    super(
      `${what} failed validation: ${list.map((i) => `${i.path || "(root)"}: ${i.message}`).join("; ")}`,
    );
    this.name = "SchemaError";
    this.issues = list;
  }
}

/**
 * A JSON-pointer-like path (`/items/0/name`) for an issue's path.
 *
 * @example
 * formatPath(["items", 0, { key: "name" }]); // "/items/0/name"
 */
export function formatPath(path: StandardIssue["path"]): string {
  if (!path || path.length === 0) return "";
  return path.map((p) => `/${String(typeof p === "object" ? p.key : p)}`).join("");
}

/**
 * Validates synchronously (stream items are checked one by one as they are encoded); a schema
 * that validates asynchronously is refused with a clear error.
 *
 * @example
 * const movie = validateSync(MovieSchema, item, "stream item");
 */
export function validateSync<T>(
  schema: StandardSchemaV1<unknown, T>,
  value: unknown,
  what: string,
): T {
  const result = schema["~standard"].validate(value);
  if (result instanceof Promise) {
    throw new TypeError(
      `${what}: the schema validates asynchronously, which a stream item cannot wait for`,
    );
  }
  if (result.issues) throw new SchemaError(what, result.issues);
  return result.value;
}
