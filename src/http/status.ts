/**
 * Status codes Sluice knows by name, as literal types, so a body on a status that cannot carry one
 * is a type error (RFC 9110 §15: 1xx, 204, 205 and 304 have no content).
 */

/** Reason phrases for the status codes Sluice writes itself (RFC 9110 §15). */
export const STATUS_TEXT = {
  100: "Continue",
  101: "Switching Protocols",
  103: "Early Hints",
  200: "OK",
  201: "Created",
  202: "Accepted",
  203: "Non-Authoritative Information",
  204: "No Content",
  205: "Reset Content",
  206: "Partial Content",
  207: "Multi-Status",
  300: "Multiple Choices",
  301: "Moved Permanently",
  302: "Found",
  303: "See Other",
  304: "Not Modified",
  307: "Temporary Redirect",
  308: "Permanent Redirect",
  400: "Bad Request",
  401: "Unauthorized",
  402: "Payment Required",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  406: "Not Acceptable",
  407: "Proxy Authentication Required",
  408: "Request Timeout",
  409: "Conflict",
  410: "Gone",
  411: "Length Required",
  412: "Precondition Failed",
  413: "Content Too Large",
  414: "URI Too Long",
  415: "Unsupported Media Type",
  416: "Range Not Satisfiable",
  417: "Expectation Failed",
  418: "I'm a Teapot",
  421: "Misdirected Request",
  422: "Unprocessable Content",
  423: "Locked",
  424: "Failed Dependency",
  425: "Too Early",
  426: "Upgrade Required",
  428: "Precondition Required",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  451: "Unavailable For Legal Reasons",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
  505: "HTTP Version Not Supported",
  507: "Insufficient Storage",
  508: "Loop Detected",
  511: "Network Authentication Required",
} as const;

/**
 * Every status code Sluice names.
 *
 * @example
 * const s: StatusCode = 201;
 */
export type StatusCode = keyof typeof STATUS_TEXT;

/**
 * Statuses that never carry content (RFC 9110 §6.4.1): informational, 204, 205 and 304.
 *
 * @example
 * const s: ContentlessStatus = 304;
 */
export type ContentlessStatus = 100 | 101 | 103 | 204 | 205 | 304;

/**
 * Statuses that may carry content.
 *
 * @example
 * const s: ContentfulStatus = 200; // 204 here is a type error
 */
export type ContentfulStatus = Exclude<StatusCode, ContentlessStatus>;

/**
 * Statuses a redirect may use.
 *
 * @example
 * const s: RedirectStatus = 308;
 */
export type RedirectStatus = 301 | 302 | 303 | 307 | 308;

/**
 * Error statuses (4xx and 5xx), the ones an `HTTPError` may carry.
 *
 * @example
 * const s: ErrorStatus = 404;
 */
export type ErrorStatus = {
  [S in StatusCode]: `${S}` extends `4${string}` | `5${string}` ? S : never;
}[StatusCode];

/**
 * The reason phrase of a status code, or a generic one for codes Sluice does not name.
 *
 * @example
 * statusText(404); // "Not Found"
 */
export function statusText(status: number): string {
  return (
    (STATUS_TEXT as Record<number, string>)[status] ?? (status >= 500 ? "Server Error" : "Error")
  );
}

/**
 * True for statuses whose responses never carry content.
 *
 * @example
 * isContentless(304); // true
 */
export function isContentless(status: number): boolean {
  return status < 200 || status === 204 || status === 205 || status === 304;
}
