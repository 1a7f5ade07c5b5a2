/**
 * Header validation shared by every response and both engines, so that no value can split a
 * header (CR/LF) or be cut short (NUL), whichever runtime writes it.
 */

// RFC 9110 §5.6.2 token.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// RFC 9110 §5.5 field-value: visible ASCII, SP, HTAB and obs-text; no CR, LF, NUL or other controls.
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * Thrown when code sets a header name or value that could not be written safely.
 *
 * @example
 * try { res.setHeader("x-a", "1\r\nx-b: 2"); } catch (e) { e instanceof HeaderError; } // true
 */
export class HeaderError extends TypeError {
  constructor(message: string) {
    super(message);
    this.name = "HeaderError";
  }
}

/**
 * True when `name` is a valid header name (an RFC 9110 token).
 *
 * @example
 * isValidHeaderName("x-request-id"); // true
 * isValidHeaderName("bad name"); // false
 */
export function isValidHeaderName(name: string): boolean {
  return TOKEN.test(name);
}

/**
 * True when `value` can be sent as a header value: no CR, LF, NUL or other control character,
 * nothing outside Latin-1.
 *
 * @example
 * isValidHeaderValue("hello"); // true
 * isValidHeaderValue("a\r\nSet-Cookie: x=1"); // false
 */
export function isValidHeaderValue(value: string): boolean {
  return FIELD_VALUE.test(value);
}

/**
 * Throws a HeaderError naming the problem unless `name: value` is safe to send.
 *
 * @example
 * assertHeader("x-echo", "fine"); // ok
 */
export function assertHeader(name: string, value: string): void {
  if (!TOKEN.test(name)) throw new HeaderError(`invalid header name ${JSON.stringify(name)}`);
  if (!FIELD_VALUE.test(value)) {
    throw new HeaderError(
      `invalid value for header ${name}: control characters (CR, LF, NUL) or non-Latin-1 text are not allowed`,
    );
  }
}
