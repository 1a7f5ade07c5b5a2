/// <reference types="node" preserve="true" />
// The declarations emitted for this module name Node's types: the directive keeps them resolvable in
// a consumer whose tsconfig lists no `types` (@types/node comes with the package).
import { createHash, generateKeyPairSync, randomBytes, sign } from "node:crypto";
import { isIPv4, isIPv6 } from "node:net";

/**
 * A self-signed certificate and its key, in PEM.
 *
 * @example
 * const { cert, key, spki } = selfSignedCertificate();
 * // serve with { tls: { cert, key } }; trust it with { ca: cert }; pin it in Chromium with spki
 */
export interface SelfSignedCertificate {
  /** The certificate (PEM). Trust it as a CA in a client (`ca: cert`): it signed itself. */
  readonly cert: string;
  /** The private key (PEM, PKCS#8). */
  readonly key: string;
  /**
   * The base64 SHA-256 of the certificate's public key (SPKI): what Chromium's
   * `--ignore-certificate-errors-spki-list` takes to trust this one certificate.
   */
  readonly spki: string;
}

/**
 * Options of `selfSignedCertificate`.
 *
 * @example
 * const options: CertificateOptions = { hosts: ["app.test", "127.0.0.1"], days: 1 };
 */
export interface CertificateOptions {
  /** Names and addresses the certificate is for (default `localhost`, `127.0.0.1`, `::1`). */
  hosts?: readonly string[];
  /** Days it is valid from now (default 7). */
  days?: number;
}

/**
 * Makes a self-signed TLS certificate (ECDSA P-256, SHA-256) for tests, with node:crypto alone: no
 * key is committed, no `openssl` needed. The hosts go into subjectAltName (RFC 5280 §4.2.1.6), as
 * browsers require; the first is also the subject's common name.
 *
 * @example
 * const { cert, key } = selfSignedCertificate();
 * const server = await serve(app, { port: 0, tls: { cert, key } });
 * const session = http2.connect(server.url, { ca: cert });
 */
export function selfSignedCertificate(options: CertificateOptions = {}): SelfSignedCertificate {
  const hosts = options.hosts ?? ["localhost", "127.0.0.1", "::1"];
  if (hosts.length === 0) throw new TypeError("a certificate needs at least one host");
  const days = options.days ?? 7;
  const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const spki = publicKey.export({ type: "spki", format: "der" });
  const name = seq(set(seq(oid("2.5.4.3"), tlv(0x0c, Buffer.from(hosts[0]!, "utf8")))));
  const now = Date.now();
  const serial = randomBytes(16);
  serial[0]! &= 0x7f; // a positive INTEGER (RFC 5280 §4.1.2.2)
  const ecdsaSha256 = seq(oid("1.2.840.10045.4.3.2"));
  const altNames = hosts.map((host) => {
    if (isIPv4(host)) return tlv(0x87, Buffer.from(host.split(".").map(Number)));
    if (isIPv6(host)) return tlv(0x87, ipv6Bytes(host));
    return tlv(0x82, Buffer.from(host, "ascii"));
  });
  const extensions = [
    // basicConstraints: not a CA (critical).
    seq(oid("2.5.29.19"), tlv(0x01, Buffer.from([0xff])), octets(seq())),
    // keyUsage: digitalSignature (critical).
    seq(
      oid("2.5.29.15"),
      tlv(0x01, Buffer.from([0xff])),
      octets(tlv(0x03, Buffer.from([7, 0x80]))),
    ),
    // extKeyUsage: serverAuth.
    seq(oid("2.5.29.37"), octets(seq(oid("1.3.6.1.5.5.7.3.1")))),
    // subjectAltName.
    seq(oid("2.5.29.17"), octets(seq(...altNames))),
  ];
  const tbs = seq(
    tlv(0xa0, integer(Buffer.from([2]))), // version 3
    integer(serial),
    ecdsaSha256,
    name,
    seq(time(new Date(now - 3_600_000)), time(new Date(now + days * 86_400_000))),
    name,
    spki,
    tlv(0xa3, seq(...extensions)),
  );
  const signature = sign("sha256", tbs, privateKey);
  const der = seq(tbs, ecdsaSha256, tlv(0x03, Buffer.concat([Buffer.from([0]), signature])));
  return {
    cert: pem("CERTIFICATE", der),
    key: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    spki: createHash("sha256").update(spki).digest("base64"),
  };
}

// DER (X.690): tag, length, contents.
function tlv(tag: number, body: Buffer): Buffer {
  const n = body.length;
  let head: number[];
  if (n < 0x80) head = [tag, n];
  else if (n < 0x100) head = [tag, 0x81, n];
  else if (n < 0x10000) head = [tag, 0x82, n >> 8, n & 0xff];
  else head = [tag, 0x83, n >> 16, (n >> 8) & 0xff, n & 0xff];
  return Buffer.concat([Buffer.from(head), body]);
}

function seq(...items: Buffer[]): Buffer {
  return tlv(0x30, Buffer.concat(items));
}

function set(...items: Buffer[]): Buffer {
  return tlv(0x31, Buffer.concat(items));
}

function octets(body: Buffer): Buffer {
  return tlv(0x04, body);
}

function integer(bytes: Buffer): Buffer {
  // Minimal and positive: strip leading zeros, keep one when the next byte's high bit is set.
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0 && bytes[i + 1]! < 0x80) i++;
  return tlv(0x02, bytes.subarray(i));
}

function oid(dotted: string): Buffer {
  const parts = dotted.split(".").map(Number);
  const out = [parts[0]! * 40 + parts[1]!];
  for (const part of parts.slice(2)) {
    const base128 = [part & 0x7f];
    for (let v = part >>> 7; v > 0; v >>>= 7) base128.unshift((v & 0x7f) | 0x80);
    out.push(...base128);
  }
  return tlv(0x06, Buffer.from(out));
}

/** UTCTime until 2049, GeneralizedTime after (RFC 5280 §4.1.2.5). */
function time(date: Date): Buffer {
  const iso = date.toISOString().replace(/[-:T]/g, "").slice(0, 14); // YYYYMMDDHHMMSS
  const year = date.getUTCFullYear();
  return year < 2050
    ? tlv(0x17, Buffer.from(`${iso.slice(2)}Z`, "ascii"))
    : tlv(0x18, Buffer.from(`${iso}Z`, "ascii"));
}

function ipv6Bytes(address: string): Buffer {
  // A trailing dotted IPv4 part (::ffff:127.0.0.1) is two groups.
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(address);
  const text = v4
    ? `${address.slice(0, v4.index)}${((+v4[1]! << 8) | +v4[2]!).toString(16)}:${((+v4[3]! << 8) | +v4[4]!).toString(16)}`
    : address;
  const [left = "", right] = text.split("::");
  const groups = (s: string) => (s === "" ? [] : s.split(":"));
  const head = groups(left);
  const tail = right === undefined ? [] : groups(right);
  const fill = new Array(8 - head.length - tail.length).fill("0");
  const all = right === undefined ? head : [...head, ...fill, ...tail];
  const out = Buffer.alloc(16);
  for (const [i, g] of all.entries()) out.writeUInt16BE(Number.parseInt(g, 16), i * 2);
  return out;
}

function pem(label: string, der: Buffer): string {
  const b64 = der.toString("base64").replace(/.{64}/g, "$&\n").replace(/\n$/, "");
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}
