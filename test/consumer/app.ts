// A TypeScript consumer of the packed package, type-checked by `tsc --noEmit` in a project made with
// `tsc --init` (skipLibCheck off): every entry's declarations must be accepted as they are.
import { App, HTTPError, JSONResponse, NDJSONResponse, SSEResponse, sse } from "sluice";
import { client, ProblemError } from "sluice/client";
import { compress } from "sluice/compress";
import { FileResponse, serve, serveStatic } from "sluice/node";
import { openAPIDocument } from "sluice/openapi";
import { TemplateResponse } from "sluice/templates";
import { testClient } from "sluice/testing";

const app = new App();
app.use(compress());
app.get("/hello/:name", (req) => ({ hello: req.params.name }));
app.get("/rows", () => new NDJSONResponse([{ i: 0 }, { i: 1 }]));
app.get("/ticks", () => new SSEResponse([sse({ id: 0, event: "tick", data: { i: 0 } })]));
app.post("/items", async (req) => {
  const item = await req.json<{ name?: unknown }>();
  if (typeof item.name !== "string") throw new HTTPError(422, "name is required");
  return new JSONResponse({ name: item.name }, { status: 201 });
});
app.get("/file", () => new FileResponse("package.json"));
app.get("/page", () => new TemplateResponse("page", { title: "hi" }));
app.mount("/static", serveStatic("."));

const doc: Record<string, unknown> = openAPIDocument(app, { info: { title: "t", version: "1" } });
const server = await serve(app, { port: 0 });
const tester = testClient(app);
const res: Response = await tester.fetch("/hello/ada");
// @ts-expect-error: params are typed from the path
app.get("/typed/:id", (req) => req.params.nope);

// The typed client, from a chained app's type.
const typed = new App().get("/movies/:id", (req) => ({ id: req.params.id }));
const api = client<typeof typed>("http://localhost", { fetch: typed.fetch });
const movie: unknown = await api.get("/movies/:id", { params: { id: 1 } });
// @ts-expect-error: the path parameter is required
await api.get("/movies/:id");
const isProblem: boolean = ProblemError.is(movie);

export { doc, isProblem, res, server };
