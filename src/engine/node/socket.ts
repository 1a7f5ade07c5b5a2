/// <reference types="node" preserve="true" />
// The declarations emitted for this module name Node's types: the directive keeps them resolvable in
// a consumer whose tsconfig lists no `types` (@types/node comes with the package).
import type { Socket } from "node:net";

/**
 * Closes a connection so that its client sees an error, not a clean end: a TCP reset, once what
 * was written has been handed to the kernel. A TLS socket cannot be reset itself
 * (`resetAndDestroy` throws on it), and a close of it reads as a clean end to many clients (curl
 * takes a missing close_notify as the end of a close-delimited body): the TCP socket under it is
 * reset (a server's TLS socket keeps it as `_parent`), once the encrypted bytes have left libuv's
 * write queue; failing that, the TLS socket is destroyed.
 * @internal
 */
export function resetSocket(socket: Socket): void {
  if (!(socket as { encrypted?: boolean }).encrypted) return void socket.resetAndDestroy();
  const tcp = (socket as { _parent?: Socket | null })._parent;
  if (!tcp || typeof tcp.resetAndDestroy !== "function" || tcp.destroyed) {
    socket.destroy();
    return;
  }
  const handle = (tcp as { _handle?: { writeQueueSize?: number } | null })._handle;
  let turns = 100;
  const reset = () => {
    if ((handle?.writeQueueSize ?? 0) > 0 && turns-- > 0 && !tcp.destroyed) {
      setImmediate(reset);
      return;
    }
    if (!tcp.destroyed) tcp.resetAndDestroy();
    socket.destroy();
  };
  reset();
}
