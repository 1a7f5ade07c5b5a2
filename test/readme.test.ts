// The README's quick tour works as written for a user who copies it (issue 11, item 11): its code
// block is taken from README.md as it stands, its imports pointed at this checkout, its port at a
// free one, and it is run and asked every route it declares, over its socket and through app.fetch.

import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import type { App } from "../src/index.ts";
import type { RunningServer } from "../src/node/index.ts";

/** The first ```ts block after a heading. */
function codeAfter(markdown: string, heading: string): string {
  const at = markdown.indexOf(`\n${heading}\n`);
  assert.notEqual(at, -1, `README has no ${heading}`);
  const m = /```ts\n([\s\S]*?)```/.exec(markdown.slice(at));
  assert.ok(m, `no ts block after ${heading}`);
  return m[1]!;
}

describe("the README's quick tour", () => {
  let dir: string;
  let app: App;
  let server: RunningServer;

  before(async () => {
    const readme = await readFile(new URL("../README.md", import.meta.url), "utf8");
    let code = codeAfter(readme, "## Quick tour");
    const src = (path: string) => pathToFileURL(join(import.meta.dirname, "..", path)).href;
    const imports: Record<string, string> = {
      '"sluice"': `"${src("src/index.ts")}"`,
      '"sluice/node"': `"${src("src/node/index.ts")}"`,
      '"zod"': `"${import.meta.resolve("zod")}"`,
    };
    for (const [from, to] of Object.entries(imports)) {
      assert.ok(code.includes(`from ${from}`), `the tour imports ${from}`);
      code = code.replaceAll(`from ${from}`, `from ${to}`);
    }
    assert.match(code, /port: 3000/);
    code = code.replace("port: 3000", 'port: 0, host: "127.0.0.1"');
    code += "\nexport { app, server };\n";
    dir = await mkdtemp(join(tmpdir(), "sluice-readme-"));
    const file = join(dir, "tour.ts");
    await writeFile(file, code);
    ({ app, server } = (await import(pathToFileURL(file).href)) as {
      app: App;
      server: RunningServer;
    });
  });
  after(async () => {
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  for (const mode of ["memory", "socket"] as const) {
    const send = (path: string, init?: RequestInit) =>
      mode === "memory"
        ? app.fetch(new Request(`http://localhost${path}`, init))
        : fetch(`${server.url}${path}`, init);
    const post = (body: string, type = "application/json") =>
      send("/items", { method: "POST", headers: { "content-type": type }, body });

    describe(mode, () => {
      it("answers the GET routes", async () => {
        assert.deepEqual(await (await send("/hello/ada")).json(), { hello: "ada" });
        assert.equal(await (await send("/text")).text(), "hello, world");
        assert.equal((await send("/nothing")).status, 204);
        assert.deepEqual(await (await send("/items/1")).json(), { id: 1, name: "tea", qty: 2 });
        const missing = await send("/items/2");
        assert.equal(missing.status, 404);
        assert.equal(missing.headers.get("content-type"), "application/problem+json");
      });

      it("creates an item from a valid body", async () => {
        const res = await post('{"name":"tea","qty":2}');
        assert.equal(res.status, 201);
        assert.deepEqual(await res.json(), { id: 1, name: "tea", qty: 2 });
      });

      it("answers every bad body with a 4xx problem, never a 500", async () => {
        const cases: [string, string, number][] = [
          ["null", "application/json", 422],
          ["{}", "application/json", 422],
          ['{"name":"tea","qty":"2"}', "application/json", 422],
          ["[1,2]", "application/json", 422],
          ["{nope", "application/json", 400],
          ['{"name":"tea","qty":2}', "text/plain", 415],
          [JSON.stringify({ name: "x".repeat(70_000), qty: 1 }), "application/json", 413],
        ];
        for (const [body, type, status] of cases) {
          const res = await post(body, type);
          assert.equal(res.status, status, `${body.slice(0, 30)} as ${type}`);
          assert.equal(res.headers.get("content-type"), "application/problem+json");
        }
      });
    });
  }
});
