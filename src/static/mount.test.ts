import assert from "node:assert/strict";
import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync } from "node:zlib";
import { MODES, sender } from "../../test/helpers/app.ts";
import { FetchRequest } from "../engine/fetch/request.ts";
import { HTTPError } from "../http/errors.ts";
import { App } from "../index.ts";
import { resolveStaticFile, serveFile, serveStatic, staticMount } from "./mount.ts";

const SECRET = "TOP SECRET outside the root";
const HELLO = "hello, static world\n".repeat(20);

let base: string;
let root: string;
let outside: string;
const brotli = brotliCompressSync(Buffer.from(HELLO));

before(async () => {
  base = await realpath(await mkdtemp(join(tmpdir(), "sluice-static-")));
  root = join(base, "root");
  outside = join(base, "outside");
  await mkdir(outside);
  await writeFile(join(outside, "secret.txt"), SECRET);
  await writeFile(join(outside, "secret.txt.gz"), gzipSync(SECRET));
  const files: Record<string, string | Buffer> = {
    "index.html": "<h1>root index</h1>",
    "hello.txt": HELLO,
    "hello.txt.br": brotli,
    "hello.txt.gz": gzipSync(HELLO),
    "plain.txt": "no variants here",
    "leaky.txt": "the gzip variant of this file points outside the root",
    "a b.txt": "a file with a space",
    "☃.txt": "a snowman",
    "do..ts.txt": "dots inside a name",
    "100%.txt": "a percent sign",
    ".env": "SECRET_KEY=dotfile",
    "about.html": "<h1>about</h1>",
    "home.htm": "<h1>home</h1>",
    "docs/index.html": "<h1>docs</h1>",
    "docs/.hidden": "a nested dotfile",
    "a b/index.html": "<h1>spaced dir</h1>",
    "☃/index.html": "<h1>snowman dir</h1>",
    "evil.example/index.html": "<h1>not another host</h1>",
    "noindex/file.txt": "a directory without an index",
    "nested/deep/file.txt": "deep",
    ".well-known/security.txt": "Contact: mailto:security@example.com",
  };
  for (const [name, content] of Object.entries(files)) {
    await mkdir(join(root, name, ".."), { recursive: true });
    await writeFile(join(root, name), content);
  }
  await symlink(join(root, "hello.txt"), join(root, "link-inside.txt"));
  await symlink(join(outside, "secret.txt"), join(root, "link-outside.txt"));
  await symlink(outside, join(root, "link-dir-outside"));
  await symlink(join(outside, "secret.txt.gz"), join(root, "leaky.txt.gz"));
});

after(async () => {
  await rm(base, { recursive: true, force: true });
});

function staticApp(options?: Parameters<typeof serveStatic>[1]): App {
  const app = new App();
  app.mount("/static", serveStatic(root, options));
  return app;
}

describe("static mount", () => {
  for (const mode of MODES) {
    describe(mode, () => {
      const send = sender(() => app, mode);
      let app: App;
      before(() => {
        app = staticApp();
      });
      after(() => send.close());

      it("serves a file with its media type, validators and a default Cache-Control", async () => {
        const res = await send("GET", "/static/plain.txt");
        assert.equal(res.status, 200);
        assert.equal(res.body.toString(), "no variants here");
        assert.equal(res.headers["content-type"], "text/plain; charset=utf-8");
        assert.equal(res.headers["cache-control"], "public, max-age=0");
        assert.ok(res.headers.etag);
        assert.ok(res.headers["last-modified"]);
        assert.equal(res.headers.vary, undefined, "no variants, no Vary");
      });

      const names: [string, string, string][] = [
        ["a name with a space", "/static/a%20b.txt", "a file with a space"],
        ["a snowman, encoded", "/static/%E2%98%83.txt", "a snowman"],
        ["dots inside a name", "/static/do..ts.txt", "dots inside a name"],
        ["an encoded percent sign", "/static/100%25.txt", "a percent sign"],
        ["a symlink that stays inside the root", "/static/link-inside.txt", HELLO],
        ["a nested file", "/static/nested/deep/file.txt", "deep"],
        ["a path with doubled slashes", "/static/nested//deep///file.txt", "deep"],
      ];
      for (const [what, target, content] of names) {
        it(`serves ${what}`, async () => {
          const res = await send("GET", target, { "accept-encoding": "identity" });
          assert.equal(res.status, 200, target);
          assert.equal(res.body.toString(), content);
        });
      }

      it("serves index.html for the root and for a directory with a slash", async () => {
        const rootIndex = await send("GET", "/static/");
        assert.equal(rootIndex.status, 200);
        assert.equal(rootIndex.body.toString(), "<h1>root index</h1>");
        assert.equal(rootIndex.headers["content-type"], "text/html; charset=utf-8");
        const docs = await send("GET", "/static/docs/");
        assert.equal(docs.body.toString(), "<h1>docs</h1>");
      });

      const redirects: [string, string][] = [
        ["/static", "/static/"],
        ["/static/docs", "/static/docs/"],
        ["/static/docs?v=1&x=%20", "/static/docs/?v=1&x=%20"],
        ["/static/a%20b", "/static/a%20b/"],
        ["/static/%E2%98%83", "/static/%E2%98%83/"],
        ["/static//evil.example", "/static/evil.example/"],
      ];
      for (const [target, location] of redirects) {
        it(`redirects ${target} to ${location}`, async () => {
          const res = await send("GET", target);
          assert.equal(res.status, 301);
          assert.equal(res.headers.location, location);
        });
      }

      it("answers 404 for a directory without an index, and never lists it", async () => {
        const res = await send("GET", "/static/noindex/");
        assert.equal(res.status, 404);
        assert.ok(!res.body.toString().includes("file.txt"));
      });

      it("answers 404 for a file named with a trailing slash", async () => {
        assert.equal((await send("GET", "/static/plain.txt/")).status, 404);
      });

      it("answers 404 for a missing file, with no extension fallback by default", async () => {
        assert.equal((await send("GET", "/static/nope.txt")).status, 404);
        assert.equal((await send("GET", "/static/about")).status, 404);
      });

      it("refuses dotfiles by default, as if they were not there", async () => {
        for (const target of ["/static/.env", "/static/%2eenv", "/static/docs/.hidden"]) {
          const res = await send("GET", target);
          assert.equal(res.status, 404, target);
          assert.ok(!res.body.toString().includes("SECRET_KEY"));
        }
      });

      it("answers HEAD with the headers of GET and no body", async () => {
        const get = await send("GET", "/static/plain.txt");
        const head = await send("HEAD", "/static/plain.txt");
        assert.equal(head.status, 200);
        assert.equal(head.body.length, 0);
        for (const name of ["content-type", "content-length", "etag", "last-modified"]) {
          assert.equal(head.headers[name], get.headers[name], name);
        }
      });

      it("answers 304 and ranges like any FileResponse", async () => {
        const first = await send("GET", "/static/plain.txt");
        const notModified = await send("GET", "/static/plain.txt", {
          "if-none-match": first.headers.etag!,
        });
        assert.equal(notModified.status, 304);
        assert.equal(notModified.headers["cache-control"], "public, max-age=0");
        const partial = await send("GET", "/static/plain.txt", { range: "bytes=3-10" });
        assert.equal(partial.status, 206);
        assert.equal(partial.body.toString(), "variants");
      });

      it("answers other methods with 405 and Allow, OPTIONS with 204", async () => {
        for (const method of ["POST", "PUT", "DELETE"]) {
          const res = await send(method, "/static/plain.txt", { "content-length": "0" });
          assert.equal(res.status, 405, method);
          assert.equal(res.headers.allow, "GET, HEAD, OPTIONS");
        }
        const options = await send("OPTIONS", "/static/plain.txt");
        assert.equal(options.status, 204);
        assert.equal(options.headers.allow, "GET, HEAD, OPTIONS");
      });

      it("answers an over-long path with 414, never a 500", async () => {
        const long = await send("GET", `/static/${"a".repeat(5000)}`);
        assert.equal(long.status, 414);
        const longName = await send("GET", `/static/${"a".repeat(300)}.txt`);
        // A name longer than the file system allows names no file.
        assert.equal(longName.status, 404);
        const deep = await send("GET", `/static/${"a/".repeat(70)}x`);
        assert.equal(deep.status, 414);
      });

      describe("precompressed variants", () => {
        it("serves the brotli variant to a client that accepts it", async () => {
          const res = await send("GET", "/static/hello.txt", { "accept-encoding": "gzip, br" });
          assert.equal(res.status, 200);
          assert.equal(res.headers["content-encoding"], "br");
          assert.equal(res.headers["content-type"], "text/plain; charset=utf-8");
          assert.equal(res.headers.vary, "Accept-Encoding");
          assert.equal(res.headers["content-length"], String(brotli.length));
          assert.match(res.headers.etag!, /-br"$/);
          assert.equal(brotliDecompressSync(res.body).toString(), HELLO);
        });

        it("serves the gzip variant when brotli is refused", async () => {
          const res = await send("GET", "/static/hello.txt", {
            "accept-encoding": "br;q=0, gzip",
          });
          assert.equal(res.headers["content-encoding"], "gzip");
          assert.match(res.headers.etag!, /-gzip"$/);
          assert.equal(gunzipSync(res.body).toString(), HELLO);
        });

        it("serves identity, still with Vary, to a client that accepts no coding", async () => {
          const identity = await send("GET", "/static/hello.txt", {
            "accept-encoding": "identity",
          });
          const br = await send("GET", "/static/hello.txt", { "accept-encoding": "br" });
          assert.equal(identity.headers["content-encoding"], undefined);
          assert.equal(identity.headers.vary, "Accept-Encoding");
          assert.equal(identity.body.toString(), HELLO);
          assert.notEqual(identity.headers.etag, br.headers.etag);
        });

        it("applies a range to the variant's bytes", async () => {
          const res = await send("GET", "/static/hello.txt", {
            "accept-encoding": "br",
            range: "bytes=0-3",
          });
          assert.equal(res.status, 206);
          assert.equal(res.headers["content-encoding"], "br");
          assert.equal(res.headers["content-range"], `bytes 0-3/${brotli.length}`);
          assert.deepEqual(res.body, brotli.subarray(0, 4));
        });

        it("answers 304 for the variant's own ETag", async () => {
          const first = await send("GET", "/static/hello.txt", { "accept-encoding": "br" });
          const res = await send("GET", "/static/hello.txt", {
            "accept-encoding": "br",
            "if-none-match": first.headers.etag!,
          });
          assert.equal(res.status, 304);
          assert.equal(res.headers.vary, "Accept-Encoding");
          assert.equal(res.headers["content-encoding"], undefined);
        });

        it("never serves a variant that is a symlink out of the root", async () => {
          const res = await send("GET", "/static/leaky.txt", { "accept-encoding": "gzip" });
          assert.equal(res.status, 200);
          assert.equal(res.headers["content-encoding"], undefined);
          assert.ok(!res.body.includes(gzipSync(SECRET).subarray(10)));
        });
      });

      describe("path safety", () => {
        // Each of these tries to leave the root; none may answer with a file from outside it.
        const attacks = [
          "/static/../outside/secret.txt",
          "/static/%2e%2e/outside/secret.txt",
          "/static/%2E%2E/outside/secret.txt",
          "/static/.%2e/outside/secret.txt",
          "/static/%2e./outside/secret.txt",
          "/static/%252e%252e/outside/secret.txt",
          "/static/..%2foutside%2fsecret.txt",
          "/static/..%2Foutside/secret.txt",
          "/static/%2e%2e%2foutside%2fsecret.txt",
          "/static/..%252foutside%252fsecret.txt",
          "/static/..%5coutside%5csecret.txt",
          "/static/..%5Coutside/secret.txt",
          "/static/..\\outside\\secret.txt",
          "/static/\\..\\outside\\secret.txt",
          "/static/%5c%5cserver%5cshare",
          "/static/nested/../../outside/secret.txt",
          "/static/nested/%2e%2e/%2e%2e/outside/secret.txt",
          "/static/../../../../../../../../etc/passwd",
          "/static/%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
          "/static/%c0%ae%c0%ae/outside/secret.txt",
          "/static/plain.txt%00.html",
          "/static/%00../outside/secret.txt",
          "/static//etc/passwd",
          "/static/%2fetc%2fpasswd",
          `/static/${encodeURIComponent("/etc/passwd")}`,
          "/static/C:%5cWindows%5cwin.ini",
          "/static/c:/windows/win.ini",
          "/static/link-outside.txt",
          "/static/link-dir-outside/secret.txt",
          "/static/link-dir-outside/",
          "/static/./../outside/secret.txt",
        ];
        for (const target of attacks) {
          it(`does not leave the root for ${JSON.stringify(target)}`, async () => {
            const res = await send("GET", target);
            const body = res.body.toString();
            assert.ok(!body.includes(SECRET), `served the secret: ${res.status}`);
            assert.ok(!body.includes("root:"), "served /etc/passwd");
            assert.ok(res.status >= 300 && res.status < 500, `status ${res.status}`);
            if (res.status === 301) assert.match(res.headers.location!, /^\/static\/[^/\\]/);
          });
        }

        if (mode === "socket") {
          // On the wire the path arrives as sent; these are the statuses the rules promise.
          const exact: [string, number][] = [
            ["/static/../outside/secret.txt", 403],
            ["/static/%2e%2e/outside/secret.txt", 403],
            ["/static/%252e%252e/outside/secret.txt", 404],
            ["/static/..%2foutside%2fsecret.txt", 403],
            ["/static/..%5coutside%5csecret.txt", 403],
            ["/static/plain.txt%00.html", 400],
            ["/static/C:%5cWindows%5cwin.ini", 403],
            ["/static/link-outside.txt", 404],
            ["/static/link-dir-outside/secret.txt", 404],
          ];
          for (const [target, status] of exact) {
            it(`answers ${status} for ${target}`, async () => {
              assert.equal((await send("GET", target)).status, status);
            });
          }

          it("answers 400, not a crash, for a raw NUL on the wire", async () => {
            const res = await send("GET", "/static/plain.txt\0");
            assert.equal(res.status, 400);
          });
        }
      });
    });
  }
});

describe("static mount options", () => {
  for (const mode of MODES) {
    describe(mode, () => {
      it("falls back to listed extensions", async () => {
        const send = sender(staticApp({ extensions: ["htm", "html"] }), mode);
        try {
          const res = await send("GET", "/static/about");
          assert.equal(res.status, 200);
          assert.equal(res.body.toString(), "<h1>about</h1>");
          assert.equal(res.headers["content-type"], "text/html; charset=utf-8");
          assert.equal((await send("GET", "/static/about/")).status, 404);
        } finally {
          await send.close();
        }
      });

      it("uses another index name, or none", async () => {
        const named = sender(staticApp({ index: "home.htm" }), mode);
        const none = sender(staticApp({ index: false }), mode);
        try {
          assert.equal((await named("GET", "/static/")).body.toString(), "<h1>home</h1>");
          assert.equal((await none("GET", "/static/")).status, 404);
        } finally {
          await named.close();
          await none.close();
        }
      });

      it("serves dotfiles when allowed", async () => {
        const send = sender(staticApp({ dotfiles: "allow" }), mode);
        try {
          const res = await send("GET", "/static/.well-known/security.txt");
          assert.equal(res.status, 200);
          assert.match(res.body.toString(), /^Contact:/);
          assert.equal(
            (await send("GET", "/static/../outside/secret.txt")).body.includes(SECRET),
            false,
          );
        } finally {
          await send.close();
        }
      });

      it("sets Cache-Control from max-age and immutable, or from a string", async () => {
        const immutable = sender(
          staticApp({ cacheControl: { maxAge: 31536000, immutable: true } }),
          mode,
        );
        const custom = sender(staticApp({ cacheControl: "no-store" }), mode);
        try {
          const a = await immutable("GET", "/static/plain.txt");
          assert.equal(a.headers["cache-control"], "public, max-age=31536000, immutable");
          const b = await custom("GET", "/static/plain.txt");
          assert.equal(b.headers["cache-control"], "no-store");
        } finally {
          await immutable.close();
          await custom.close();
        }
      });

      it("serves identity only when precompressed is off", async () => {
        const send = sender(staticApp({ precompressed: false }), mode);
        try {
          const res = await send("GET", "/static/hello.txt", { "accept-encoding": "br, gzip" });
          assert.equal(res.headers["content-encoding"], undefined);
          assert.equal(res.headers.vary, undefined);
          assert.equal(res.body.toString(), HELLO);
        } finally {
          await send.close();
        }
      });

      it("mounts a directory or a single file by path", async () => {
        const app = new App();
        app.mount("/files", staticMount(root));
        app.mount(
          "/hello.txt",
          staticMount(join(root, "hello.txt"), { cacheControl: { maxAge: 60 } }),
        );
        const send = sender(app, mode);
        try {
          assert.equal((await send("GET", "/files/plain.txt")).body.toString(), "no variants here");
          const one = await send("GET", "/hello.txt", { "accept-encoding": "gzip" });
          assert.equal(one.status, 200);
          assert.equal(one.headers["cache-control"], "public, max-age=60");
          assert.equal(one.headers["content-encoding"], "gzip");
          assert.equal(gunzipSync(one.body).toString(), HELLO);
          assert.equal((await send("GET", "/hello.txt/other")).status, 404);
          assert.equal((await send("GET", "/hello.txt/")).status, 404);
          assert.equal((await send("POST", "/hello.txt", { "content-length": "0" })).status, 405);
        } finally {
          await send.close();
        }
      });
    });
  }

  it("refuses to mount a path that does not exist", () => {
    assert.throws(() => staticMount(join(base, "nope")), TypeError);
    assert.throws(() => new App().mount("/x", staticMount(join(base, "nope"))), /cannot mount/);
  });

  it("refuses a negative max-age when mounting", () => {
    assert.throws(() => serveStatic(root, { cacheControl: { maxAge: -1 } }), TypeError);
  });

  describe("checks every option when the mount is built", () => {
    const bad: [string, Record<string, unknown>, RegExp][] = [
      [
        "serve-static's maxAge in ms",
        { maxAge: 123956 },
        /unknown option maxAge: use cacheControl: \{ maxAge \} in seconds/,
      ],
      [
        "serve-static's immutable",
        { immutable: true },
        /unknown option immutable: use cacheControl/,
      ],
      [
        "an option of another library",
        { lastModifed: false },
        /unknown option lastModifed \(known: index, /,
      ],
      [
        "an index that is a number",
        { index: 42 },
        /index must be a file name, a list of them, or false, got 42/,
      ],
      ["an index with a slash", { index: "a/index.html" }, /index must be plain file names/],
      ["an index of ..", { index: [".."] }, /index must be plain file names/],
      ["an empty index list", { index: [] }, /index must be a file name/],
      [
        "extensions with the dot",
        { extensions: [".html"] },
        /without the dot, such as "html" \(write "html"\)/,
      ],
      ["extensions as a string", { extensions: "html" }, /extensions must be a list/],
      [
        "a dotfiles policy of another library",
        { dotfiles: "ignored" },
        /dotfiles must be "deny", "allow" or "ignore"/,
      ],
      [
        "a fractional max-age",
        { cacheControl: { maxAge: 1.5 } },
        /cacheControl.maxAge must be a whole number of seconds, got 1.5/,
      ],
      [
        "a max-age as a string",
        { cacheControl: { maxAge: "1d" } },
        /cacheControl.maxAge must be a whole number of seconds, got "1d"/,
      ],
      [
        "an unknown cacheControl member",
        { cacheControl: { maxAge: 1, public: true } },
        /takes maxAge and immutable, not public/,
      ],
      [
        "a Cache-Control with a newline",
        { cacheControl: "max-age=1\r\nx: y" },
        /cacheControl must be a header value/,
      ],
      [
        "cacheControl as a number",
        { cacheControl: 60 },
        /cacheControl must be a string, \{ maxAge, immutable \} or false, got 60/,
      ],
      [
        "precompressed as a string",
        { precompressed: "yes" },
        /precompressed must be true or false, got "yes"/,
      ],
      ["acceptRanges as a string", { acceptRanges: "none" }, /acceptRanges must be true or false/],
      ["fallthrough as a number", { fallthrough: 1 }, /fallthrough must be true or false/],
      [
        "a compress option it refuses",
        { compress: { threshold: -1 } },
        /compress: compress: threshold/,
      ],
      [
        "compress as a string",
        { compress: "gzip" },
        /compress must be true, false or compress\(\) options/,
      ],
      [
        "setHeaders that is no function",
        { setHeaders: { "x-a": "1" } },
        /setHeaders must be a function/,
      ],
      [
        "a fallback outside the directory",
        { fallback: "../index.html" },
        /fallback must be the path of a file inside/,
      ],
      [
        "an absolute fallback",
        { fallback: "/srv/index.html" },
        /fallback must be the path of a file inside/,
      ],
      [
        "a fallback naming a directory",
        { fallback: "app/" },
        /fallback must be the path of a file inside/,
      ],
      [
        "a maxPathLength of 0",
        { maxPathLength: 0 },
        /maxPathLength must be a positive whole number/,
      ],
    ];
    for (const [what, options, message] of bad) {
      it(`refuses ${what}`, () => {
        assert.throws(
          () => serveStatic(root, options as never),
          (err: Error) => {
            assert.ok(err instanceof TypeError);
            assert.match(err.message, /^serveStatic: /);
            assert.match(err.message, message);
            return true;
          },
        );
      });
    }

    it("refuses options that are not an object, and a directory that is not a path", () => {
      assert.throws(() => serveStatic(root, null as never), /options must be an object, got null/);
      assert.throws(() => serveStatic(42 as never), /the directory must be a path, got 42/);
    });

    it("refuses directory options for one file", () => {
      const file = join(root, "plain.txt");
      assert.throws(() => serveFile(file, { index: "x.html" }), /index applies to a directory/);
      assert.throws(
        () => staticMount(file, { fallback: "x.html" }),
        /fallback applies to a directory/,
      );
      assert.ok(staticMount(file, { cacheControl: false, fallthrough: true }));
    });

    it("accepts every option in its documented form", () => {
      assert.ok(
        serveStatic(root, {
          index: ["index.htm", "index.html"],
          extensions: ["html", "tar.gz"],
          dotfiles: "allow",
          precompressed: false,
          compress: { encodings: ["gzip"] },
          cacheControl: { maxAge: 31536000, immutable: true },
          acceptRanges: false,
          etag: false,
          lastModified: false,
          setHeaders: () => {},
          fallthrough: true,
          fallback: "app/index.html",
          maxPathLength: 1024,
        }),
      );
      assert.ok(serveStatic(root, { cacheControl: false, index: false, compress: true }));
    });
  });

  it("builds the directory redirect from checked segments, also at the top of a host", async () => {
    const mount = serveStatic(root);
    for (const url of ["http://x//evil.example", "http://x/evil.example"]) {
      const res = (await mount.dispatch(new FetchRequest(new Request(url))))!;
      assert.equal(res.status, 301);
      assert.equal(res.headers.location, "/evil.example/");
    }
  });

  it("serves a single file at its own path only", async () => {
    const mount = serveFile(join(root, "plain.txt"));
    const res = (await mount.dispatch(new FetchRequest(new Request("http://x/"))))!;
    assert.equal(res.status, 200);
    for (const fn of res.teardowns) await fn();
  });
});

describe("resolveStaticFile", () => {
  it("answers the real path of a file inside the root", async () => {
    assert.equal(await resolveStaticFile(root, "/a%20b.txt"), join(root, "a b.txt"));
    assert.equal(await resolveStaticFile(root, "/link-inside.txt"), join(root, "hello.txt"));
  });

  const refused: [string, number][] = [
    ["/../outside/secret.txt", 403],
    ["/%2e%2e%2foutside%2fsecret.txt", 403],
    ["/link-outside.txt", 404],
    ["/.env", 404],
    ["/docs", 404],
    ["/docs/", 404],
    ["/nope", 404],
    ["/%zz", 400],
  ];
  for (const [path, status] of refused) {
    it(`throws a ${status} for ${path}`, async () => {
      await assert.rejects(
        resolveStaticFile(root, path),
        (e) => HTTPError.is(e) && e.status === status,
      );
    });
  }
});
