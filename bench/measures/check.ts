/**
 * The correctness pre-check, before anything is measured: every server must send the same JSON
 * body, the same NDJSON bytes and the same SSE events as the contract app (Sluice), the whole file,
 * and an endless `/infinite`. SSE is compared byte for byte where the peer formats frames itself;
 * a peer whose own SSE helper orders the fields of a frame differently (`id`/`event`/`data`)
 * must send the same events and the same number of bytes.
 */
import { createHash } from "node:crypto";
import { get } from "node:http";
import type { RunningServer } from "../lib/server.ts";

function fetchBytes(
  url: string,
  limit = Number.POSITIVE_INFINITY,
): Promise<{ status: number; body: Buffer; sha: string }> {
  return new Promise((resolve, reject) => {
    const req = get(url, (res) => {
      const hash = createHash("sha256");
      const keep: Buffer[] = [];
      let size = 0;
      res.on("data", (d: Buffer) => {
        hash.update(d);
        if (size < 1 << 20) keep.push(d);
        size += d.length;
        if (size >= limit) {
          req.destroy();
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(keep), sha: "" });
        }
      });
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          body: Buffer.concat(keep),
          sha: hash.digest("hex"),
        }),
      );
      res.on("error", reject);
    });
    req.on("error", reject);
    req.setTimeout(30_000, () => req.destroy(new Error(`timeout on ${url}`)));
  });
}

/** Parses an SSE body into events, each a sorted list of its fields. */
function events(body: string): string[] {
  return body
    .split("\n\n")
    .filter((e) => e !== "")
    .map((e) => e.split("\n").sort().join("|"));
}

export interface Reference {
  json: Buffer;
  ndjson: Buffer;
  sse: Buffer;
  fileSha: string;
}

const N = 100;

export async function reference(server: RunningServer, fileSha: string): Promise<Reference> {
  const [json, ndjson, sse] = await Promise.all(
    ["/json", `/ndjson?n=${N}`, `/sse?n=${N}`].map((p) =>
      fetchBytes(server.url + p).then((r) => r.body),
    ),
  );
  return { json: json!, ndjson: ndjson!, sse: sse!, fileSha };
}

/** Checks one server against the reference; returns a note for the table, throws on a mismatch. */
export async function check(server: RunningServer, ref: Reference): Promise<string> {
  const name = server.peer.name;
  const fail = (what: string) => {
    throw new Error(`pre-check failed for ${name}: ${what}`);
  };
  const json = await fetchBytes(`${server.url}/json`);
  if (json.status !== 200 || !json.body.equals(ref.json)) fail(`/json body ${json.body}`);
  const nd = await fetchBytes(`${server.url}/ndjson?n=${N}`);
  if (!nd.body.equals(ref.ndjson)) fail("/ndjson bytes differ");
  const first = await fetchBytes(`${server.url}/ndjson?n=2&delay=1`);
  if (first.body.toString() !== '{"i":0,"sq":0}\n{"i":1,"sq":1}\n') fail("/ndjson with delay");
  const sse = await fetchBytes(`${server.url}/sse?n=${N}`);
  let sseNote = "SSE byte-equal";
  if (!sse.body.equals(ref.sse)) {
    const same = events(sse.body.toString()).join("\n") === events(ref.sse.toString()).join("\n");
    if (!same || sse.body.length !== ref.sse.length) fail("/sse events differ");
    sseNote = "SSE same events and bytes, field order differs";
  }
  const inf = await fetchBytes(`${server.url}/infinite`, 1 << 20);
  if (inf.body.length < 1 << 20 || inf.body.some((b) => b !== 0x62)) fail("/infinite");
  const file = await fetchBytes(`${server.url}/file`);
  if (file.status !== 200 || file.sha !== ref.fileSha)
    fail(`/file: status ${file.status}, content differs`);
  return `JSON, NDJSON byte-equal; ${sseNote}; /file sha256 equal`;
}
