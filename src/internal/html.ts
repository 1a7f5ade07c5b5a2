const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/**
 * Escapes text for HTML content and quoted attribute values: `& < > " '`.
 *
 * @example
 * escapeHTML('<b title="x">'); // "&lt;b title=&quot;x&quot;&gt;"
 */
export function escapeHTML(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}
