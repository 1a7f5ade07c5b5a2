import { type Body, SluiceResponse } from "./base.ts";

/**
 * A web Response returned by a handler, passed through: its status and headers become this
 * response's (so middleware can change them), and its body is sent through the streaming writer.
 *
 * @example
 * const res = new WebResponse(new Response("hi", { status: 201 })); // res.status === 201
 */
export class WebResponse extends SluiceResponse {
  readonly response: globalThis.Response;
  constructor(response: globalThis.Response) {
    super({ status: response.status });
    this.response = response;
    for (const [k, v] of response.headers) {
      if (k === "set-cookie") continue;
      this.headers[k] = v;
    }
    const cookies = response.headers.getSetCookie();
    if (cookies.length) this.headers["set-cookie"] = cookies;
  }
  body(): Body {
    return { kind: "web", response: this.response };
  }
}
