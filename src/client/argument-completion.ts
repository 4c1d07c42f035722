/**
 * Tab completion for the shell, with no readline in it: `completeShellLine(line, context)`
 * returns what a readline `completer` returns, `[candidates, textBeingCompleted]`. Commands
 * complete first; then arguments by kind: file numbers, folder names (matched like `find`:
 * case and accents ignored, one level at a time) and paths with spaces, quoted.
 *
 * Node's readline (18+) replaces the text being completed with the candidates' common
 * prefix even when it does not start with that text, so a candidate may add quotes or
 * fix case: `get emilie` + Tab → `get "Émilie Ölund/`.
 */

/** What a command's arguments are. */
export type ArgumentKind = 'none' | 'numbers' | 'folders' | 'numbers-or-folders';

export interface CompletionContext {
  /** Every command name, in the order to show them. */
  commands: readonly string[];
  argumentKind(command: string): ArgumentKind;
  /** Files are numbered 0 to fileCount - 1 (the listing's numbers). */
  fileCount: number;
  /** Every folder on the server, `/`-separated, without a trailing slash. */
  folders: readonly string[];
}

/** No terminal shows more usefully; past this, Tab offers nothing until more is typed. */
export const MAX_CANDIDATES = 200;

/** Case- and accent-insensitive form, the same folding `find` uses. */
export function foldForMatch(s: string): string {
  return s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

/** One word of the line as typed: where it starts, its raw text, its value with quotes and escapes taken out. */
export interface TypedWord {
  start: number;
  raw: string;
  value: string;
  /** The quote still open at the end of the line, if any. */
  openQuote?: '"' | "'";
}

/**
 * Splits the line as the shell will: spaces separate words; "double" and 'single' quotes
 * keep spaces; a backslash escapes the next character (not inside single quotes). The last
 * word may be unfinished (an open quote). A line ending in a space ends with an empty word.
 */
export function splitTypedWords(line: string): TypedWord[] {
  const words: TypedWord[] = [];
  let current: TypedWord | undefined;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (!current) {
      if (c === ' ' || c === '\t') continue;
      current = { start: i, raw: '', value: '' };
    }
    current.raw += c;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < line.length) {
        current.raw += line[++i]!;
        current.value += line[i]!;
      } else current.value += c;
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === '\\' && i + 1 < line.length) {
      current.raw += line[++i]!;
      current.value += line[i]!;
    } else if (c === ' ' || c === '\t') {
      current.raw = current.raw.slice(0, -1);
      words.push(current);
      current = undefined;
    } else {
      current.value += c;
    }
  }
  if (current) {
    if (quote) current.openQuote = quote;
    words.push(current);
  } else {
    words.push({ start: line.length, raw: '', value: '' });
  }
  return words;
}

/** `"Aurora Tones"` when a value needs quotes to stay one word; the bare value otherwise. */
export function quoteArgument(value: string, close = true, always = false): string {
  if (!always && value !== '' && !/[\s"'\\]/.test(value)) return value;
  const escaped = value.replace(/["\\]/g, (c) => `\\${c}`);
  return close ? `"${escaped}"` : `"${escaped}`;
}

function completeCommand(word: TypedWord, context: CompletionContext): [string[], string] {
  const typed = word.value.toLowerCase();
  const hits = context.commands.filter((c) => c.toLowerCase().startsWith(typed));
  return [hits.length === 1 ? [`${hits[0]} `] : hits, word.raw];
}

function completeNumber(word: TypedWord, context: CompletionContext): [string[], string] {
  // "03" is no file's number as the listing prints it.
  if (!/^\d*$/.test(word.value) || (word.value.length > 1 && word.value.startsWith('0'))) return [[], word.raw];
  const hits: string[] = [];
  if (word.value === '') {
    if (context.fileCount > MAX_CANDIDATES) return [[], word.raw];
    for (let i = 0; i < context.fileCount; i++) hits.push(String(i));
  } else {
    // The numbers that start with n: n, then n0..n9, then n00..n99, and so on.
    const n = Number(word.value);
    for (let scale = 1; n * scale < context.fileCount; scale *= 10) {
      for (let i = n * scale; i < Math.min(context.fileCount, (n + 1) * scale); i++) {
        hits.push(String(i));
        if (hits.length > MAX_CANDIDATES) return [[], word.raw];
      }
      if (n === 0) break;
    }
  }
  return [hits.length === 1 ? [`${hits[0]} `] : hits, word.raw];
}

/** Folder candidates one level below what was typed; `/` marks one that has folders inside. */
function completeFolder(typedValue: string, raw: string, quoted: boolean, context: CompletionContext): [string[], string] {
  const slash = typedValue.lastIndexOf('/');
  const parent = slash >= 0 ? typedValue.slice(0, slash) : '';
  const foldedParent = foldForMatch(parent);
  const foldedTyped = foldForMatch(typedValue);
  const depth = parent === '' ? 0 : parent.split('/').length;
  const hasChildren = new Set<string>();
  for (const f of context.folders) {
    const cut = f.lastIndexOf('/');
    if (cut > 0) hasChildren.add(f.slice(0, cut));
  }
  const hits = context.folders.filter((f) => {
    const parts = f.split('/');
    if (parts.length !== depth + 1) return false;
    if (depth > 0 && foldForMatch(parts.slice(0, depth).join('/')) !== foldedParent) return false;
    return foldForMatch(f).startsWith(foldedTyped);
  });
  if (hits.length > MAX_CANDIDATES) return [[], raw];
  const render = (f: string, unique: boolean): string => {
    const more = hasChildren.has(f);
    const value = more ? `${f}/` : f;
    // One match: finish it (closed quote and a space) unless there is more to descend into.
    const needsQuote = quoted || /[\s"'\\]/.test(value);
    if (!needsQuote) return unique && !more ? `${value} ` : value;
    return unique && !more ? `${quoteArgument(value, true, true)} ` : quoteArgument(value, false, true);
  };
  return [hits.map((f) => render(f, hits.length === 1)), raw];
}

/** The readline completer result for `line` (the text before the cursor). */
export function completeShellLine(line: string, context: CompletionContext): [string[], string] {
  const words = splitTypedWords(line);
  const last = words[words.length - 1]!;
  if (words.length === 1) return completeCommand(last, context);
  const kind = context.argumentKind(words[0]!.value.toLowerCase());
  if (kind === 'none') return [[], last.raw];
  const quoted = last.raw.startsWith('"') || last.raw.startsWith("'");
  if (kind === 'numbers' || (kind === 'numbers-or-folders' && !quoted && /^\d+$/.test(last.value))) {
    // numbers-or-folders: digits typed complete numbers; nothing typed yet offers folders.
    return completeNumber(last, context);
  }
  if (kind !== 'folders' && kind !== 'numbers-or-folders') return [[], last.raw];
  if (quoted) return completeFolder(last.value, last.raw, true, context);
  // Unquoted, a folder name with spaces spans several words (`get Aurora To`): complete
  // from the first word after the command and the numbers.
  const args = words.slice(1);
  let first = args.findIndex((w) => !/^\d+(-\d+)?$/.test(w.value));
  if (first < 0) first = args.length - 1;
  const from = args[first]!.start;
  const raw = line.slice(from);
  const value = args
    .slice(first)
    .map((w) => w.value)
    .join(' ');
  return completeFolder(value, raw, false, context);
}
