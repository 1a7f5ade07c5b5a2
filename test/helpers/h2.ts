/**
 * HTTP/2 from the client's side, for tests: a session that trusts the test certificate, and one
 * request answered raw (undecoded body, every field as sent, how the stream ended).
 */
import {
  type ClientHttp2Session,
  type ClientSessionOptions,
  connect,
  constants,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type SecureClientSessionOptions,
} from "node:http2";
import { connect as tlsConnect } from "node:tls";
import { testCertificate } from "./app.ts";
import { within } from "./wait.ts";

export const { NGHTTP2_NO_ERROR, NGHTTP2_CANCEL, NGHTTP2_INTERNAL_ERROR, NGHTTP2_REFUSED_STREAM } =
  constants;

/**
 * Opens a session (h2 over TLS for https URLs, h2c for http ones), once connected and the server's
 * SETTINGS have arrived.
 */
export function h2Connect(
  url: string,
  options: SecureClientSessionOptions | ClientSessionOptions = {},
): Promise<ClientHttp2Session> {
  return within(
    new Promise((resolve, reject) => {
      const session = connect(url, options);
      let waiting = 2;
      const ready = () => {
        if (--waiting > 0) return;
        session.off("error", reject);
        // Later session errors reach the streams on it.
        session.on("error", () => {});
        resolve(session);
      };
      session.once("connect", ready);
      session.once("remoteSettings", ready);
      session.once("error", reject);
    }),
    3000,
    `an h2 session to ${url}`,
  );
}

/** An h2 response read to its end, or to its reset. */
export interface H2Response {
  status: number;
  /** Every field but the pseudo-headers, as node:http2 gives them. */
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The stream's RST_STREAM code: NO_ERROR after a clean end. */
  rstCode: number;
  /** Whether the body ended with END_STREAM (rather than a reset). */
  ended: boolean;
}

/**
 * Sends one request on a session and reads the response whole (bounded). `:path` goes out as
 * given, byte for byte.
 */
export function h2Request(
  session: ClientHttp2Session,
  method: string,
  path: string,
  headers: OutgoingHttpHeaders = {},
  body?: string | Uint8Array,
): Promise<H2Response> {
  return within(
    new Promise<H2Response>((resolve, reject) => {
      const stream = session.request(
        { ":method": method, ":path": path, ...headers },
        { endStream: body === undefined },
      );
      if (body !== undefined) stream.end(body);
      let head: IncomingHttpHeaders | undefined;
      const parts: Buffer[] = [];
      let ended = false;
      stream.on("response", (h) => {
        head = h;
      });
      stream.on("data", (chunk: Buffer) => parts.push(chunk));
      stream.on("end", () => {
        ended = true;
      });
      stream.on("error", () => {});
      stream.on("close", () => {
        if (head === undefined) {
          reject(new Error(`stream closed before a response (code ${stream.rstCode})`));
          return;
        }
        const fields: IncomingHttpHeaders = {};
        for (const [k, v] of Object.entries(head)) if (!k.startsWith(":")) fields[k] = v;
        resolve({
          status: Number(head[":status"]),
          headers: fields,
          body: Buffer.concat(parts),
          rstCode: stream.rstCode ?? NGHTTP2_NO_ERROR,
          ended,
        });
      });
    }),
    5000,
    `${method} ${path} over h2`,
  );
}

/**
 * A GET over TLS in HTTP/1.x, offering the given ALPN protocols (none: no ALPN extension), read
 * until the server closes; `error` says how the connection ended when it did not end cleanly.
 */
export function tlsGet(
  port: number,
  path: string,
  alpn?: string[],
  ca: string = testCertificate().cert,
  version: "1.1" | "1.0" = "1.1",
): Promise<{ protocol: string | false; raw: string; error?: string }> {
  return within(
    new Promise((resolve) => {
      const socket = tlsConnect({
        port,
        host: "127.0.0.1",
        ca,
        servername: "localhost",
        ...(alpn ? { ALPNProtocols: alpn } : {}),
      });
      let raw = "";
      let error: string | undefined;
      socket.setEncoding("latin1");
      socket.on("secureConnect", () => {
        socket.write(`GET ${path} HTTP/${version}\r\nHost: localhost\r\nConnection: close\r\n\r\n`);
      });
      socket.on("data", (d: string) => {
        raw += d;
      });
      socket.on("error", (err: NodeJS.ErrnoException) => {
        error = err.code ?? err.message;
      });
      socket.on("close", () =>
        resolve({ protocol: socket.alpnProtocol ?? false, raw, ...(error ? { error } : {}) }),
      );
    }),
    5000,
    `GET ${path} over TLS`,
  );
}
