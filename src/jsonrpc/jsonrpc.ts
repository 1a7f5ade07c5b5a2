import type { AppPort } from "../core/port.ts";
import type { SluiceRequest } from "../http/request.ts";
import type { AnySchema, Output } from "../http/schema.ts";
import { formatPath } from "../internal/standard-schema.ts";
import type { SluiceResponse } from "../responses/base.ts";
import { EmptyResponse, JSONResponse } from "../responses/buffered.ts";

/** A JSON-RPC 2.0 request id. */
export type JSONRPCId = string | number | null;

/** The standard error codes of JSON-RPC 2.0 (§5.1). */
export const JSONRPC_ERRORS = {
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL_ERROR: -32603,
} as const;

/** The success envelope. */
export interface JSONRPCSuccess<T = unknown> {
  jsonrpc: "2.0";
  result: T;
  id: JSONRPCId;
}

/** The error envelope. */
export interface JSONRPCFailure {
  jsonrpc: "2.0";
  error: { code: number; message: string; data?: unknown };
  id: JSONRPCId;
}

/**
 * A successful JSON-RPC 2.0 call: HTTP 200 with `{"jsonrpc":"2.0","result":...,"id":...}`.
 *
 * @example
 * return new JSONRPCResponse({ ok: true }, 1);
 */
export class JSONRPCResponse<T = unknown> extends JSONResponse<JSONRPCSuccess<T>> {
  constructor(result: T, id: JSONRPCId) {
    super({ jsonrpc: "2.0", result, id });
  }
}

/**
 * A failed JSON-RPC 2.0 call: HTTP 200 (the error travels in the body) with
 * `{"jsonrpc":"2.0","error":{code,message,data?},"id":...}`.
 *
 * @example
 * return new JSONRPCErrorResponse(JSONRPC_ERRORS.METHOD_NOT_FOUND, "Method not found", 1);
 */
export class JSONRPCErrorResponse extends JSONResponse<JSONRPCFailure> {
  constructor(code: number, message: string, id: JSONRPCId, data?: unknown) {
    super({
      jsonrpc: "2.0",
      error: data === undefined ? { code, message } : { code, message, data },
      id,
    });
  }
}

/**
 * Thrown by a method to answer with a JSON-RPC error of its own (code, message, data).
 *
 * @example
 * throw new JSONRPCError(-32001, "insufficient funds", { balance: 3 });
 */
export class JSONRPCError extends Error {
  readonly code: number;
  readonly data: unknown;
  constructor(code: number, message: string, data?: unknown) {
    super(message);
    this.name = "JSONRPCError";
    this.code = code;
    this.data = data;
  }
}

type MethodFn = (params: any, req: SluiceRequest<any>) => unknown;

function envelopeError(
  code: number,
  message: string,
  id: JSONRPCId,
  data?: unknown,
): JSONRPCFailure {
  return {
    jsonrpc: "2.0",
    error: data === undefined ? { code, message } : { code, message, data },
    id,
  };
}

function validId(id: unknown): id is JSONRPCId {
  return id === null || typeof id === "string" || (typeof id === "number" && Number.isFinite(id));
}

/**
 * A small JSON-RPC 2.0 dispatcher: methods with typed params (any Standard Schema validator),
 * single calls and batches, notifications (no reply), and the standard errors — parse error,
 * invalid request, unknown method, invalid params, internal error (the cause goes to the error
 * hook, not the client).
 *
 * @example
 * const rpc = new JSONRPCRouter()
 *   .method("add", { params: z.object({ a: z.number(), b: z.number() }) }, ({ a, b }) => a + b);
 * app.post("/rpc", rpc.handler(app));
 */
export class JSONRPCRouter {
  readonly #methods = new Map<string, { params?: AnySchema; fn: MethodFn }>();

  /**
   * Adds a method. With a params schema, params are validated (a failure is -32602 with the issues
   * in `data`) and typed.
   *
   * @example
   * rpc.method("echo", (params) => params);
   */
  method(name: string, fn: (params: unknown, req: SluiceRequest<any>) => unknown): this;
  method<S extends AnySchema>(
    name: string,
    options: { params: S },
    fn: (params: Output<S>, req: SluiceRequest<any>) => unknown,
  ): this;
  method(name: string, a: MethodFn | { params?: AnySchema }, b?: MethodFn): this {
    const fn = typeof a === "function" ? a : b!;
    this.#methods.set(name, { params: typeof a === "function" ? undefined : a.params, fn });
    return this;
  }

  /**
   * The route handler that answers JSON-RPC over HTTP POST. Pass the app so internal errors reach
   * its error hook.
   *
   * @example
   * app.post("/rpc", rpc.handler(app));
   */
  handler(app?: Pick<AppPort, "report">): (req: SluiceRequest<any>) => Promise<SluiceResponse> {
    return async (req) => {
      let body: unknown;
      try {
        body = JSON.parse(await req.text());
      } catch (err) {
        if ((err as { status?: number }).status === 413) throw err;
        return new JSONResponse(envelopeError(JSONRPC_ERRORS.PARSE_ERROR, "Parse error", null));
      }
      if (Array.isArray(body)) {
        if (body.length === 0) {
          return new JSONResponse(
            envelopeError(JSONRPC_ERRORS.INVALID_REQUEST, "Invalid Request", null),
          );
        }
        const replies = (await Promise.all(body.map((call) => this.#call(call, req, app)))).filter(
          (r): r is JSONRPCSuccess | JSONRPCFailure => r !== undefined,
        );
        // A batch of notifications only gets no reply at all (§6).
        return replies.length === 0 ? new EmptyResponse() : new JSONResponse(replies);
      }
      const reply = await this.#call(body, req, app);
      return reply === undefined ? new EmptyResponse() : new JSONResponse(reply);
    };
  }

  async #call(
    call: unknown,
    req: SluiceRequest<any>,
    app?: Pick<AppPort, "report">,
  ): Promise<JSONRPCSuccess | JSONRPCFailure | undefined> {
    if (typeof call !== "object" || call === null || Array.isArray(call)) {
      return envelopeError(JSONRPC_ERRORS.INVALID_REQUEST, "Invalid Request", null);
    }
    const c = call as Record<string, unknown>;
    const notification = !("id" in c);
    const id = validId(c.id) ? c.id : null;
    const params = c.params;
    if (
      c.jsonrpc !== "2.0" ||
      typeof c.method !== "string" ||
      (!notification && !validId(c.id)) ||
      (params !== undefined && (typeof params !== "object" || params === null))
    ) {
      return envelopeError(JSONRPC_ERRORS.INVALID_REQUEST, "Invalid Request", id);
    }
    const reply = (r: JSONRPCSuccess | JSONRPCFailure) => (notification ? undefined : r);
    const method = this.#methods.get(c.method);
    if (!method)
      return reply(envelopeError(JSONRPC_ERRORS.METHOD_NOT_FOUND, "Method not found", id));
    let value = params;
    if (method.params) {
      const result = await method.params["~standard"].validate(params);
      if (result.issues) {
        const issues = result.issues.map((i) => ({ path: formatPath(i.path), message: i.message }));
        return reply(envelopeError(JSONRPC_ERRORS.INVALID_PARAMS, "Invalid params", id, issues));
      }
      value = result.value;
    }
    try {
      const result = await method.fn(value, req);
      return reply({ jsonrpc: "2.0", result: result === undefined ? null : result, id });
    } catch (err) {
      if (err instanceof JSONRPCError)
        return reply(envelopeError(err.code, err.message, id, err.data));
      app?.report(err, { request: req, phase: "handler" });
      return reply(envelopeError(JSONRPC_ERRORS.INTERNAL_ERROR, "Internal error", id));
    }
  }
}
