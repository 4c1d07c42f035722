import path from 'node:path';
import { parseLrc, type LyricsLine } from './lrc-parser.js';
import type { Library } from './library.js';
import { RequestWorker } from './request-worker.js';
import type { LyricsWorkerReply, LyricsWorkerRequest } from './lyrics-worker.js';
import { openLibraryFile } from './safe-open.js';
import type { LibraryEntry } from './scan.js';

/** Largest `.lrc` file read (a long song's synced lyrics are a few KiB). */
export const MAX_LRC_BYTES = 256 * 1024;
/** Longest embedded lyrics text kept, in characters. */
export const MAX_EMBEDDED_LYRICS_CHARS = 64 * 1024;
/** A parse that takes longer is abandoned (and its thread with it). */
const READ_TIMEOUT_MS = 5_000;

export interface TrackLyrics {
  /** Where they came from: the file's tags, or a `.lrc` file beside it. */
  source: 'embedded' | 'lrc';
  synced: boolean;
  lines: LyricsLine[];
  language?: string;
  offsetMs?: number;
  artist?: string;
  title?: string;
}

/**
 * The lyrics of a file: embedded ones (USLT / SYLT, Vorbis LYRICS..., read by music-metadata
 * on a worker thread with a memory cap and a time limit, like cover art), then a `.lrc` file
 * of the same name beside it. The `.lrc` path is derived from the listed path, never from a
 * request, and opened through the library's safe-open primitive: a link out of the library
 * serves nothing. Neither is cached: a lyrics request is rare and both reads are small.
 */
export class LyricsReader {
  private readonly library: Library;
  private readonly reads = new RequestWorker<Omit<LyricsWorkerRequest, 'id'>, LyricsWorkerReply>({
    url: new URL('./lyrics-worker.js', import.meta.url),
    maxOldGenerationSizeMb: 128,
    timeoutMs: READ_TIMEOUT_MS,
    failed: (id) => ({ id, lyrics: [] }),
  });

  constructor(library: Library) {
    this.library = library;
  }

  async lyricsOf(entry: LibraryEntry): Promise<TrackLyrics[]> {
    const found: TrackLyrics[] = [];
    const reply = await this.ask(entry.path);
    for (const item of reply.lyrics) {
      const language = item.language ? { language: item.language } : {};
      if (item.synced) found.push({ source: 'embedded', synced: true, lines: item.synced.map((l) => ({ startMs: l.ms, text: l.text })), ...language });
      // Embedded text may itself be LRC (some taggers store it so).
      else if (item.text !== undefined) found.push({ ...toTrackLyrics('embedded', parseLrc(item.text)), ...language });
    }
    const lrc = await this.lrcBeside(entry);
    if (lrc) found.push(lrc);
    return found;
  }

  private async lrcBeside(entry: LibraryEntry): Promise<TrackLyrics | undefined> {
    const dir = path.posix.dirname(entry.path);
    const stem = path.posix.basename(entry.path, path.posix.extname(entry.path));
    for (const ext of ['.lrc', '.LRC']) {
      const relative = dir === '.' ? stem + ext : `${dir}/${stem}${ext}`;
      let opened;
      try {
        opened = await openLibraryFile(this.library.resolvedRoot, relative);
      } catch {
        continue; // none, a link out of the library, not a regular file
      }
      try {
        if (opened.stat.size === 0 || opened.stat.size > MAX_LRC_BYTES) return undefined;
        const body = Buffer.alloc(opened.stat.size);
        const { bytesRead } = await opened.handle.read(body, 0, body.length, 0);
        const parsed = parseLrc(body.subarray(0, bytesRead).toString('utf8'));
        return parsed.lines.length > 0 ? toTrackLyrics('lrc', parsed) : undefined;
      } catch {
        return undefined;
      } finally {
        await opened.handle.close().catch(() => {});
      }
    }
    return undefined;
  }

  private ask(relativePath: string): Promise<LyricsWorkerReply> {
    return this.reads.ask({ realRoot: this.library.resolvedRoot, path: relativePath, maxChars: MAX_EMBEDDED_LYRICS_CHARS });
  }

  close(): void {
    this.reads.close();
  }
}

function toTrackLyrics(source: TrackLyrics['source'], parsed: ReturnType<typeof parseLrc>): TrackLyrics {
  return {
    source,
    synced: parsed.synced,
    lines: parsed.lines,
    ...(parsed.offsetMs !== undefined ? { offsetMs: parsed.offsetMs } : {}),
    ...(parsed.artist ? { artist: parsed.artist } : {}),
    ...(parsed.title ? { title: parsed.title } : {}),
    ...(parsed.language ? { language: parsed.language } : {}),
  };
}
