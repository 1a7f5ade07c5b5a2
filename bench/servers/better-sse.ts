/**
 * better-sse 0.16 as the fan-out peer: its channels (`createChannel`, `channel.register(session)`,
 * `channel.broadcast(data, event)`) behind the two routes the fan-out measures use, the same as the
 * contract app's: `GET /channel/NAME` subscribes, `POST /channel/NAME` with `{"data", "event"?}`
 * broadcasts and answers 201 `{"id"}`. better-sse keeps no history (no resuming); its default
 * per-session keepalive timer (10 s) is left on, as its docs set it up.
 */
import { createServer, type IncomingMessage } from "node:http";
import { type Channel, createChannel, createSession } from "better-sse";
import { announce, HOST, PORT } from "./common.ts";

const channels = new Map<string, Channel>();
const channelOf = (name: string): Channel => {
  let ch = channels.get(name);
  if (ch === undefined) {
    ch = createChannel();
    channels.set(name, ch);
  }
  return ch;
};
let nextId = 0;

async function body(req: IncomingMessage): Promise<{ data: unknown; event?: string }> {
  let text = "";
  for await (const chunk of req) text += chunk;
  return JSON.parse(text);
}

const server = createServer(async (req, res) => {
  const m = /^\/channel\/([A-Za-z0-9._~-]{1,200})(?:\?|$)/.exec(req.url ?? "");
  if (m === null) {
    res.writeHead(404).end();
    return;
  }
  const ch = channelOf(m[1]!);
  if (req.method === "GET") {
    const session = await createSession(req, res, { retry: null });
    ch.register(session);
    return;
  }
  if (req.method === "POST") {
    const { data, event } = await body(req);
    const id = String(++nextId);
    ch.broadcast(data, event ?? "message", { eventId: id });
    const text = JSON.stringify({ id });
    res.writeHead(201, { "content-type": "application/json", "content-length": text.length });
    res.end(text);
    return;
  }
  res.writeHead(405).end();
});

server.listen(PORT, HOST, () => announce("better-sse"));
