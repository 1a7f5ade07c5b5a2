import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { truncateSync } from "node:fs";
import { type FileHandle, mkdtemp, open, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { BOUND, parseByteranges, Reports } from "../../../test/helpers/app.ts";
import { RawConnection, rawRequest } from "../../../test/helpers/raw-http.ts";
import { until } from "../../../test/helpers/wait.ts";
import { App } from "../../app.ts";
import type { Body, FileBody } from "../../responses/body.ts";
import { type FileInit, FileResponse } from "../../responses/file.ts";
import { serve } from "./serve.ts";

const SIZE = 1024 * 1024 + 17;
let dir: string;
let path: string;
let content: Buffer;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "sluice-file-writer-"));
  path = join(dir, "data.bin");
  content = randomBytes(SIZE);
  await writeFile(path, content);
});
after(() => rm(dir, { recursive: true, force: true }));

/** A FileResponse whose reads the test can watch and change. */
function watched(
  file: string | FileHandle,
  init: FileInit,
  around: (body: FileBody, read: FileBody["read"]) => FileBody["read"],
): FileResponse {
  return new (class extends FileResponse {
    override body(): Body {
      const body = super.body();
      if (body.kind !== "file") throw new Error(`a file body, not ${body.kind}`);
      return { ...body, read: around(body, body.read) };
    }
  })(file, init);
}

async function served(make: () => FileResponse) {
  const app = new App();
  const reports = new Reports(app);
  app.get("/f", make);
  const server = await serve(app, { port: 0 });
  return { app, reports, server };
}

describe("the Node engine's file writer", () => {
  it(
    "sends a file whole, one range and several, byte for byte, through reads far smaller than it",
    BOUND,
    async () => {
      let reads = 0;
      const { app, server } = await served(() =>
        watched(
          path,
          { chunkSize: 4096 },
          (_, read) => (buffer, offset, length, position, done) => {
            reads++;
            read(buffer, offset, length, position, done);
          },
        ),
      );
      try {
        const whole = await rawRequest(server.port, "GET", "/f");
        assert.equal(whole.status, 200);
        assert.equal(whole.headers["content-length"], String(SIZE));
        assert.ok(whole.body.equals(content), "the whole file");
        assert.ok(reads >= SIZE / 4096, `${reads} reads`);

        const one = await rawRequest(server.port, "GET", "/f", { range: "bytes=5000-300000" });
        assert.equal(one.status, 206);
        assert.ok(one.body.equals(content.subarray(5000, 300001)));

        const several = await rawRequest(server.port, "GET", "/f", {
          range: "bytes=0-9,10000-20000,-5",
        });
        assert.equal(several.status, 206);
        assert.equal(several.headers["content-length"], String(several.body.length));
        const boundary = /boundary=(\S+)/.exec(several.headers["content-type"]!)![1]!;
        const parts = parseByteranges(several.body, boundary);
        assert.deepEqual(
          parts.map((p) => p.body),
          [content.subarray(0, 10), content.subarray(10000, 20001), content.subarray(SIZE - 5)],
        );
        await until(() => app.stats.streams.active === 0, 1000, "every stream to end");
        assert.equal(app.stats.streams.completed, 3);
      } finally {
        await server.close();
      }
    },
  );

  it("truncates, reports and closes the file when it shrinks while it is sent", BOUND, async () => {
    const shrinking = join(dir, "shrinking.bin");
    await writeFile(shrinking, content);
    const handle = await open(shrinking);
    const { app, reports, server } = await served(() =>
      watched(handle, { chunkSize: 64 * 1024 }, (_, read) => {
        let first = true;
        return (buffer, offset, length, position, done) => {
          if (first) {
            first = false;
            // Cut the file to half a read past what the first read takes.
            truncateSync(shrinking, 64 * 1024 + 1000);
          }
          read(buffer, offset, length, position, done);
        };
      }),
    );
    const conn = await RawConnection.open(server.port);
    try {
      const heard = reports.next();
      conn.write("GET /f HTTP/1.1\r\nHost: t\r\n\r\n");
      const raw = await conn.read();
      const body = raw.subarray(raw.indexOf("\r\n\r\n") + 4);
      assert.equal(body.length, 64 * 1024 + 1000, "what the file still had, then the cut");
      assert.match(String((await heard).error), /file shrank/);
      await until(() => app.stats.streams.active === 0, 1000, "the stream to end");
      assert.equal(app.stats.streams.errored, 1);
      await until(() => handle.fd === -1, 1000, "the file to be closed");
    } finally {
      conn.destroy();
      await server.close();
    }
  });

  it(
    "stops reading when the client leaves, and closes the file only once the read out has returned",
    BOUND,
    async () => {
      const handle = await open(path);
      const events: string[] = [];
      const close = handle.close.bind(handle);
      handle.close = async () => {
        events.push("closed");
        return close();
      };
      let reads = 0;
      const { app, server } = await served(() =>
        watched(handle, { chunkSize: 16 * 1024 }, (_, read) => {
          return (buffer, offset, length, position, done) => {
            reads++;
            // From the second read on, each takes 150 ms: the client leaves during one.
            const slow = reads > 1;
            read(buffer, offset, length, position, (error, bytesRead) => {
              setTimeout(
                () => {
                  events.push("read returned");
                  done(error, bytesRead);
                },
                slow ? 150 : 0,
              );
            });
          };
        }),
      );
      const conn = await RawConnection.open(server.port);
      try {
        conn.write("GET /f HTTP/1.1\r\nHost: t\r\n\r\n");
        await conn.read((raw) => raw.length > 16 * 1024);
        conn.destroy();
        await until(() => app.stats.streams.active === 0, 2000, "the stream to end");
        assert.equal(app.stats.streams.aborted, 1);
        await until(() => events.includes("closed"), 1000, "the file to be closed");
        assert.equal(events.at(-1), "closed");
        assert.equal(events.at(-2), "read returned", "closed after the read out returned");
        const after = reads;
        await new Promise((r) => setTimeout(r, 200));
        assert.equal(reads, after, "no read after the client left");
      } finally {
        conn.destroy();
        await server.close();
      }
    },
  );

  it("reads nothing for HEAD and closes the file", BOUND, async () => {
    const handle = await open(path);
    let reads = 0;
    const { app, server } = await served(() =>
      watched(handle, {}, (_, read) => (buffer, offset, length, position, done) => {
        reads++;
        read(buffer, offset, length, position, done);
      }),
    );
    try {
      const res = await rawRequest(server.port, "HEAD", "/f");
      assert.equal(res.status, 200);
      assert.equal(res.headers["content-length"], String(SIZE));
      await until(() => handle.fd === -1, 1000, "the file to be closed");
      assert.equal(reads, 0);
      assert.equal(app.stats.streams.started, 0);
    } finally {
      await server.close();
    }
  });
});
