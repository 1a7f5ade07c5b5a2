import { BufferedResponse, SluiceResponse } from "../responses/base.ts";
import { EmptyResponse, JSONResponse, TextResponse } from "../responses/buffered.ts";
import { WebResponse } from "../responses/web.ts";

/**
 * True for objects a handler may return to get a JSON body: plain objects (also with a null
 * prototype) and arrays. Class instances (a Map, a Date, a stream) are not guessed at.
 */
function isPlainJSON(value: object): boolean {
  if (Array.isArray(value)) return true;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "function") return `a function${value.name ? ` (${value.name})` : ""}`;
  if (typeof value === "object")
    return `an instance of ${value.constructor?.name ?? "an unknown class"}`;
  return `a ${typeof value}`;
}

/**
 * Turns what a handler returned into a response: a Sluice response as is; a web Response passed
 * through; a plain object or array as JSON; a string as text/plain; bytes as
 * application/octet-stream; `undefined` as 204. Anything else is a TypeError that names it, never a
 * silently stringified body.
 *
 * @example
 * coerce({ hello: "world" }); // a JSONResponse
 */
export function coerce(value: unknown): SluiceResponse {
  if (value instanceof SluiceResponse) return value;
  switch (typeof value) {
    case "string":
      return new TextResponse(value);
    case "undefined":
      return new EmptyResponse();
    case "object":
      if (value === null) break;
      if (isPlainJSON(value)) return new JSONResponse(value);
      if (value instanceof Uint8Array) {
        return new BufferedResponse(value, { mediaType: "application/octet-stream" });
      }
      if (value instanceof globalThis.Response) return new WebResponse(value);
      // A response made by another copy of Sluice (a duplicate install) still works.
      if (typeof (value as SluiceResponse).body === "function" && "teardowns" in value) {
        return value as SluiceResponse;
      }
      break;
  }
  throw new TypeError(
    `a handler returned ${describe(value)}, which Sluice cannot send: return a plain object or array (JSON), a string, a Uint8Array, undefined (204) or a response such as new JSONResponse(...)`,
  );
}
