/**
 * Type-level guarantees of the foundation (issue 2). The checks live in functions that never run:
 * `tsc --noEmit` fails if a `@ts-expect-error` line stops being an error, so loosened types show
 * up in `npm test`.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HTTPError } from "../src/http/errors.ts";
import { App, type PathParams } from "../src/index.ts";
import {
  EmptyResponse,
  HTMLResponse,
  JSONResponse,
  RedirectResponse,
  TextResponse,
} from "../src/responses/buffered.ts";

type Equal<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<T extends true>(): T | undefined {
  return undefined;
}

describe("types", () => {
  it("refuse a body on a status that cannot carry one", () => {
    const check = () => [
      // @ts-expect-error 204 has no content (RFC 9110 §15.3.5)
      new JSONResponse({ a: 1 }, { status: 204 }),
      // @ts-expect-error 304 has no content
      new TextResponse("x", { status: 304 }),
      // @ts-expect-error 205 has no content
      new HTMLResponse("<p>", { status: 205 }),
      // @ts-expect-error an EmptyResponse is for 204, 205 and 304, not 200
      new EmptyResponse({ status: 200 }),
      new EmptyResponse({ status: 304 }),
      new JSONResponse({ a: 1 }, { status: 201 }),
    ];
    assert.equal(typeof check, "function");
  });

  it("refuse a status that is not a redirect on a RedirectResponse", () => {
    const check = () => [
      // @ts-expect-error 200 is not a redirect status
      new RedirectResponse("/x", 200),
      new RedirectResponse("/x", 308),
    ];
    assert.equal(typeof check, "function");
  });

  it("refuse an HTTPError that is not an error status", () => {
    const check = () => [
      // @ts-expect-error 200 is not an error
      new HTTPError(200),
      // @ts-expect-error 302 is not an error
      new HTTPError(302, "moved"),
      new HTTPError(404, "gone"),
    ];
    assert.equal(typeof check, "function");
  });

  it("give a handler the params its path declares, and no others", () => {
    const app = new App();
    app.get("/a/:id/b/:slug", (req) => {
      expectType<Equal<typeof req.params.id, string>>();
      expectType<Equal<typeof req.params.slug, string>>();
      // @ts-expect-error the path has no :nope
      return req.params.nope;
    });
    app.get("/files/*", (req) => {
      expectType<Equal<(typeof req.params)["*"], string>>();
      return req.params["*"];
    });
    app.post("/a/:id", { bodyLimit: 10 }, (req) => {
      // @ts-expect-error the path has no :other
      return req.params.other;
    });
    expectType<Equal<keyof PathParams<"/x/:a/y/:b">, "a" | "b">>();
    expectType<Equal<keyof PathParams<"/static">, never>>();
    assert.ok(app);
  });

  it("refuse a handler return value that Sluice cannot send", () => {
    const app = new App();
    const check = () => {
      // @ts-expect-error a number is not a response
      app.get("/n", () => 42);
      // @ts-expect-error a function is not a response
      app.get("/f", () => () => "x");
      // @ts-expect-error a symbol is not a response
      app.get("/s", () => Symbol("x"));
      app.get("/ok", () => ({ fine: true }));
    };
    assert.equal(typeof check, "function");
  });
});
