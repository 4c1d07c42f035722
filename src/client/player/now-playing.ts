import stringWidth from 'string-width';
import { displayText, formatDuration } from '../listing-format.js';

/**
 * The now-playing line: what plays (from the server's tags, escaped), where the player is
 * in it (from the player, not the transfer), and where the queue is, cut to the terminal.
 */

export interface NowPlaying {
  /** The server's path, shown when there is no title. */
  path: string;
  title?: string;
  artist?: string;
  album?: string;
  /** Seconds played and in all, as the player reports them. */
  elapsed?: number;
  duration?: number;
  paused?: boolean;
  /** 0-based place in the queue, and the queue's length. */
  position?: number;
  length?: number;
}

const ELLIPSIS = '…';
const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** Columns `s` takes on a terminal (wide CJK counts 2, combining marks 0). */
export function displayWidth(s: string): number {
  return stringWidth(s);
}

/** `s` cut to at most `width` columns, whole characters only, with … when cut. */
export function truncateToWidth(s: string, width: number): string {
  if (width <= 0) return '';
  if (displayWidth(s) <= width) return s;
  let out = '';
  let used = 0;
  const room = width - displayWidth(ELLIPSIS);
  for (const { segment } of segmenter.segment(s)) {
    const w = displayWidth(segment);
    if (used + w > room) break;
    out += segment;
    used += w;
  }
  return out + ELLIPSIS;
}

/** What plays, in words: `title — artist — album`, or the file's name. Escaped. */
export function describeTrack(np: Pick<NowPlaying, 'path' | 'title' | 'artist' | 'album'>): string {
  const name = np.title ? [np.title, np.artist, np.album].filter(Boolean).join(' — ') : (np.path.split('/').pop() ?? np.path);
  return displayText(name);
}

/** `1:23 / 4:05`, `1:23` when the length is unknown, `--:--` before anything played. */
export function formatProgress(elapsed: number | undefined, duration: number | undefined): string {
  const played = elapsed === undefined ? '--:--' : formatDuration(elapsed);
  return duration === undefined ? played : `${played} / ${formatDuration(duration)}`;
}

/**
 * One status line, at most `columns - 1` wide (writing the last column makes some
 * terminals wrap). The times and the queue place are kept; the description gives way.
 *
 *   Sunrise — Aurora Tones — First Light   0:42 / 3:00   [2/12]
 *   Sunrise — Aurora Tones — First Light   0:42 / 3:00   paused   [2/12]
 */
export function renderNowPlaying(np: NowPlaying, columns: number): string {
  const width = Math.max(0, Math.floor(columns) - 1);
  const parts = [formatProgress(np.elapsed, np.duration)];
  if (np.paused) parts.push('paused');
  if (np.position !== undefined && np.length !== undefined && np.length > 0 && np.position >= 0) parts.push(`[${np.position + 1}/${np.length}]`);
  const tail = `   ${parts.join('   ')}`;
  const described = describeTrack(np);
  const room = width - displayWidth(tail);
  // Too narrow for the tail: the line is cut as a whole, progress first.
  if (room < 8) return truncateToWidth(`${parts.join(' ')}  ${described}`, width);
  return truncateToWidth(described, room) + tail;
}
