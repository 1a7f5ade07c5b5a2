/**
 * A client process of the fan-out measures: holds many SSE subscriptions (`GET path`) on raw
 * sockets, counts the `event: tick` frames each one has received, and tells its parent when every
 * socket has reached the count it was armed with.
 */
import { connect, type Socket } from "node:net";
import { openAll } from "./open-all.ts";

type Msg =
  | { type: "connect"; port: number; count: number; path: string }
  | { type: "arm"; target: number }
  | { type: "close" };

const HOST = "127.0.0.1";
const CONCURRENCY = 200;
// A tick's event line; better-sse writes fields without the optional space after the colon.
const MARK = /event: ?tick\n/g;
const sockets: Socket[] = [];
const counts = new Map<Socket, number>();
let target = Number.POSITIVE_INFINITY;
/** Sockets that have not reached the target yet. */
let behind = 0;

function send(msg: object): void {
  process.send!(msg);
}

function open(port: number, path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, HOST);
    let head = "";
    let ready = false;
    // The last few characters of the previous chunk: a mark may be split between two chunks.
    let tail = "";
    const timer = setTimeout(() => reject(new Error("no response head in 20 s")), 20_000);
    socket.on("connect", () =>
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${HOST}\r\nAccept: text/event-stream\r\n\r\n`),
    );
    socket.on("data", (chunk) => {
      let text = chunk.toString("latin1");
      if (!ready) {
        head += text;
        const end = head.indexOf("\r\n\r\n");
        if (end === -1) return;
        if (!head.startsWith("HTTP/1.1 200")) {
          reject(new Error(head.split("\r\n", 1)[0]));
          return;
        }
        ready = true;
        clearTimeout(timer);
        counts.set(socket, 0);
        resolve(socket);
        text = head.slice(end + 4);
        head = "";
      }
      const scan = tail + text;
      let n = 0;
      let end = 0;
      MARK.lastIndex = 0;
      while (MARK.exec(scan) !== null) {
        n++;
        end = MARK.lastIndex;
      }
      tail = scan.slice(Math.max(end, scan.length - 11));
      if (n === 0) return;
      const before = counts.get(socket)!;
      counts.set(socket, before + n);
      if (before < target && before + n >= target && --behind === 0) send({ type: "delivered" });
    });
    socket.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

async function connectAll(port: number, count: number, path: string): Promise<void> {
  const { failed, firstError } = await openAll(count, CONCURRENCY, () => open(port, path), sockets);
  send({ type: "connected", ok: sockets.length, failed, firstError });
}

process.on("message", (msg: Msg) => {
  if (msg.type === "connect") void connectAll(msg.port, msg.count, msg.path);
  else if (msg.type === "arm") {
    target = msg.target;
    behind = 0;
    for (const s of sockets) if (counts.get(s)! < target) behind++;
    send({ type: "armed" });
    if (behind === 0) send({ type: "delivered" });
  } else if (msg.type === "close") {
    for (const s of sockets) s.destroy();
    process.exit(0);
  }
});
send({ type: "up" });
