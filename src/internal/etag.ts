/**
 * The file metadata an ETag is made of; `fs.Stats` and `fs.BigIntStats` both fit.
 *
 * @example
 * const stat: FileStat = await fs.promises.stat(path, { bigint: true });
 */
export type FileStat = {
  size: number | bigint;
  mtimeMs: number | bigint;
  ino: number | bigint;
  mtimeNs?: bigint;
};

/**
 * An entity tag taken apart (RFC 9110 §8.8.3): `opaque` is the text between the quotes.
 *
 * @example
 * const tag: EntityTag = { weak: true, opaque: "abc" }; // W/"abc"
 */
export type EntityTag = { weak: boolean; opaque: string };

/**
 * A strong ETag for a file: `"<inode>-<size>-<mtime in ns>"`, each in lower-case hex.
 *
 * Strong (RFC 9110 §8.8.1) because the bytes of a regular file cannot change without the size or
 * the modification time changing, and an atomic replacement (write then rename) gets a new inode
 * even when size and mtime are copied over. The time is in nanoseconds where the stat carries them
 * (`stat(path, { bigint: true })`), which also keeps inode numbers above 2^53 exact; from a plain
 * `Stats` it is derived from `mtimeMs`. The one blind spot is a same-size rewrite in place within
 * one tick of a filesystem with coarse timestamps (FAT: 2 s).
 *
 * @example
 * fileETag({ ino: 42, size: 1000, mtimeMs: 1700000000000 }); // '"2a-3e8-17979cfe362a0000"'
 */
export function fileETag(stat: FileStat): string {
  const ns = stat.mtimeNs ?? millisToNanos(stat.mtimeMs);
  return `"${hex(BigInt(stat.ino))}-${hex(BigInt(stat.size))}-${hex(ns)}"`;
}

/**
 * The weak form of an entity tag (RFC 9110 §8.8.1); a weak tag is returned unchanged.
 * Throws a TypeError when `tag` is not an entity tag, so a bad value never reaches a header.
 *
 * @example
 * weakETag('"abc"'); // 'W/"abc"'
 */
export function weakETag(tag: string): string {
  const parsed = requireEntityTag(tag);
  return formatEntityTag({ weak: true, opaque: parsed.opaque });
}

/**
 * A derived entity tag for another representation of the same resource, such as a compressed one:
 * each representation needs its own tag (RFC 9110 §8.8.3). Weakness is kept.
 * Throws a TypeError when `tag` is not an entity tag or `suffix` has characters an entity tag
 * cannot hold.
 *
 * @example
 * suffixETag('"abc"', "br"); // '"abc-br"'
 * suffixETag('W/"abc"', "gzip"); // 'W/"abc-gzip"'
 */
export function suffixETag(tag: string, suffix: string): string {
  const parsed = requireEntityTag(tag);
  if (suffix === "" || !isOpaque(suffix)) throw new TypeError(`Invalid ETag suffix: ${suffix}`);
  return formatEntityTag({ weak: parsed.weak, opaque: `${parsed.opaque}-${suffix}` });
}

/**
 * Parses one entity tag (RFC 9110 §8.8.3); `undefined` when it is not one. The `W/` prefix is
 * case-sensitive.
 *
 * @example
 * parseEntityTag('W/"abc"'); // { weak: true, opaque: "abc" }
 * parseEntityTag("abc"); // undefined
 */
export function parseEntityTag(tag: string): EntityTag | undefined {
  const weak = tag.startsWith("W/");
  const start = weak ? 2 : 0;
  if (tag.length < start + 2 || tag.charCodeAt(start) !== QUOTE) return undefined;
  if (tag.charCodeAt(tag.length - 1) !== QUOTE) return undefined;
  const opaque = tag.slice(start + 1, -1);
  return isOpaque(opaque) ? { weak, opaque } : undefined;
}

/**
 * Writes an entity tag back out.
 *
 * @example
 * formatEntityTag({ weak: false, opaque: "abc" }); // '"abc"'
 */
export function formatEntityTag(tag: EntityTag): string {
  return `${tag.weak ? "W/" : ""}"${tag.opaque}"`;
}

/**
 * Whether `code` is an etagc: `%x21 / %x23-7E / obs-text` (RFC 9110 §8.8.3).
 *
 * @example
 * isETagChar("a".charCodeAt(0)); // true
 * isETagChar('"'.charCodeAt(0)); // false
 */
export function isETagChar(code: number): boolean {
  return code === 0x21 || (code >= 0x23 && code <= 0x7e) || (code >= 0x80 && code <= 0xff);
}

const QUOTE = 0x22;

function isOpaque(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    if (!isETagChar(text.charCodeAt(i))) return false;
  }
  return true;
}

function requireEntityTag(tag: string): EntityTag {
  const parsed = parseEntityTag(tag);
  if (parsed === undefined) throw new TypeError(`Invalid entity tag: ${tag}`);
  return parsed;
}

/** Floors to whole milliseconds first so that negative (pre-1970) times stay monotonic. */
function millisToNanos(ms: number | bigint): bigint {
  if (typeof ms === "bigint") return ms * 1_000_000n;
  if (!Number.isFinite(ms)) return 0n;
  const whole = Math.floor(ms);
  return BigInt(whole) * 1_000_000n + BigInt(Math.round((ms - whole) * 1_000_000));
}

/** Two's complement keeps a negative value free of "-", the field separator. */
function hex(value: bigint): string {
  return (value < 0n ? BigInt.asUintN(64, value) : value).toString(16);
}
