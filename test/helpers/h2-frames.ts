/**
 * HTTP/2 at the frame level, for the cases a well-behaved client cannot produce: floods, resets in
 * bulk, header blocks built to decode big, streams past the advertised limit. `H2Wire` is a
 * cleartext (h2c) connection that writes frames as given and records every frame that comes back;
 * the HPACK helpers encode header blocks without Huffman coding (RFC 7541), which is all a test
 * needs.
 */
import { connect, type Socket } from "node:net";
import { within } from "./wait.ts";

/** Frame types (RFC 9113 §6). */
export const FRAME = {
  DATA: 0x0,
  HEADERS: 0x1,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

/** Frame flags. */
export const FLAG = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4 } as const;

/** Error codes (RFC 9113 §7). */
export const CODE = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  ENHANCE_YOUR_CALM: 0xb,
} as const;

/** SETTINGS identifiers (RFC 9113 §6.5.2). */
export const SETTING = {
  HEADER_TABLE_SIZE: 0x1,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
} as const;

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/** One frame: a 9-byte header (length, type, flags, stream) and its payload. */
export function frame(
  type: number,
  flags: number,
  stream: number,
  payload: Buffer = Buffer.alloc(0),
): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

export function settingsFrame(settings: readonly (readonly [number, number])[] = []): Buffer {
  const payload = Buffer.alloc(settings.length * 6);
  settings.forEach(([id, value], i) => {
    payload.writeUInt16BE(id, i * 6);
    payload.writeUInt32BE(value, i * 6 + 2);
  });
  return frame(FRAME.SETTINGS, 0, 0, payload);
}

export function rstFrame(stream: number, code: number): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt32BE(code);
  return frame(FRAME.RST_STREAM, 0, stream, payload);
}

export function pingFrame(data: Buffer = Buffer.alloc(8)): Buffer {
  return frame(FRAME.PING, 0, 0, data);
}

export function windowUpdateFrame(stream: number, increment: number): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt32BE(increment);
  return frame(FRAME.WINDOW_UPDATE, 0, stream, payload);
}

/** An HPACK integer with an N-bit prefix; `flags` fills the bits above the prefix (RFC 7541 §5.1). */
export function hpackInt(value: number, prefix: number, flags = 0): Buffer {
  const max = (1 << prefix) - 1;
  if (value < max) return Buffer.from([flags | value]);
  const out = [flags | max];
  let rest = value - max;
  while (rest >= 128) {
    out.push((rest % 128) | 0x80);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return Buffer.from(out);
}

/** An HPACK string literal, not Huffman-coded (RFC 7541 §5.2). */
export function hpackString(text: string): Buffer {
  const bytes = Buffer.from(text, "latin1");
  return Buffer.concat([hpackInt(bytes.length, 7), bytes]);
}

/** A field from the static or dynamic table by index (RFC 7541 §6.1). */
export function indexed(index: number): Buffer {
  return hpackInt(index, 7, 0x80);
}

/**
 * A literal field with a literal name (RFC 7541 §6.2): `incremental` also adds it to the dynamic
 * table, where later blocks can name it with one byte.
 */
export function literal(name: string, value: string, incremental = false): Buffer {
  return Buffer.concat([
    Buffer.from([incremental ? 0x40 : 0x00]),
    hpackString(name),
    hpackString(value),
  ]);
}

/** The header block of a GET (or another method) on h2c, plus extra fields. */
export function requestBlock(path: string, method = "GET", extra: Buffer[] = []): Buffer {
  return Buffer.concat([
    literal(":method", method),
    indexed(6), // :scheme http
    literal(":path", path),
    literal(":authority", "127.0.0.1"),
    ...extra,
  ]);
}

/** A frame as it came back. */
export interface Frame {
  type: number;
  flags: number;
  stream: number;
  payload: Buffer;
}

/** The error code of a RST_STREAM or GOAWAY frame. */
export function errorCode(f: Frame): number {
  return f.type === FRAME.GOAWAY ? f.payload.readUInt32BE(4) : f.payload.readUInt32BE(0);
}

/**
 * A raw h2c connection: the preface and an empty SETTINGS go out on open; every frame that comes
 * back is recorded (and the server's SETTINGS acknowledged), until the connection closes.
 */
export class H2Wire {
  readonly socket: Socket;
  readonly frames: Frame[] = [];
  /** Resolves when the connection has closed, from either side. */
  readonly closed: Promise<void>;
  #buffer = Buffer.alloc(0);
  #waiters: (() => void)[] = [];

  private constructor(socket: Socket) {
    this.socket = socket;
    this.closed = new Promise((resolve) => socket.once("close", () => resolve()));
    socket.on("error", () => {});
    socket.on("data", (chunk: Buffer) => this.#read(chunk));
    socket.on("close", () => this.#wake());
  }

  static async open(port: number, settings: readonly (readonly [number, number])[] = []) {
    const socket = connect({ port, host: "127.0.0.1" });
    await within(
      new Promise<void>((resolve, reject) => {
        socket.once("connect", resolve);
        socket.once("error", reject);
      }),
      3000,
      "a TCP connection",
    );
    const wire = new H2Wire(socket);
    wire.send(PREFACE, settingsFrame(settings));
    return wire;
  }

  /** Writes frames as given; resolves once they are handed to the kernel (or the socket died). */
  send(...frames: Buffer[]): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed) return resolve();
      this.socket.write(Buffer.concat(frames), () => resolve());
    });
  }

  /** The first recorded frame that matches, waiting for it (bounded). */
  async next(match: (f: Frame) => boolean, ms = 3000, what = "a frame"): Promise<Frame> {
    return within(
      (async () => {
        for (;;) {
          const f = this.frames.find(match);
          if (f) return f;
          if (this.socket.destroyed) throw new Error(`connection closed before ${what}`);
          await new Promise<void>((resolve) => this.#waiters.push(resolve));
        }
      })(),
      ms,
      what,
    );
  }

  /** The GOAWAY the server sent, if any. */
  goaway(): Frame | undefined {
    return this.frames.find((f) => f.type === FRAME.GOAWAY);
  }

  destroy(): void {
    this.socket.destroy();
  }

  #read(chunk: Buffer): void {
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    while (this.#buffer.length >= 9) {
      const length = this.#buffer.readUIntBE(0, 3);
      if (this.#buffer.length < 9 + length) break;
      const f: Frame = {
        type: this.#buffer[3]!,
        flags: this.#buffer[4]!,
        stream: this.#buffer.readUInt32BE(5) & 0x7fffffff,
        payload: this.#buffer.subarray(9, 9 + length),
      };
      this.#buffer = this.#buffer.subarray(9 + length);
      this.frames.push(f);
      if (f.type === FRAME.SETTINGS && !(f.flags & FLAG.ACK)) {
        this.socket.write(frame(FRAME.SETTINGS, FLAG.ACK, 0));
      }
    }
    this.#wake();
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }
}
