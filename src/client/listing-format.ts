import { AudioStreamError } from '../protocol/index.js';
import type { RemoteEntry } from './client-connection.js';
import { foldForMatch } from './argument-completion.js';
import { formatBytes } from './progress.js';

/** Re-exported: the escaping is defined once, in display-text.ts. */
export { displayText } from './display-text.js';

/** `3:07`, or `1:02:03` for an hour or more. */
export function formatDuration(seconds: number): string {
  const total = Math.round(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/**
 * One line per file (without newlines): index, then "title — artist — album (m:ss)" when
 * tags are known, else the path. A generator: a listing is printed line by line, never
 * held as one string.
 */
export function* listingLines(entries: readonly RemoteEntry[], total: number): Generator<string> {
  const width = String(Math.max(0, total - 1)).length;
  for (const e of entries) {
    const described = e.title ? [e.title, e.artist, e.album].filter(Boolean).join(' — ') : e.path;
    const duration = e.duration !== undefined ? `  (${formatDuration(e.duration)})` : '';
    yield `${String(e.index).padStart(width)}  ${described}${duration}`;
  }
}

/** Everything known about one file, one field per line (without newlines). */
export function infoLines(entry: RemoteEntry, localStatus: string): string[] {
  const rows: [string, string | undefined][] = [
    ['index', String(entry.index)],
    ['path', entry.path],
    ['title', entry.title],
    ['artist', entry.artist],
    ['album', entry.album],
    ['track', entry.track?.toString()],
    ['duration', entry.duration !== undefined ? formatDuration(entry.duration) : undefined],
    ['codec', entry.codec],
    ['sample rate', entry.sampleRate ? `${entry.sampleRate} Hz` : undefined],
    ['bitrate', entry.bitrate ? `${Math.round(entry.bitrate / 1000)} kbit/s` : undefined],
    ['size', entry.size !== undefined ? `${entry.size} bytes (${formatBytes(entry.size)})` : undefined],
    ['modified', entry.mtime !== undefined ? new Date(entry.mtime).toISOString() : undefined],
    ['sha256', entry.sha256],
    ['local copy', localStatus],
  ];
  return rows.filter((r): r is [string, string] => r[1] !== undefined).map(([k, v]) => `${`${k}:`.padEnd(12)} ${v}`);
}

/** Case- and accent-insensitive form used by find. */
/** True when every word occurs in the path or the tags. */
export function matchesWords(entry: RemoteEntry, words: readonly string[]): boolean {
  const haystack = foldForMatch([entry.path, entry.title, entry.artist, entry.album].filter(Boolean).join('\n'));
  return words.every((w) => haystack.includes(foldForMatch(w)));
}

/**
 * The server's folder (or file) that `asked` names, compared as find compares (case and
 * accents ignored); undefined when none does.
 */
export function matchFolder(asked: string, entries: readonly RemoteEntry[]): string | undefined {
  const want = foldForMatch(asked);
  for (const e of entries) {
    const parts = e.path.split('/');
    for (let i = 1; i <= parts.length; i++) {
      const candidate = parts.slice(0, i).join('/');
      if (foldForMatch(candidate) === want) return candidate;
    }
  }
  return undefined;
}

/**
 * Which files a `get` names: `3`, `3 5 7`, `3-9`, `all`, or a folder (`get Aurora Tones`,
 * everything below that path). Numbers refer to the listing shown by `list`.
 */
export function selectEntries(args: readonly string[], entries: readonly RemoteEntry[], command = 'get'): RemoteEntry[] {
  const c = command;
  if (args.length === 0) throw new AudioStreamError('USAGE', `say which files: ${c} 3, ${c} 3 5 7, ${c} 3-9, ${c} all, or ${c} FOLDER`);
  if (args.length === 1 && args[0]!.toLowerCase() === 'all') return [...entries];
  const numeric = args.every((a) => /^\d+(-\d+)?$/.test(a));
  if (!numeric) {
    const asked = args.join(' ').replace(/\/+$/, '');
    // Exactly as named first; else as find matches, case and accents ignored.
    const folder = entries.some((e) => e.path === asked || e.path.startsWith(`${asked}/`)) ? asked : matchFolder(asked, entries) ?? asked;
    const chosen = entries.filter((e) => e.path === folder || e.path.startsWith(`${folder}/`));
    if (chosen.length === 0) throw new AudioStreamError('BAD_INDEX', `no file or folder "${asked}" on the server (type ls)`);
    return chosen;
  }
  const byIndex = new Map(entries.map((e) => [e.index, e]));
  const chosen: RemoteEntry[] = [];
  const seen = new Set<number>();
  for (const arg of args) {
    const [from, to] = arg.split('-').map(Number) as [number, number | undefined];
    const last = to ?? from;
    if (last < from) throw new AudioStreamError('USAGE', `the range ${arg} runs backwards`);
    for (let i = from; i <= last; i++) {
      const entry = byIndex.get(i);
      if (!entry) {
        throw new AudioStreamError('BAD_INDEX', entries.length === 0 ? `no file ${i}: the server's library is empty` : `no file ${i}: the server has files 0 to ${entries.length - 1} (type list)`);
      }
      if (!seen.has(i)) {
        seen.add(i);
        chosen.push(entry);
      }
    }
  }
  return chosen;
}
