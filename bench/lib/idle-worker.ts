/**
 * A client process of measure 7: holds many `/sse-hub` connections, tells its parent when each
 * has its `ready` event, and when each has received the next broadcast `tick`.
 */
import { connect, type Socket } from "node:net";
import { openAll } from "./open-all.ts";

type Msg =
  | { type: "connect"; port: number; count: number; path: string }
  | { type: "arm" }
  | { type: "close" };

const HOST = "127.0.0.1";
const CONCURRENCY = 200;
const sockets: Socket[] = [];
const waiting = new Set<Socket>();

function send(msg: object): void {
  process.send!(msg);
}

function open(port: number, path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, HOST);
    let seen = "";
    let ready = false;
    const timer = setTimeout(() => reject(new Error("no ready event in 20 s")), 20_000);
    socket.on("connect", () =>
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${HOST}\r\nAccept: text/event-stream\r\n\r\n`),
    );
    socket.on("data", (chunk) => {
      const text = chunk.toString("latin1");
      if (!ready) {
        seen += text;
        if (seen.includes("event: ready")) {
          ready = true;
          seen = "";
          clearTimeout(timer);
          resolve(socket);
        }
        return;
      }
      if (waiting.has(socket) && text.includes("event: tick")) {
        waiting.delete(socket);
        if (waiting.size === 0) send({ type: "delivered" });
      }
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
    for (const s of sockets) waiting.add(s);
    send({ type: "armed" });
  } else if (msg.type === "close") {
    for (const s of sockets) s.destroy();
    process.exit(0);
  }
});
send({ type: "up" });
