// A JavaScript consumer of the packed package, run by plain Node (no flags, no loaders): the
// README's quick tour, served on node:http, then asked over a real socket.
import { App, HTTPError, JSONResponse } from "sluice";
import { serve } from "sluice/node";

const app = new App();
app.get("/hello/:name", (req) => ({ hello: req.params.name }));
app.post("/items", async (req) => {
  const item = await req.json();
  if (typeof item?.name !== "string") throw new HTTPError(422, "name is required");
  return new JSONResponse(item, { status: 201 });
});

const server = await serve(app, { port: 0 });
try {
  const hello = await fetch(`${server.url}/hello/ada`);
  const body = await hello.json();
  if (hello.status !== 200 || body.hello !== "ada")
    throw new Error(`GET /hello/ada: ${hello.status}`);
  const bad = await fetch(`${server.url}/items`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: "null",
  });
  if (bad.status !== 422) throw new Error(`POST /items null: ${bad.status}`);
  console.log(`ok: node ${process.version}`);
} finally {
  await server.close();
}
