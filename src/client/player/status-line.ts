import readline from 'node:readline';
import type { Writable } from 'node:stream';
import stringWidth from 'string-width';
import { truncateToWidth } from './now-playing.js';

/**
 * One status line kept up to date on a terminal, directly above readline's prompt, without
 * touching what the user is typing. The layout it keeps, from the top:
 *
 *   ...earlier output...
 *   <status line>                  (only while there is a status)
 *   as> what the user types_       (only while the shell is at its prompt)
 *
 * Redrawing the status alone saves the cursor (ESC 7), goes up to the status row, rewrites
 * it and restores the cursor (ESC 8): readline's idea of where its cursor is stays true.
 * Anything that changes the rows (showing or hiding the status, printing output) clears
 * from the status row down, writes, and lets readline redraw its line with `prompt(true)`,
 * which moves up by the rows the input takes; newlines are written first so that move
 * lands on the right row.
 *
 * Rules for the shell: print through `print()` while the writer is in use, and show the
 * prompt with `prompt()`; hide the status (`set(undefined)`) before anything else draws on
 * the terminal (a transfer's progress bar). A terminal resized while the status shows may
 * leave one stale row; the next change redraws it.
 */
export class StatusLineWriter {
  private status: string | undefined;
  private visible = false;
  private promptActive = false;
  private readonly output: Writable & { columns?: number };
  private readonly rl: readline.Interface;
  private readonly onLine = (line: string): void => this.lineSubmitted(line);

  constructor(rl: readline.Interface, output: Writable & { columns?: number }) {
    this.rl = rl;
    this.output = output;
    // First, so that the submitted line is settled before the shell prints its answer.
    rl.prependListener('line', this.onLine);
  }

  private get columns(): number {
    return this.output.columns && this.output.columns > 0 ? this.output.columns : 80;
  }

  /** Rows the prompt and input take above the cursor (0 unless the input wrapped). */
  private inputRows(): number {
    return this.promptActive ? this.rl.getCursorPos().rows : 0;
  }

  /**
   * Shows, changes or (undefined) hides the status line. `text` must already be safe to
   * print (renderNowPlaying escapes what the server sent); it is cut to the terminal here.
   */
  set(text: string | undefined): void {
    const next = text === undefined ? undefined : truncateToWidth(text.replace(/[\r\n]+/g, ' '), this.columns - 1);
    if (next === this.status && this.visible === (next !== undefined)) return;
    this.status = next;
    if (next !== undefined && this.visible) {
      this.redrawInPlace();
    } else {
      this.rebuild('');
    }
  }

  /**
   * Writes command output above the status line (and the prompt, if shown). `stream`: where
   * the text itself goes (standard error, for errors): the rows are cleared and redrawn on
   * the terminal's output around it, and a terminal's writes are synchronous, so the text
   * lands between them on the screen while a redirected stderr still gets it alone.
   */
  print(text: string, stream?: Writable): void {
    if (text === '') return;
    this.rebuild(text.endsWith('\n') ? text : `${text}\n`, stream);
  }

  /** Shows the prompt under the status line; use instead of `rl.prompt()`. */
  prompt(): void {
    this.promptActive = true;
    this.rl.prompt();
  }

  /** Stops following readline (the shell is closing). The status line is removed. */
  close(): void {
    this.set(undefined);
    this.rl.off('line', this.onLine);
  }

  /** The status row only: save the cursor, rewrite the row, restore. */
  private redrawInPlace(): void {
    const up = this.inputRows() + 1;
    this.output.write(`\x1b7`);
    readline.moveCursor(this.output, 0, -up);
    readline.cursorTo(this.output, 0);
    readline.clearLine(this.output, 0);
    this.output.write(`${this.status}\x1b8`);
  }

  /** Clears from the top of our rows down, writes `text`, then the status, then the prompt again. */
  private rebuild(text: string, stream: Writable = this.output): void {
    const rows = this.inputRows();
    const up = rows + (this.visible ? 1 : 0);
    if (this.promptActive || this.visible) {
      if (up > 0) readline.moveCursor(this.output, 0, -up);
      readline.cursorTo(this.output, 0);
      readline.clearScreenDown(this.output);
    }
    let out = '';
    if (stream === this.output) out = text;
    else stream.write(text);
    if (this.status !== undefined) out += `${this.status}\n`;
    this.visible = this.status !== undefined;
    if (this.promptActive) {
      // prompt(true) first goes up by the rows before the cursor: stand that many rows lower.
      this.output.write(out + '\n'.repeat(rows));
      this.rl.prompt(true);
    } else {
      this.output.write(out);
    }
  }

  /**
   * Enter was pressed: readline has moved below the input. Rewrite the finished command
   * above the status line, so that the history on screen reads "prompt, command, output"
   * with the status below it all.
   */
  private lineSubmitted(line: string): void {
    if (!this.promptActive) return;
    this.promptActive = false;
    if (!this.visible) return;
    const typed = `${this.rl.getPrompt()}${line}`;
    // As readline wraps: a line exactly as wide as the terminal puts the cursor on the next row.
    const rows = Math.floor(stringWidth(typed) / this.columns) + 1;
    readline.moveCursor(this.output, 0, -(rows + 1));
    readline.cursorTo(this.output, 0);
    readline.clearScreenDown(this.output);
    this.output.write(`${typed}\n${this.status}\n`);
  }
}
