import { DEFAULT_MAX_LIST_ENTRIES, DEFAULT_MAX_LIST_LINE } from './constants.js';
import { AudioStreamError } from './errors.js';

/** One line of a LIST reply. */
export interface ListEntry {
  index: number;
  path: string;
}

/**
 * How a server wrote its LIST lines. `conforming`: `<index>:<path>`, as the protocol's own
 * example shows. `spaced`: `<index>: <path>`, as servers built on the original starter code
 * print them (`"%d: %s\r\n"`).
 */
export type ListDialect = 'conforming' | 'spaced';

export interface ListParserOptions {
  maxLineLength?: number;
  maxEntries?: number;
}

const LF = 0x0a;
const CR = 0x0d;
const LINE_PATTERN = /^(0|[1-9][0-9]{0,9}):(.+)$/s;

/**
 * Push parser for a LIST reply (server → client). The reply has no length and no
 * terminator of its own: it ends with the line whose index is 0, and the indexes count
 * down by one from the first line. Anything else is MALFORMED_LIST.
 *
 * `feed()` returns the entries completed by a chunk; `done` turns true after index 0, and
 * `takeRest()` hands back any bytes that followed it.
 */
export class ListParser {
  private readonly maxLineLength: number;
  private readonly maxEntries: number;
  private pending: Buffer = Buffer.alloc(0);
  private expected: number | undefined;
  private rest: Buffer = Buffer.alloc(0);
  done = false;

  constructor(options: ListParserOptions = {}) {
    this.maxLineLength = options.maxLineLength ?? DEFAULT_MAX_LIST_LINE;
    this.maxEntries = options.maxEntries ?? DEFAULT_MAX_LIST_ENTRIES;
  }

  feed(chunk: Buffer): ListEntry[] {
    if (this.done) {
      this.rest = Buffer.concat([this.rest, chunk]);
      return [];
    }
    const buf = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const entries: ListEntry[] = [];
    let pos = 0;
    while (!this.done) {
      const lf = buf.indexOf(LF, pos);
      if (lf === -1) {
        if (buf.length - pos > this.maxLineLength + 1) {
          throw new AudioStreamError('LIST_LINE_TOO_LONG', `the server sent a list line longer than ${this.maxLineLength} bytes`);
        }
        break;
      }
      let end = lf;
      if (end > pos && buf[end - 1] === CR) end--;
      if (end - pos > this.maxLineLength) {
        throw new AudioStreamError('LIST_LINE_TOO_LONG', `the server sent a list line longer than ${this.maxLineLength} bytes`);
      }
      entries.push(this.parseLine(buf.toString('utf8', pos, end)));
      pos = lf + 1;
    }
    if (this.done) {
      this.rest = Buffer.from(buf.subarray(pos));
      this.pending = Buffer.alloc(0);
    } else {
      this.pending = Buffer.from(buf.subarray(pos));
    }
    return entries;
  }

  /** Bytes that arrived after the list ended (a well-behaved server sends none). */
  takeRest(): Buffer {
    const rest = this.rest;
    this.rest = Buffer.alloc(0);
    return rest;
  }

  private parseLine(line: string): ListEntry {
    const match = LINE_PATTERN.exec(line);
    if (!match) {
      throw new AudioStreamError('MALFORMED_LIST', `the server sent a list line that is not "<index>:<path>": ${JSON.stringify(truncate(line))}`);
    }
    const index = Number(match[1]);
    if (this.expected === undefined) {
      if (index + 1 > this.maxEntries) {
        throw new AudioStreamError('LIST_TOO_LONG', `the server announced ${index + 1} files, more than the limit of ${this.maxEntries}`);
      }
    } else if (index !== this.expected) {
      throw new AudioStreamError('MALFORMED_LIST', `the server's list is out of order: after index ${this.expected + 1} came ${index}, not ${this.expected}`);
    }
    this.expected = index - 1;
    if (index === 0) this.done = true;
    return { index, path: match[2]! };
  }
}

/**
 * The names of a complete v1 listing, read in the dialect its lines are written in: when
 * every line has a space after the colon the server is one that prints `"%d: %s"`, and that
 * one space is not part of any name; otherwise the listing conforms and every name is kept
 * exactly as sent (a real name may begin with a space). `entries` are the parser's, whose
 * paths are everything after the colon.
 *
 * A conforming listing in which every name begins with a space reads the same as a spaced
 * one: no client can tell the two apart from the bytes, and this one takes the far more
 * common case.
 */
export function readListingDialect(entries: readonly ListEntry[]): { dialect: ListDialect; entries: ListEntry[] } {
  const spaced = entries.length > 0 && entries.every((e) => e.path.startsWith(' '));
  if (!spaced) return { dialect: 'conforming', entries: [...entries] };
  return {
    dialect: 'spaced',
    entries: entries.map((e) => {
      const path = e.path.slice(1);
      if (path === '') throw new AudioStreamError('MALFORMED_LIST', `the server listed file ${e.index} with no name`);
      return { index: e.index, path };
    }),
  };
}

function truncate(s: string): string {
  return s.length > 80 ? `${s.slice(0, 80)}…` : s;
}
