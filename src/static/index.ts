// The public surface of "sluice/static": directories and single files under a mount prefix.

export {
  resolveStaticFile,
  type StaticOptions,
  serveFile,
  serveStatic,
  staticMount,
} from "./mount.ts";
export { type DotfilesPolicy, normalizeStaticPath, resolveInsideRoot } from "./path.ts";
