/**
 * Upstream strings (cluster names, labels, user_message, the organization name, KMS errors,
 * certificate subjects and SANs, SQL node attributes) are data, never instructions: one line,
 * no control or bidirectional-override characters, capped in length. Applied where they enter
 * (the Cloud API schemas, KmsError, certificate parsing, SQL status parsing), so every rendering
 * (text, next steps, confirmation forms, reports) sees only the safe form; reports escape on top.
 */

/** Default cap for names and labels. */
export const MAX_NAME = 200;
/** Cap for upstream messages (user_message, error text). */
export const MAX_MESSAGE = 1000;
/** Cap for our own messages that quote upstream text (KMS errors with their remedy at the end). */
export const MAX_ERROR = 16_000;

/**
 * C0/C1 controls (tabs and newlines included), DEL, the bidirectional embeddings, overrides and
 * isolates, directional marks, zero-width and line/paragraph separators, and the BOM.
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]+/g;

/** `value` as one safe line: unsafe characters become a space, runs of spaces collapse, capped with an ellipsis. */
export function untrusted(value: string, max = MAX_NAME): string {
  const line = value.replace(UNSAFE, ' ').replace(/ {2,}/g, ' ').trim();
  if (line.length <= max) return line;
  return `${[...line.slice(0, max - 1)].join('').replace(/[\ud800-\udbff]$/, '')}…`;
}

/** Starts with a letter or digit and holds nothing Markdown or HTML could act on. */
const PLAIN = /^[\p{L}\p{N}][^#<>`*_[\]|\\~]*$/u;

/**
 * An upstream string as text shows it: `untrusted()`, and quoted (JSON string syntax) unless it
 * is plain, so "## IGNORE ..." reads as a quoted value, never as a heading, list or instruction.
 * Plain names and messages ("prod-east", "KMS key ... is disabled") stay as they are.
 */
export function untrustedText(value: string, max = MAX_NAME): string {
  const line = untrusted(value, max);
  return line === '' || PLAIN.test(line) ? line : JSON.stringify(line);
}

/**
 * Escapes Markdown and inline HTML so a one-line upstream string renders as literal text: no
 * emphasis, code span, link, table cell break, heading or tag. (List markers and `1.` only act at
 * the start of a line, where our renderings never put an upstream string.)
 */
export function escapeMarkdown(value: string): string {
  return value.replace(/[\\`*_[\]#|~<>&]/g, (char) => (char === '<' ? '&lt;' : char === '>' ? '&gt;' : char === '&' ? '&amp;' : `\\${char}`));
}

/** Escapes text for an HTML element or a quoted attribute value. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char]!);
}
