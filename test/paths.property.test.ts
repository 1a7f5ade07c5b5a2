// One property across layers (issue 11, item 12): for any request path, the path that middleware
// scoped to a prefix guards and the file the static mount serves agree, because both read it with
// decodePath (src/http/paths.ts). Checked with fast-check over generated paths — percent-encoded
// letters, dot segments, encoded and doubled separators, backslashes, controls, malformed escapes —
// through a real app with a guarded prefix and a mount, in both engines.

import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { decodePath, readSegments, underPrefix } from "../src/http/paths.ts";
import { App, ProblemResponse } from "../src/index.ts";
import { serveStatic } from "../src/node/index.ts";
import { MODES, sender } from "./helpers/app.ts";

/** The files below the mount, by their path inside it. */
const FILES: Record<string, string> = {
  "index.html": "public index",
  "a.txt": "public a",
  "private/secret.txt": "PRIVATE secret",
  "private/index.html": "PRIVATE index",
  "private/sub/deep.txt": "PRIVATE deep",
  "privately.txt": "public privately",
  "sub/private/x.txt": "public, only named private",
};
const PRIVATE = Object.values(FILES).filter((c) => c.startsWith("PRIVATE"));

/** Spellings of segments, good and hostile (raw non-ASCII is no valid request-target: encoded only). */
const SEGMENTS = [
  "static",
  "%73tatic",
  "st%61tic",
  "STATIC",
  "static%2F",
  "private",
  "%70rivate",
  "pr%69vate",
  "%70%72%69%76%61%74%65",
  "PRIVATE",
  "privately.txt",
  "secret.txt",
  "secret%2Etxt",
  "sub",
  "deep.txt",
  "a.txt",
  "index.html",
  "x.txt",
  ".",
  "..",
  "%2e",
  "%2E%2e",
  ".%2e",
  "%2F",
  "private%2Fsecret.txt",
  "static%2Fprivate",
  "\\",
  "%5C",
  "private%5Csecret.txt",
  "%00",
  "%0a",
  "%",
  "%zz",
  "%E2%98",
  "%C3%A9",
  ";",
  "private;x",
  "C:",
  "~",
  "",
];

const pathArb = fc
  .tuple(
    fc.array(fc.constantFrom(...SEGMENTS), { minLength: 1, maxLength: 6 }),
    fc.constantFrom("/", "//"),
    fc.boolean(),
    fc.constantFrom("", "?x=1", "?/private"),
  )
  .map(([segments, sep, slash, query]) => `/${segments.join(sep)}${slash ? "/" : ""}${query}`);

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), "sluice-paths-"));
  for (const [path, content] of Object.entries(FILES)) {
    await mkdir(join(root, path, ".."), { recursive: true });
    await writeFile(join(root, path), content);
  }
});
after(() => rm(root, { recursive: true, force: true }));

for (const mode of MODES) {
  describe(`a guarded prefix and a static mount agree on every path (${mode})`, () => {
    let send: ReturnType<typeof sender>;
    let guarded = 0;
    before(() => {
      const app = new App().onError(() => {});
      app.use("/static/private", (req, next) => {
        guarded++;
        return req.header("authorization") === "Bearer ok" ? next() : new ProblemResponse(401);
      });
      app.mount("/static", serveStatic(root));
      send = sender(() => app, mode);
    });
    after(() => send.close());

    it("guards exactly the paths whose file lies below the prefix", {
      timeout: 120_000,
    }, async () => {
      await fc.assert(
        fc.asyncProperty(pathArb, async (target) => {
          // What the app sees: the raw target over a socket (HTTP/1.1's request target, HTTP/2's
          // :path); app.fetch gets a web Request, whose URL the WHATWG parser has normalised
          // already (dot segments, backslashes).
          const seen = mode !== "memory" ? target : new URL(`http://localhost${target}`).pathname;
          const path = seen.split("?", 1)[0]!;
          const read = decodePath(path);
          guarded = 0;
          const anonymous = await send("GET", target);
          const ranGuard = guarded > 0;
          guarded = 0;
          const bearer = await send("GET", target, { authorization: "Bearer ok" });
          const text = anonymous.body.toString();
          assert.ok(!PRIVATE.some((c) => text.includes(c)), `${target} leaked without the token`);
          // The guard runs exactly for the paths under its prefix, failing closed where the path
          // holds a segment the reading refuses within the prefix's length.
          const below = underPrefix(readSegments(path), ["static", "private"]);
          assert.equal(ranGuard, below, `${target}: guard ran ${ranGuard}`);
          if (!read.ok) {
            // A path the file server refuses serves nothing, with or without the token.
            assert.ok(anonymous.status >= 400, `${target}: ${anonymous.status}`);
            assert.ok(bearer.status >= 400, `${target}: ${bearer.status}`);
            if (below) assert.equal(anonymous.status, 401, target);
            return;
          }
          if (below) assert.equal(anonymous.status, 401, target);
          else assert.notEqual(anonymous.status, 401, target);
          if (bearer.status === 200 && read.segments[0] === "static") {
            // What was served is the file those segments name (or the index of that directory).
            const inside = read.segments.slice(1).join("/");
            const served = bearer.body.toString();
            const wanted =
              FILES[inside] ?? FILES[inside === "" ? "index.html" : `${inside}/index.html`];
            assert.equal(served, wanted, `${target} served another file`);
          }
        }),
        { numRuns: 200 },
      );
    });
  });
}
