// A JavaScript consumer of the packed package, run by plain Node (no flags, no loaders): the
// README's quick tour, served on node:http, then asked over a real socket.
import { App, HTTPError, JSONResponse } from "sluice";
import { client } from "sluice/client";
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
  // The typed client, as plain JavaScript: a route's answer, and a problem as a ProblemError.
  const api = client(server.url);
  const viaClient = await api.get("/hello/:name", { params: { name: "a da" } });
  if (viaClient.hello !== "a da")
    throw new Error(`client GET /hello/:name: ${JSON.stringify(viaClient)}`);
  const refused = await api.post("/items", { body: null }).catch((e) => e);
  if (refused?.status !== 422 || refused.problem?.detail !== "name is required")
    throw new Error(`client POST /items null: ${refused}`);
  console.log(`ok: node ${process.version}`);
} finally {
  await server.close();
}
