/** Small statistics helpers. */
export function median(xs: number[]): number {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
export function min(xs: number[]): number {
  const ys = xs.filter((x) => !Number.isNaN(x));
  return ys.length ? Math.min(...ys) : Number.NaN;
}
export function max(xs: number[]): number {
  const ys = xs.filter((x) => !Number.isNaN(x));
  return ys.length ? Math.max(...ys) : Number.NaN;
}
export const MiB = 1024 * 1024;
export const MB = 1e6;
