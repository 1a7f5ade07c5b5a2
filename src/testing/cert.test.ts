import assert from "node:assert/strict";
import { createHash, createPrivateKey, X509Certificate } from "node:crypto";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import { connect } from "node:tls";
import { selfSignedCertificate } from "./cert.ts";

describe("selfSignedCertificate", () => {
  it("makes a certificate that signed itself, for localhost and loopback by default", () => {
    const { cert, key, spki } = selfSignedCertificate();
    const x = new X509Certificate(cert);
    assert.equal(x.subject, "CN=localhost");
    assert.equal(x.issuer, x.subject);
    assert.ok(x.verify(x.publicKey), "the signature does not verify with its own key");
    assert.ok(x.checkPrivateKey(createPrivateKey(key)));
    assert.equal(x.checkHost("localhost"), "localhost");
    assert.equal(x.checkIP("127.0.0.1"), "127.0.0.1");
    assert.equal(x.checkIP("::1"), "::1");
    assert.equal(x.checkHost("example.com"), undefined);
    assert.equal(x.ca, false);
    assert.deepEqual(x.keyUsage, ["1.3.6.1.5.5.7.3.1"]);
    const der = x.publicKey.export({ type: "spki", format: "der" });
    assert.equal(spki, createHash("sha256").update(der).digest("base64"));
  });

  it("is valid from an hour ago for the days asked", () => {
    const now = Date.now();
    const x = new X509Certificate(selfSignedCertificate({ days: 30 }).cert);
    const from = Date.parse(x.validFrom);
    const to = Date.parse(x.validTo);
    assert.ok(from <= now && from > now - 2 * 3_600_000, x.validFrom);
    assert.ok(Math.abs(to - (now + 30 * 86_400_000)) < 5000, x.validTo);
  });

  it("names every host given, addresses as IP entries", () => {
    const x = new X509Certificate(
      selfSignedCertificate({ hosts: ["app.test", "10.0.0.7", "2001:db8::1", "::ffff:10.0.0.1"] })
        .cert,
    );
    assert.equal(x.subject, "CN=app.test");
    assert.equal(
      x.subjectAltName,
      "DNS:app.test, IP Address:10.0.0.7, IP Address:2001:DB8:0:0:0:0:0:1, IP Address:0:0:0:0:0:FFFF:A00:1",
    );
  });

  it("refuses to make one for no host", () => {
    assert.throws(() => selfSignedCertificate({ hosts: [] }), TypeError);
  });

  it("makes two different keys on two calls", () => {
    assert.notEqual(selfSignedCertificate().spki, selfSignedCertificate().spki);
  });

  it("serves TLS that a client trusting it as a CA accepts, and one that does not refuses", async () => {
    const { cert, key } = selfSignedCertificate();
    const server = createServer({ cert, key }, (_req, res) => res.end("ok"));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    const handshake = (ca?: string) =>
      new Promise<string>((resolve) => {
        const socket = connect({ port, host: "127.0.0.1", servername: "localhost", ca });
        socket.once("secureConnect", () => {
          socket.destroy();
          resolve("trusted");
        });
        socket.once("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? "error"));
      });
    try {
      assert.equal(await handshake(cert), "trusted");
      assert.notEqual(await handshake(), "trusted");
    } finally {
      server.close();
    }
  });
});
