/**
 * LRC lyrics files (`[mm:ss.xx]text`): the synced lines in time order, with the file's
 * `[offset:±ms]`, `[ar:]`, `[ti:]` and `[la:]` tags. A file without a single time tag is
 * plain (unsynced) text. Pure: text in, lines out.
 */

export interface LyricsLine {
  /** Milliseconds from the start of the track; absent for unsynced text. */
  startMs?: number;
  text: string;
}

export interface ParsedLyrics {
  synced: boolean;
  lines: LyricsLine[];
  /** `[offset:]` in milliseconds: positive shows the lines earlier (the LRC convention). */
  offsetMs?: number;
  artist?: string;
  title?: string;
  language?: string;
}

/** Most lines kept (every length limited); a real song has under a hundred. */
export const MAX_LYRICS_LINES = 5_000;
/** Longest line kept, in characters. */
export const MAX_LYRICS_LINE = 1_000;

const TIME_TAG = /^\[(\d{1,4}):(\d{1,2})(?:[.:](\d{1,3}))?\]/;
const ID_TAG = /^\[([a-z]{2,8}):([^\]]*)\]\s*$/i;

export function parseLrc(text: string): ParsedLyrics {
  const lines: LyricsLine[] = [];
  const plain: LyricsLine[] = [];
  const result: ParsedLyrics = { synced: false, lines };
  for (const raw of text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/)) {
    if (lines.length >= MAX_LYRICS_LINES || plain.length >= MAX_LYRICS_LINES) break;
    let rest = raw.trim();
    const times: number[] = [];
    for (let match = TIME_TAG.exec(rest); match; match = TIME_TAG.exec(rest)) {
      const fraction = match[3] ?? '0';
      // .x is tenths, .xx hundredths, .xxx milliseconds.
      const ms = Number(fraction.padEnd(3, '0'));
      times.push((Number(match[1]) * 60 + Number(match[2])) * 1000 + ms);
      rest = rest.slice(match[0].length);
    }
    const line = rest.trim().slice(0, MAX_LYRICS_LINE);
    if (times.length > 0) {
      for (const startMs of times) lines.push({ startMs, text: line });
      continue;
    }
    const tag = ID_TAG.exec(rest);
    if (tag) {
      const [, key, value] = tag as unknown as [string, string, string];
      const v = value.trim().slice(0, MAX_LYRICS_LINE);
      const name = key.toLowerCase();
      if (name === 'offset' && /^[+-]?\d{1,7}$/.test(v)) result.offsetMs = Number(v);
      else if (name === 'ar' && v) result.artist = v;
      else if (name === 'ti' && v) result.title = v;
      else if (name === 'la' && v) result.language = v;
      continue;
    }
    plain.push({ text: line });
  }
  if (lines.length > 0) {
    result.synced = true;
    // Stable: lines sharing a time keep the file's order.
    lines.sort((a, b) => a.startMs! - b.startMs!);
    return result;
  }
  // Unsynced: trailing and leading blank lines dropped, inner ones kept (verse breaks).
  while (plain.length > 0 && plain[0]!.text === '') plain.shift();
  while (plain.length > 0 && plain[plain.length - 1]!.text === '') plain.pop();
  result.lines = plain;
  return result;
}
