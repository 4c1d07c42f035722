/**
 * Server-sent text made safe to print: C0 and C1 control characters and DEL are shown as
 * `\xNN`, so a hostile server's names, tags or error messages cannot carry terminal
 * escape sequences (clear the screen, retitle the window, fake output) to the user.
 * Applied on the way out, to every line the shell prints (ShellOutput) and to the progress
 * bar's label (progress.ts); the formatters (listing-format.ts) return text as sent.
 */
export function displayText(s: string): string {
  // C0 and C1 controls could drive the terminal; bidirectional overrides and isolates
  // could make a name read as another on screen. Both are shown as escapes.
  // eslint-disable-next-line no-control-regex
  return s
    .replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
    .replace(/[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
