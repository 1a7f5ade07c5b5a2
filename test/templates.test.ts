import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createContractApp } from "../examples/contract/app.ts";
import { createShowcaseApp } from "../examples/showcase/app.ts";
import { App, type ErrorContext, escapeHTML } from "../src/index.ts";
import * as templatesExports from "../src/templates/index.ts";
import {
  liquidEngine,
  type TemplateEngine,
  TemplateError,
  TemplateResponse,
} from "../src/templates/index.ts";
import { type TestClient, testClient } from "../src/testing/index.ts";
import { MODES } from "./helpers/app.ts";
import { until, within } from "./helpers/wait.ts";

/** Every wait in this file is bounded. */
const BOUND_MS = 5_000;

let root: string;
let dir: string;

before(async () => {
  root = await mkdtemp(join(tmpdir(), "sluice-templates-"));
  dir = join(root, "templates");
  await mkdir(dir);
  await writeFile(join(root, "secret.liquid"), "TOP SECRET");
  await writeFile(join(dir, "hello.liquid"), "<h1>Hello, {{ name }}!</h1>{{ trusted | raw }}");
  await writeFile(join(dir, "snow.liquid"), "<p>☃ {{ name }}</p>");
  await writeFile(
    join(dir, "page.liquid"),
    "<!doctype html><html><head><title>{{ title }}</title></head><body><p>{{ slow }}</p></body></html>",
  );
  await writeFile(join(dir, "vue.liquid"), "<div id=app>{{ message }}</div><h1>[[ name ]]</h1>");
  await writeFile(join(dir, "broken.liquid"), "<p>{% include 'nowhere' %}</p>");
  await writeFile(join(dir, "unclosed.liquid"), "<p>{% if x %}never closed</p>");
});
after(() => rm(root, { recursive: true, force: true }));

interface Heard {
  error: unknown;
  phase: ErrorContext["phase"];
}

/** An app rendering from the test directory, whose error hook records what it hears. */
function makeApp(engine: TemplateEngine = liquidEngine({ dir })): { app: App; heard: Heard[] } {
  const heard: Heard[] = [];
  const app = new App().templates(engine);
  app.onError((error, { phase }) => heard.push({ error, phase }));
  return { app, heard };
}

/** The problem body of a 500, checked to say nothing about templates, files or causes. */
async function assertBland500(res: Response, ...secrets: string[]): Promise<void> {
  assert.equal(res.status, 500);
  assert.equal(res.headers.get("content-type"), "application/problem+json");
  const body = await res.text();
  for (const s of ["liquid", "template", "ENOENT", root, ...secrets]) {
    assert.ok(!body.includes(s), `the 500 body leaks ${JSON.stringify(s)}: ${body}`);
  }
}

function heardTemplateError(heard: Heard[], template: string, message: RegExp): void {
  const found = heard.find((h) => h.error instanceof TemplateError);
  assert.ok(found, `the error hook heard no TemplateError (heard ${heard.length})`);
  assert.equal((found.error as TemplateError).template, template);
  assert.match((found.error as Error).message, message);
}

describe("sluice/templates exports", () => {
  it("lists exactly its public names", () => {
    assert.deepEqual(Object.keys(templatesExports).sort(), [
      "TemplateError",
      "TemplateResponse",
      "checkTemplateName",
      "liquidEngine",
    ]);
  });
});

for (const mode of MODES) {
  describe(`TemplateResponse (${mode})`, () => {
    const clients: TestClient[] = [];
    const client = (app: App): TestClient => {
      const c = testClient(app, mode);
      clients.push(c);
      return c;
    };
    after(() => Promise.all(clients.map((c) => c.close())));

    it("escapes <script> from the context and leaves a raw value as it is", async () => {
      const { app } = makeApp();
      app.get(
        "/",
        (req) => new TemplateResponse("hello", { name: req.query.name, trusted: "<em>ok</em>" }),
      );
      const res = await client(app).fetch(`/?name=${encodeURIComponent("<script>x</script>")}`);
      assert.equal(res.status, 200);
      assert.equal(await res.text(), "<h1>Hello, &lt;script&gt;x&lt;/script&gt;!</h1><em>ok</em>");
    });

    it("sends a buffered page as UTF-8 text/html with its Content-Length", async () => {
      const { app } = makeApp();
      app.get("/", () => new TemplateResponse("snow", { name: "é" }, { status: 201 }));
      const res = await client(app).fetch("/");
      assert.equal(res.status, 201);
      assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8");
      const body = await res.text();
      assert.equal(body, "<p>☃ é</p>");
      assert.equal(res.headers.get("content-length"), String(Buffer.byteLength(body)));
    });

    it("answers HEAD with the headers of the rendered page and no body", async () => {
      const { app } = makeApp();
      app.get("/", () => new TemplateResponse("snow", { name: "x" }));
      const res = await client(app).fetch("/", { method: "HEAD" });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-length"), String(Buffer.byteLength("<p>☃ x</p>")));
      assert.equal(await res.text(), "");
    });

    it("renders [[ ]] with custom delimiters while {{ }} stays literal for the front end", async () => {
      const { app } = makeApp(
        liquidEngine({ dir, delimiters: { tag: ["[%", "%]"], output: ["[[", "]]"] } }),
      );
      app.get("/", () => new TemplateResponse("vue", { name: "<Vue>", message: "server" }));
      const res = await client(app).fetch("/");
      assert.equal(await res.text(), "<div id=app>{{ message }}</div><h1>&lt;Vue&gt;</h1>");
    });

    it("streams the head of the page before a slow promise in the context resolves", async () => {
      const { app } = makeApp();
      const slow = Promise.withResolvers<string>();
      let resolved = false;
      app.get(
        "/",
        () => new TemplateResponse("page", { title: "Live", slow: slow.promise }, { stream: true }),
      );
      const res = await within(client(app).fetch("/"), BOUND_MS, "the response head");
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-length"), null);
      assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8");
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      let seen = "";
      while (!seen.includes("</head>")) {
        const r = await within(reader.read(), BOUND_MS, "the page head");
        assert.equal(r.done, false, "the stream ended before the head");
        seen += decoder.decode(r.value, { stream: true });
      }
      assert.equal(resolved, false);
      assert.ok(seen.startsWith("<!doctype html><html><head><title>Live</title></head>"));
      resolved = true;
      slow.resolve("<b>late</b>");
      for (let r = await within(reader.read(), BOUND_MS, "the rest"); !r.done; ) {
        seen += decoder.decode(r.value, { stream: true });
        r = await within(reader.read(), BOUND_MS, "the rest");
      }
      assert.equal(
        seen,
        "<!doctype html><html><head><title>Live</title></head><body><p>&lt;b&gt;late&lt;/b&gt;</p></body></html>",
      );
    });

    it("answers 500 for a missing template, telling only the error hook", async () => {
      const { app, heard } = makeApp();
      app.get("/", () => new TemplateResponse("missing-page", {}));
      await assertBland500(await client(app).fetch("/"), "missing-page");
      heardTemplateError(heard, "missing-page", /^template "missing-page": .*ENOENT/);
      assert.equal(heard[0]!.phase, "handler");
    });

    it("answers 500 for a missing template of a streamed page too", async () => {
      const { app, heard } = makeApp();
      app.get("/", () => new TemplateResponse("missing-page", {}, { stream: true }));
      await assertBland500(await client(app).fetch("/"), "missing-page");
      heardTemplateError(heard, "missing-page", /ENOENT/);
    });

    it("answers 500 for a render error (a missing include), telling only the error hook", async () => {
      const { app, heard } = makeApp();
      app.get("/", () => new TemplateResponse("broken", {}));
      await assertBland500(await client(app).fetch("/"), "nowhere", "broken");
      heardTemplateError(heard, "broken", /nowhere/);
    });

    it("answers 500 for a template that does not parse", async () => {
      const { app, heard } = makeApp();
      app.get("/", () => new TemplateResponse("unclosed", {}, { stream: true }));
      await assertBland500(await client(app).fetch("/"), "unclosed", "never closed");
      heardTemplateError(heard, "unclosed", /not closed|unclosed/i);
    });

    it("answers 500 when a promise in the context rejects before the first byte", async () => {
      const { app, heard } = makeApp();
      app.get("/", () => {
        const failing = Promise.reject(new Error("database password is hunter2"));
        failing.catch(() => {});
        return new TemplateResponse("hello", { name: failing });
      });
      await assertBland500(await client(app).fetch("/"), "hunter2");
      heardTemplateError(heard, "hello", /hunter2/);
    });

    it("truncates a streamed page whose render fails after the first byte", async () => {
      const { app, heard } = makeApp();
      const slow = Promise.withResolvers<string>();
      app.get(
        "/",
        () => new TemplateResponse("page", { title: "T", slow: slow.promise }, { stream: true }),
      );
      const res = await within(client(app).fetch("/"), BOUND_MS, "the response head");
      assert.equal(res.status, 200);
      const reader = res.body!.getReader();
      const first = await within(reader.read(), BOUND_MS, "the first chunk");
      assert.equal(first.done, false);
      slow.reject(new Error("the slow part failed"));
      await assert.rejects(
        within(
          (async () => {
            for (;;) if ((await reader.read()).done) return;
          })(),
          BOUND_MS,
          "the truncated end",
        ),
        "the body must end in an error, not a clean end",
      );
      await until(() => heard.length > 0, BOUND_MS, "the error hook");
      heardTemplateError(heard, "page", /the slow part failed/);
      assert.equal(heard[0]!.phase, "stream");
    });

    it("refuses template names that leave the directory, and reads nothing", async () => {
      const { app, heard } = makeApp();
      app.get("/page", (req) => new TemplateResponse(req.query.name ?? "", {}));
      const c = client(app);
      for (const name of ["../secret", join(root, "secret.liquid"), "/etc/passwd", "hello\0x"]) {
        heard.length = 0;
        const res = await c.fetch(`/page?name=${encodeURIComponent(name)}`);
        await assertBland500(res, "TOP SECRET", "passwd");
        heardTemplateError(heard, name, /absolute|`\.\.`|control/);
      }
    });

    it("keeps context keys from changing how the page renders", async () => {
      const { app } = makeApp();
      const context = JSON.parse(
        `{"__proto__": {"outputEscape": false, "root": "/"}, "settings": {"views": "/"},
          "layout": "../secret", "outputEscape": false, "root": "/", "cache": false,
          "extname": ".txt", "name": "<i>n</i>", "trusted": ""}`,
      );
      app.get("/", () => new TemplateResponse("hello", context));
      const res = await client(app).fetch("/");
      assert.equal(res.status, 200);
      assert.equal(await res.text(), "<h1>Hello, &lt;i&gt;n&lt;/i&gt;!</h1>");
    });

    it("serves cached templates by default and reloads changed files in development mode", async () => {
      const file = join(dir, `reload-${mode}.liquid`);
      await writeFile(file, "version one");
      const cached = makeApp(liquidEngine({ dir })).app;
      const dev = makeApp(liquidEngine({ dir, cache: false })).app;
      for (const app of [cached, dev]) app.get("/", () => new TemplateResponse(`reload-${mode}`));
      const [c, d] = [client(cached), client(dev)];
      assert.equal(await (await c.fetch("/")).text(), "version one");
      assert.equal(await (await d.fetch("/")).text(), "version one");
      await writeFile(file, "version two");
      assert.equal(await (await c.fetch("/")).text(), "version one");
      assert.equal(await (await d.fetch("/")).text(), "version two");
    });

    it("renders a page that middleware returns itself", async () => {
      const { app } = makeApp();
      app.use(async (req, next) =>
        req.path === "/maintenance" ? new TemplateResponse("snow", { name: "<down>" }) : next(),
      );
      const res = await client(app).fetch("/maintenance");
      assert.equal(res.status, 200);
      assert.equal(await res.text(), "<p>☃ &lt;down&gt;</p>");
    });

    it("answers 500 when the app has no template engine", async () => {
      const heard: Heard[] = [];
      const app = new App().onError((error, { phase }) => heard.push({ error, phase }));
      app.get("/", () => new TemplateResponse("hello", {}));
      await assertBland500(await client(app).fetch("/"));
      heardTemplateError(heard, "hello", /no template engine/);
    });

    it("lets a mounted app use its parent's engine, or its own", async () => {
      const { app } = makeApp();
      const inherits = new App();
      inherits.get("/", () => new TemplateResponse("hello", { name: "inner" }));
      const own = new App().templates({ render: async (name) => `own engine: ${name}` });
      own.get("/", () => new TemplateResponse("hello", {}));
      app.mount("/inherits", inherits).mount("/own", own);
      const c = client(app);
      assert.equal(await (await c.fetch("/inherits")).text(), "<h1>Hello, inner!</h1>");
      assert.equal(await (await c.fetch("/own")).text(), "own engine: hello");
    });

    it("renders in full with an engine that cannot stream, even when asked to stream", async () => {
      const { app } = makeApp({ render: async (_name, ctx) => `<p>${String(await ctx.n)}</p>` });
      app.get("/", () => new TemplateResponse("any", { n: Promise.resolve(7) }, { stream: true }));
      const res = await client(app).fetch("/");
      assert.equal(res.headers.get("content-length"), "8");
      assert.equal(await res.text(), "<p>7</p>");
    });

    it("stops a streamed page when the client leaves, leaving no active stream", async () => {
      const { app, heard } = makeApp();
      const slow = Promise.withResolvers<string>();
      app.get(
        "/",
        () => new TemplateResponse("page", { title: "T", slow: slow.promise }, { stream: true }),
      );
      const res = await within(client(app).fetch("/"), BOUND_MS, "the response head");
      const reader = res.body!.getReader();
      await within(reader.read(), BOUND_MS, "the first chunk");
      await reader.cancel();
      await until(() => app.stats.streams.active === 0, BOUND_MS, "the stream's end");
      assert.equal(app.stats.streams.aborted, 1);
      assert.deepEqual(heard, [], "a client leaving is not an error");
      slow.resolve("after the client left");
    });
  });
}

for (const mode of MODES) {
  describe(`templates in the examples (${mode})`, () => {
    it("renders the contract app's /html from a template, escaped as before", async () => {
      const staticDir = join(import.meta.dirname, "../examples/contract/public");
      const app = createContractApp({ staticDir, bigFile: join(staticDir, "hello.txt") });
      const c = testClient(app, mode);
      try {
        const name = `<script>"a" & 'b'</script>`;
        const res = await c.fetch(`/html?name=${encodeURIComponent(name)}`);
        assert.equal(res.status, 200);
        assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8");
        const expected = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Hello</title></head><body><h1>Hello, ${escapeHTML(name)}!</h1></body></html>`;
        assert.equal(await res.text(), expected);
        assert.equal(res.headers.get("content-length"), String(Buffer.byteLength(expected)));
        assert.match(await (await c.fetch("/html")).text(), /<h1>Hello, world!<\/h1>/);
      } finally {
        await c.close();
      }
    });

    it("renders the showcase's landing page from a template, linking every page", async () => {
      const { app, stop } = createShowcaseApp();
      const c = testClient(app, mode);
      try {
        const res = await c.fetch("/");
        assert.equal(res.status, 200);
        const html = await res.text();
        for (const path of [
          "/hello",
          "/greet",
          "/go",
          "/oops",
          "/live",
          "/room",
          "/chat",
          "/export.ndjson",
          "/export.csv",
          "/dashboard",
        ]) {
          assert.ok(html.includes(`href="${path}`), `the landing page links ${path}`);
        }
      } finally {
        stop();
        await c.close();
      }
    });

    it("streams the showcase's dashboard, head first, with the name escaped", async () => {
      const { app, stop } = createShowcaseApp();
      const c = testClient(app, mode);
      try {
        const res = await within(
          c.fetch("/dashboard?name=%3Cscript%3E"),
          BOUND_MS,
          "the dashboard",
        );
        assert.equal(res.headers.get("content-length"), null);
        const html = await within(res.text(), BOUND_MS, "the whole dashboard");
        assert.match(html, /<title>Dashboard · Sluice<\/title>/);
        assert.match(html, /Welcome, &lt;script&gt;\./);
        assert.match(html, /<td>ticks kept<\/td>/);
        assert.ok(html.trimEnd().endsWith("</html>"));
      } finally {
        stop();
        await c.close();
      }
    });
  });
}
