/**
 * Cookies both ways: the `Cookie` request header read into names and values, and one `Set-Cookie`
 * field built from a name, a value and attributes, refused (with the rule it breaks) whenever a
 * browser would drop or misread it. The `cookie` package does the syntax of values and attributes;
 * the rules browsers apply on top of it are here.
 */
import { parseCookie, type SetCookie, stringifySetCookie } from "cookie";

/**
 * Attributes of a `Set-Cookie` field, as the `cookie` package takes them.
 *
 * @example
 * const attributes: CookieAttributes = { httpOnly: true, secure: true, sameSite: "lax", path: "/" };
 */
export type CookieAttributes = Omit<SetCookie, "name" | "value">;

/**
 * The outcome of {@link formatSetCookie}: the field value to send, or the rule it breaks.
 *
 * @example
 * const result: SetCookieResult = { ok: false, reason: "a __Host- cookie must be Secure" };
 */
export type SetCookieResult = { ok: true; value: string } | { ok: false; reason: string };

// RFC 6265 §4.1.1: cookie-name = token (RFC 9110 §5.6.2): no separators, spaces or controls.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Longest name plus value a browser stores (RFC 6265bis §5.6: longer is ignored entirely). */
export const MAX_COOKIE_PAIR = 4096;

/** Longest attribute value a browser reads (RFC 6265bis §5.6: a longer one is ignored). */
export const MAX_COOKIE_ATTRIBUTE = 1024;

/**
 * Builds one `Set-Cookie` field value. Refused, with the reason, when the cookie would be dropped
 * or read differently by a browser rather than set as written:
 *
 * - The name is not an RFC 6265 token (`a,b`, `a:b`, `a"b`, `(a)`, `a/b`, spaces, controls).
 * - A value or attribute the `cookie` package refuses (it percent-encodes the value; it refuses
 *   a path or domain with `;` or controls, a Max-Age that is not an integer, an invalid date).
 * - Name prefixes (RFC 6265bis §4.1.3, matched case-insensitively as browsers now do):
 *   `__Secure-` needs Secure; `__Host-` needs Secure, `Path=/` and no Domain.
 * - `SameSite=None` without Secure (RFC 6265bis §5.6.7), and `Partitioned` without Secure
 *   (CHIPS): browsers ignore both cookies.
 * - Name and value longer than 4096 bytes together, or a Path or Domain longer than 1024
 *   (RFC 6265bis §5.6): the cookie, or the attribute, is ignored.
 *
 * @example
 * formatSetCookie("id", "a b", { httpOnly: true }); // { ok: true, value: "id=a%20b; HttpOnly" }
 * formatSetCookie("__Host-id", "1", { path: "/" }); // { ok: false, reason: "... must be set with Secure ..." }
 */
export function formatSetCookie(
  name: string,
  value: string,
  attributes: CookieAttributes = {},
): SetCookieResult {
  if (typeof name !== "string" || !TOKEN.test(name)) {
    return fail(
      `cookie name ${JSON.stringify(name)} is not an RFC 6265 token: no spaces, controls or ` +
        `separators ( ) < > @ , ; : \\ " / [ ] ? = { }`,
    );
  }
  let line: string;
  try {
    line = stringifySetCookie({ ...attributes, name, value });
  } catch (error) {
    return fail((error as Error).message);
  }
  const secure = attributes.secure === true;
  const lower = name.toLowerCase();
  if (lower.startsWith("__secure-") && !secure) {
    return fail(
      `a cookie named __Secure-… must be set with Secure, or browsers drop it (RFC 6265bis §4.1.3.1): ${name}`,
    );
  }
  if (lower.startsWith("__host-")) {
    if (!secure) {
      return fail(
        `a cookie named __Host-… must be set with Secure, or browsers drop it (RFC 6265bis §4.1.3.2): ${name}`,
      );
    }
    if (attributes.path !== "/") {
      return fail(
        `a cookie named __Host-… must be set with Path=/, or browsers drop it (RFC 6265bis §4.1.3.2): ${name}`,
      );
    }
    if (attributes.domain !== undefined && attributes.domain !== "") {
      return fail(
        `a cookie named __Host-… must be set without Domain, or browsers drop it (RFC 6265bis §4.1.3.2): ${name}`,
      );
    }
  }
  const sameSite = attributes.sameSite;
  if (typeof sameSite === "string" && sameSite.toLowerCase() === "none" && !secure) {
    return fail(
      `a cookie with SameSite=None must be set with Secure, or browsers drop it (RFC 6265bis §5.6.7): ${name}`,
    );
  }
  if (attributes.partitioned === true && !secure) {
    return fail(
      `a Partitioned cookie must be set with Secure, or browsers drop it (CHIPS): ${name}`,
    );
  }
  const pair = line.indexOf(";") === -1 ? line.length : line.indexOf(";");
  // The encoded value is ASCII, so characters are bytes; "=" is not counted.
  if (pair - 1 > MAX_COOKIE_PAIR) {
    return fail(
      `cookie ${name} is ${pair - 1} bytes of name and value; browsers ignore more than ${MAX_COOKIE_PAIR} (RFC 6265bis §5.6)`,
    );
  }
  for (const key of ["path", "domain"] as const) {
    const v = attributes[key];
    if (typeof v === "string" && v.length > MAX_COOKIE_ATTRIBUTE) {
      return fail(
        `cookie ${name}: a ${key} of ${v.length} characters is ignored by browsers (at most ${MAX_COOKIE_ATTRIBUTE}, RFC 6265bis §5.6)`,
      );
    }
  }
  return { ok: true, value: line };
}

/**
 * Reads a `Cookie` request header into names and values (percent-decoded where they decode; the
 * first of a repeated name wins). Never throws; an object without a prototype, so a cookie named
 * `__proto__` or `constructor` is a name like any other.
 *
 * @example
 * parseCookieHeader("a=1; b=x%20y"); // { a: "1", b: "x y" }
 */
export function parseCookieHeader(header: string): Record<string, string | undefined> {
  return parseCookie(header);
}

function fail(reason: string): SetCookieResult {
  return { ok: false, reason };
}
