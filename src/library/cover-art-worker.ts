/**
 * Worker thread: reads the embedded picture of the file it is sent (see cover-art.ts), on a
 * thread of its own with a memory cap, so a hostile file's parse can neither stall the event
 * loop nor grow the server without bound. The file is opened through the library's safe-open
 * primitive and read through the same capped tokenizer as tags (sync-file-tokenizer.ts), so a
 * link swapped in serves no picture from outside and a picture bomb costs at most that cap.
 */
import { parentPort } from 'node:worker_threads';

export interface CoverWorkerRequest {
  id: number;
  realRoot: string;
  path: string;
  maxBytes: number;
}

export interface CoverWorkerReply {
  id: number;
  picture?: { data: Uint8Array; format: string };
}

parentPort?.on('message', (request: CoverWorkerRequest) => {
  void (async (): Promise<CoverWorkerReply> => {
    try {
      const { parseFromTokenizer, selectCover } = await import('music-metadata');
      const { SyncFileTokenizer } = await import('./sync-file-tokenizer.js');
      const tokenizer = SyncFileTokenizer.openInLibrary(request.realRoot, request.path);
      let metadata;
      try {
        metadata = await parseFromTokenizer(tokenizer, { skipCovers: false, duration: false, skipPostHeaders: true });
      } finally {
        await tokenizer.close().catch(() => {});
      }
      const cover = selectCover(metadata.common.picture);
      if (!cover || cover.data.length === 0 || cover.data.length > request.maxBytes) return { id: request.id };
      return { id: request.id, picture: { data: cover.data, format: cover.format } };
    } catch {
      return { id: request.id }; // unparsable: no picture
    }
  })().then((reply) => parentPort!.postMessage(reply));
});
