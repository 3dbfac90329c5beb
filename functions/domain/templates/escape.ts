/**
 * Escaping per format. JSON variants put values inside JSON strings ("text": "{{alert.summary}}"),
 * so a value becomes JSON string content: quotes, backslashes and control characters escaped, and
 * `<`, `>`, `&`, U+2028/U+2029 as \u escapes too, so that the JSON stays harmless when a receiver
 * embeds it in HTML or a script (`</script>` cannot close anything). The output always parses.
 */
const extraJsonEscapes = /[<>&\u2028\u2029]/g;

export function jsonStringContent(value: string): string {
  const quoted = JSON.stringify(value);
  return quoted
    .slice(1, -1)
    .replace(extraJsonEscapes, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** A whole JSON value (the `json` helper in JSON variants): the same extra escapes as above. */
export function jsonValue(value: unknown): string {
  const text = JSON.stringify(value ?? null) ?? "null";
  return text.replace(extraJsonEscapes, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** What Handlebars prints for a value: "" for null/undefined, else its string form. */
export function displayString(value: unknown): string {
  if (value === null || value === undefined) return "";
  return String(value);
}
