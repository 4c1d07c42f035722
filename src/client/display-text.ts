/**
 * Server-sent text made safe to print: C0 and C1 control characters and DEL are shown as
 * `\xNN`, so a hostile server's names, tags or error messages cannot carry terminal
 * escape sequences (clear the screen, retitle the window, fake output) to the user.
 * Applied on the way out, to every line the shell prints (ShellOutput) and to the progress
 * bar's label (progress.ts); the formatters (listing-format.ts) return text as sent.
 */
export function displayText(s: string): string {
  // A run of unsafe characters is escaped in one call: one call per character made a
  // hostile listing of 136 million control characters take tens of seconds.
  return s.replace(UNSAFE_RUNS, (run) => {
    let shown = '';
    for (let i = 0; i < run.length; i++) shown += escapeOf(run.charCodeAt(i));
    return shown;
  });
}

// C0 and C1 controls and DEL could drive the terminal; bidirectional overrides, embeddings,
// isolates and marks could make a name read as another on screen. All are shown as escapes.
// eslint-disable-next-line no-control-regex
const UNSAFE_RUNS = /[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]+/g;

/** `\xNN` for the controls (precomputed), `\uNNNN` for the bidirectional characters. */
const CONTROL_ESCAPES = Array.from({ length: 0xa0 }, (_, c) => `\\x${c.toString(16).padStart(2, '0')}`);

function escapeOf(code: number): string {
  return code < 0xa0 ? CONTROL_ESCAPES[code]! : `\\u${code.toString(16).padStart(4, '0')}`;
}
