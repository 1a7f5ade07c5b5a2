/**
 * What a failed file system call means to a client, by its error code: one mapping for every place
 * that opens, stats or resolves a file. `undefined` means a server fault (EMFILE, EIO, ...), to be
 * a 500, never a misleading 404.
 *
 * - 404: nothing there, or nothing that can be (ENOENT, ENOTDIR, ELOOP, EISDIR, and ENAMETOOLONG:
 *   a name longer than the file system allows names no file).
 * - 403: the server may not read it (EACCES, EPERM).
 *
 * @example
 * errnoStatus(Object.assign(new Error(), { code: "ENOENT" })); // 404
 */
export function errnoStatus(error: unknown): 403 | 404 | undefined {
  switch ((error as { code?: unknown } | null)?.code) {
    case "ENOENT":
    case "ENOTDIR":
    case "ELOOP":
    case "EISDIR":
    case "ENAMETOOLONG":
    case "ERR_INVALID_ARG_VALUE":
    case "ERR_INVALID_ARG_TYPE":
      return 404;
    case "EACCES":
    case "EPERM":
      return 403;
    default:
      return undefined;
  }
}
