/**
 * A test-only model of a terminal screen: enough of a VT100/xterm to replay what readline
 * and the status line write (printable text with autowrap, CR, LF, BS, ESC 7/8, CSI
 * A B C D G H K J, and autowrap turned off and on by CSI ?7l / ?7h as the progress bar
 * does), so a test can read the screen a person would see. Anything else is
 * ignored. Characters are taken one code point per cell (the tests keep to such text).
 */
export class TerminalScreen {
  readonly cols: number;
  readonly rows: number;
  private cells: string[][];
  row = 0;
  col = 0;
  private wrapPending = false;
  /** DECAWM: off, text at the last column overwrites it instead of going on to the next row. */
  private autowrap = true;
  private saved = { row: 0, col: 0 };

  constructor(cols: number, rows: number) {
    this.cols = cols;
    this.rows = rows;
    this.cells = Array.from({ length: rows }, () => new Array<string>(cols).fill(' '));
  }

  /** The screen as trimmed lines, trailing blank lines dropped. */
  lines(): string[] {
    const lines = this.cells.map((r) => r.join('').trimEnd());
    while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    return lines;
  }

  feed(text: string): void {
    const chars = [...text];
    for (let i = 0; i < chars.length; i++) {
      const c = chars[i]!;
      if (c === '\x1b') {
        const next = chars[i + 1];
        if (next === '7') {
          this.saved = { row: this.row, col: this.col };
          i++;
        } else if (next === '8') {
          this.row = this.saved.row;
          this.col = this.saved.col;
          this.wrapPending = false;
          i++;
        } else if (next === '[') {
          let j = i + 2;
          let params = '';
          while (j < chars.length && /[0-9;?]/.test(chars[j]!)) params += chars[j++];
          this.csi(params, chars[j] ?? '');
          i = j;
        } else {
          i++;
        }
      } else if (c === '\r') {
        this.col = 0;
        this.wrapPending = false;
      } else if (c === '\n') {
        this.lineFeed();
        this.wrapPending = false;
      } else if (c === '\b') {
        if (this.col > 0) this.col--;
        this.wrapPending = false;
      } else if (c >= ' ') {
        if (this.wrapPending) {
          this.col = 0;
          this.lineFeed();
          this.wrapPending = false;
        }
        this.cells[this.row]![this.col] = c;
        if (this.col === this.cols - 1) this.wrapPending = this.autowrap;
        else this.col++;
      }
    }
  }

  private lineFeed(): void {
    if (this.row === this.rows - 1) {
      this.cells.shift();
      this.cells.push(new Array<string>(this.cols).fill(' '));
    } else {
      this.row++;
    }
  }

  private csi(params: string, final: string): void {
    if (params.startsWith('?')) {
      if (params === '?7' && (final === 'h' || final === 'l')) this.autowrap = final === 'h';
      return;
    }
    const nums = params.split(';').map((p) => (p === '' ? undefined : Number(p)));
    const n = nums[0] ?? 1;
    this.wrapPending = false;
    switch (final) {
      case 'A':
        this.row = Math.max(0, this.row - n);
        break;
      case 'B':
        this.row = Math.min(this.rows - 1, this.row + n);
        break;
      case 'C':
        this.col = Math.min(this.cols - 1, this.col + n);
        break;
      case 'D':
        this.col = Math.max(0, this.col - n);
        break;
      case 'G':
        this.col = Math.min(this.cols - 1, n - 1);
        break;
      case 'H':
        this.row = Math.min(this.rows - 1, (nums[0] ?? 1) - 1);
        this.col = Math.min(this.cols - 1, (nums[1] ?? 1) - 1);
        break;
      case 'K': {
        const mode = nums[0] ?? 0;
        const line = this.cells[this.row]!;
        for (let x = 0; x < this.cols; x++) if (mode === 2 || (mode === 0 && x >= this.col) || (mode === 1 && x <= this.col)) line[x] = ' ';
        break;
      }
      case 'J': {
        const mode = nums[0] ?? 0;
        if (mode === 0) {
          for (let x = this.col; x < this.cols; x++) this.cells[this.row]![x] = ' ';
          for (let y = this.row + 1; y < this.rows; y++) this.cells[y]!.fill(' ');
        } else if (mode === 2) {
          for (const line of this.cells) line.fill(' ');
        }
        break;
      }
      default:
        break;
    }
  }
}
