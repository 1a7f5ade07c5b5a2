// The public surface of "sluice/openapi".
export {
  type JSONSchema,
  type OpenAPIOptions,
  openAPIDocument,
  type SchemaConverter,
  toJSONSchema,
} from "./document.ts";
export { OpenAPIResponse, type ServeOpenAPIOptions, serveOpenAPI } from "./serve.ts";
