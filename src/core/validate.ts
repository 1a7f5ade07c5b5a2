import type { SluiceRequest } from "../http/request.ts";
import { type AnySchema, declSchema, ITEM_ID_HEADER, validateRequestPart } from "../http/schema.ts";
import { APIResponse } from "../responses/api.ts";
import type { SluiceResponse } from "../responses/base.ts";
import { JSONResponse } from "../responses/buffered.ts";
import type { RouteOptions } from "./routes.ts";

const FORM_BODY = /^(?:application\/x-www-form-urlencoded|multipart\/form-data)$/;

/**
 * Reads and validates the parts of a request that the route declares schemas for; a failure is
 * the 422 HTTPError listing each issue.
 *
 * @example
 * await validateRequest(req, { query: z.object({ q: z.string() }) });
 */
export async function validateRequest(req: SluiceRequest<any>, o: RouteOptions): Promise<void> {
  if (o.params) req.params = await validateRequestPart(o.params, req.params, "params");
  if (o.query) req.validated.query = await validateRequestPart(o.query, req.rawQuery(), "query");
  if (o.headers)
    req.validated.headers = await validateRequestPart(o.headers, req.headers, "headers");
  if (o.body) {
    const raw = FORM_BODY.test(req.contentType ?? "")
      ? Object.fromEntries(await req.form())
      : await req.json();
    req.body = await validateRequestPart(o.body, raw, "body");
  }
}

/**
 * Holds a response to its route's declarations: a JSON body is validated (and serialised through
 * the schema, so transforms apply) against the schema of its status; a declared stream gets its
 * item schema, so each item is checked as it is sent; a resumable NDJSON stream names its id field.
 *
 * @example
 * res = await checkResponse(res, { 200: Item });
 */
export async function checkResponse(
  res: SluiceResponse,
  responses: NonNullable<RouteOptions["responses"]>,
): Promise<SluiceResponse> {
  const decl = responses[res.status];
  if (decl === undefined || decl === null) return res;
  if ("stream" in decl) {
    const r = res as { schema?: AnySchema };
    if (decl.validate && "schema" in res && r.schema === undefined) r.schema = decl.item;
    if (
      decl.stream === "ndjson" &&
      decl.id !== undefined &&
      "format" in res &&
      res.format === "ndjson"
    )
      res.setHeader(ITEM_ID_HEADER, decl.id);
    return res;
  }
  const schema = declSchema(decl);
  if (!schema) return res;
  if (res instanceof APIResponse) {
    res.schema ??= schema;
    return res.prepare();
  }
  if (res instanceof JSONResponse) return APIResponse.from(res, schema).prepare();
  return res;
}
