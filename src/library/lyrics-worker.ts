/**
 * Worker thread: reads the embedded lyrics of the file it is sent (see lyrics.ts), on a
 * thread of its own with a memory cap, like the cover art worker: the file is opened
 * through the library's safe-open primitive and parsed through the capped tokenizer.
 */
import { parentPort } from 'node:worker_threads';

export interface LyricsWorkerRequest {
  id: number;
  realRoot: string;
  path: string;
  maxChars: number;
}

export interface EmbeddedLyrics {
  language?: string;
  text?: string;
  /** Synced lines (SYLT and the like): milliseconds and text. */
  synced?: { ms: number; text: string }[];
}

export interface LyricsWorkerReply {
  id: number;
  lyrics: EmbeddedLyrics[];
}

/**
 * Tags that carry lyrics as plain text where music-metadata has no mapping: ffmpeg writes
 * `-metadata lyrics=` to MP3 as TXXX:USLT, and taggers use TXXX:LYRICS / UNSYNCEDLYRICS.
 */
const TEXT_TAGS = new Set(['TXXX:USLT', 'TXXX:LYRICS', 'TXXX:UNSYNCEDLYRICS', 'UNSYNCEDLYRICS', 'LYRICS']);

parentPort?.on('message', (request: LyricsWorkerRequest) => {
  void (async (): Promise<LyricsWorkerReply> => {
    try {
      const { parseFromTokenizer } = await import('music-metadata');
      const { SyncFileTokenizer } = await import('./sync-file-tokenizer.js');
      const tokenizer = SyncFileTokenizer.openInLibrary(request.realRoot, request.path);
      let metadata;
      try {
        metadata = await parseFromTokenizer(tokenizer, { skipCovers: true, duration: false, skipPostHeaders: true });
      } finally {
        await tokenizer.close().catch(() => {});
      }
      const cut = (text: string): string => text.slice(0, request.maxChars);
      const found: EmbeddedLyrics[] = [];
      for (const tag of metadata.common.lyrics ?? []) {
        const item: EmbeddedLyrics = {};
        if (tag.language) item.language = tag.language.slice(0, 16);
        if (tag.syncText.length > 0) item.synced = tag.syncText.slice(0, 5000).map((l) => ({ ms: Math.max(0, Math.round(l.timestamp ?? 0)), text: cut(l.text) }));
        else if (tag.text) item.text = cut(tag.text);
        if (item.synced || item.text) found.push(item);
      }
      if (found.length === 0) {
        for (const tags of Object.values(metadata.native)) {
          for (const tag of tags) {
            if (TEXT_TAGS.has(tag.id.toUpperCase()) && typeof tag.value === 'string' && tag.value.trim() !== '') {
              found.push({ text: cut(tag.value) });
              break;
            }
          }
          if (found.length > 0) break;
        }
      }
      return { id: request.id, lyrics: found.slice(0, 8) };
    } catch {
      return { id: request.id, lyrics: [] }; // unparsable: no lyrics
    }
  })().then((reply) => parentPort!.postMessage(reply));
});
