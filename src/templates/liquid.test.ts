import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { TemplateError } from "./engine.ts";
import { liquidEngine } from "./liquid.ts";

let root: string;
let dir: string;

before(async () => {
  root = await mkdtemp(join(tmpdir(), "sluice-liquid-"));
  dir = join(root, "templates");
  await mkdir(join(dir, "partials"), { recursive: true });
  await writeFile(join(root, "secret.liquid"), "TOP SECRET");
  await writeFile(join(dir, "hello.liquid"), "<h1>Hello, {{ name }}!</h1>");
  await writeFile(join(dir, "raw.liquid"), "{{ trusted | raw }}|{{ untrusted }}");
  await writeFile(join(dir, "list.liquid"), "{% for x in items %}[{{ x }}]{% endfor %}{{ n }}");
  await writeFile(join(dir, "proto.liquid"), "[{{ o.constructor }}][{{ o.__proto__ }}]");
  await writeFile(join(dir, "vue.liquid"), "<p>{{ vue }}</p>[[ name ]][% if yes %]yes[% endif %]");
  await writeFile(join(dir, "page.liquid"), "{% include 'partials/head' %}<p>{{ slow }}</p>");
  await writeFile(join(dir, "partials", "head.liquid"), "<head><title>{{ title }}</title></head>");
  await writeFile(join(dir, "include.liquid"), "{% include page %}");
  await writeFile(join(dir, "shout.liquid"), "{{ word | shout }} {{ site }}");
});
after(() => rm(root, { recursive: true, force: true }));

async function text(parts: AsyncIterable<string | Uint8Array>): Promise<string> {
  let out = "";
  for await (const p of parts) out += typeof p === "string" ? p : new TextDecoder().decode(p);
  return out;
}

describe("liquidEngine", () => {
  it("renders a template by name, adding the .liquid extension", async () => {
    const engine = liquidEngine({ dir });
    assert.equal(await engine.render("hello", { name: "Ada" }, {}), "<h1>Hello, Ada!</h1>");
  });

  it("escapes output like escapeHTML, quotes included", async () => {
    const engine = liquidEngine({ dir });
    const html = await engine.render("hello", { name: `<script>"x"&'y'</script>` }, {});
    assert.equal(
      html,
      "<h1>Hello, &lt;script&gt;&quot;x&quot;&amp;&#39;y&#39;&lt;/script&gt;!</h1>",
    );
  });

  it("sends a value marked raw as it is and still escapes the others", async () => {
    const engine = liquidEngine({ dir });
    const html = await engine.render("raw", { trusted: "<b>ok</b>", untrusted: "<b>no</b>" }, {});
    assert.equal(html, "<b>ok</b>|&lt;b&gt;no&lt;/b&gt;");
  });

  it("renders nil as nothing and awaits promises in the context", async () => {
    const engine = liquidEngine({ dir });
    const html = await engine.render("list", { items: Promise.resolve(["<a>", 2]) }, {});
    assert.equal(html, "[&lt;a&gt;][2]");
  });

  it("hides prototype properties of context values", async () => {
    const engine = liquidEngine({ dir });
    assert.equal(await engine.render("proto", { o: {} }, {}), "[][]");
  });

  it("uses custom delimiters and leaves {{ }} to the front end", async () => {
    const engine = liquidEngine({
      dir,
      delimiters: { tag: ["[%", "%]"], output: ["[[", "]]"] },
    });
    const html = await engine.render("vue", { name: "<i>", yes: true, vue: "NO" }, {});
    assert.equal(html, "<p>{{ vue }}</p>&lt;i&gt;yes");
  });

  it("registers filters and globals from its options", async () => {
    const engine = liquidEngine({
      dir,
      filters: { shout: (v: string) => `${v.toUpperCase()}!` },
      globals: { site: "<Sluice>" },
    });
    assert.equal(await engine.render("shout", { word: "hi" }, {}), "HI! &lt;Sluice&gt;");
  });

  it("refuses names that leave the directory before touching the file system", async () => {
    const engine = liquidEngine({ dir });
    for (const name of ["../secret", join(root, "secret.liquid"), "hello\0"]) {
      await assert.rejects(engine.render(name, {}, {}), TemplateError);
      assert.throws(() => engine.stream!(name, {}, {}), TemplateError);
    }
  });

  it("keeps an include chosen by context data inside the directory", async () => {
    const engine = liquidEngine({ dir });
    for (const page of ["../secret", join(root, "secret.liquid")]) {
      await assert.rejects(engine.render("include", { page }, {}), (err: Error) => {
        assert.doesNotMatch(err.message, /TOP SECRET/);
        return true;
      });
    }
  });

  it("streams the part before a slow value, then the rest once it resolves", async () => {
    const engine = liquidEngine({ dir });
    const slow = Promise.withResolvers<string>();
    const parts = engine.stream!("page", { title: "T", slow: slow.promise }, {});
    const it = (parts as AsyncIterable<string>)[Symbol.asyncIterator]();
    let head = "";
    while (!head.includes("</head>")) {
      const r = await it.next();
      assert.equal(r.done, false);
      head += r.value;
    }
    assert.doesNotMatch(head, /late/);
    slow.resolve("<late>");
    let rest = "";
    for (let r = await it.next(); !r.done; r = await it.next()) rest += r.value;
    assert.equal(head + rest, "<head><title>T</title></head><p>&lt;late&gt;</p>");
  });

  it("ends a stream waiting on a slow value as soon as its signal aborts", async () => {
    const engine = liquidEngine({ dir });
    const abort = new AbortController();
    const parts = engine.stream!("page", { title: "T", slow: new Promise(() => {}) }, abort);
    const it = (parts as AsyncIterable<string>)[Symbol.asyncIterator]();
    await it.next();
    const pending = it.next().then(
      (r) => r.done,
      () => true,
    );
    abort.abort();
    const bound = new Promise<string>((r) => setTimeout(r, 5_000, "still waiting").unref());
    assert.equal(await Promise.race([pending, bound]), true);
  });

  it("throws from the stream when the template is missing", async () => {
    const engine = liquidEngine({ dir });
    await assert.rejects(
      text(engine.stream!("missing", {}, {}) as AsyncIterable<string>),
      /ENOENT/,
    );
  });

  it("caches compiled templates by default", async () => {
    await writeFile(join(dir, "cached.liquid"), "one");
    const engine = liquidEngine({ dir });
    assert.equal(await engine.render("cached", {}, {}), "one");
    await writeFile(join(dir, "cached.liquid"), "two");
    assert.equal(await engine.render("cached", {}, {}), "one");
  });

  it("reads changed files again in development mode (cache: false)", async () => {
    await writeFile(join(dir, "dev.liquid"), "one");
    const engine = liquidEngine({ dir, cache: false });
    assert.equal(await engine.render("dev", {}, {}), "one");
    await writeFile(join(dir, "dev.liquid"), "two");
    assert.equal(await engine.render("dev", {}, {}), "two");
  });
});
