import type { SluiceRequest } from "../http/request.ts";
import type { SluiceResponse } from "../responses/base.ts";
import { coerce } from "./coerce.ts";
import type { Middleware } from "./routes.ts";

/** The rest of the chain, as a layer's `next()` runs it. */
export type Inner = (req: SluiceRequest<any>) => Promise<SluiceResponse>;

/** Turns what the rest of the chain threw into its problem response (reported when unexpected). */
export type ErrorResponder = (error: unknown, req: SluiceRequest<any>) => SluiceResponse;

/**
 * Runs middleware in order around `inner`, each layer's `next()` calling the following one. When
 * what follows throws, `next()` resolves to the problem response the error renders as, so
 * after-hooks (security headers, logging) see errors too.
 *
 * @example
 * const res = await runLayers([timing, auth], req, route, (err, req) => app.errorResponse(err, req));
 */
export function runLayers(
  layers: readonly Middleware[],
  req: SluiceRequest<any>,
  inner: Inner,
  onError: ErrorResponder,
): Promise<SluiceResponse> {
  const call = (i: number): Promise<SluiceResponse> =>
    i === layers.length ? inner(req) : callLayer(layers[i]!, req, () => call(i + 1), onError);
  return call(0);
}

async function callLayer(
  mw: Middleware,
  req: SluiceRequest<any>,
  next: () => Promise<SluiceResponse>,
  onError: ErrorResponder,
): Promise<SluiceResponse> {
  let called = false;
  let inner: SluiceResponse | undefined;
  const result = await mw(req, async () => {
    if (called) throw new Error("middleware called next() twice");
    called = true;
    inner = await next().catch((err) => onError(err, req));
    return inner;
  });
  const res = coerce(result);
  // A response of the middleware's own (a file for an SPA fallback, say) is prepared like a
  // handler's; the one next() gave back already was.
  return res !== inner && res.prepare ? res.prepare(req) : res;
}
