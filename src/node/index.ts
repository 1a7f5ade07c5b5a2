// The public surface of "sluice/node": what needs Node's sockets or file system. Serving an app on
// node:http, files from disk (FileResponse, static directories). Each export is listed by name;
// src/index.test.ts snapshots the list.

// Serving
export type { HTTP2Options } from "../engine/node/http2.ts";
export {
  type AnyServer,
  type RunningServer,
  type ServeOptions,
  serve,
} from "../engine/node/serve.ts";
// Files
export { type FileInit, FileResponse } from "../responses/file.ts";
// Static directories and single files under a mount prefix
export {
  resolveStaticFile,
  type StaticOptions,
  serveFile,
  serveStatic,
  staticMount,
} from "../static/mount.ts";
export { type DotfilesPolicy, normalizeStaticPath, resolveInsideRoot } from "../static/path.ts";
