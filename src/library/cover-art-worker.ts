/**
 * Worker thread: reads the embedded picture of the file it is sent (see cover-art.ts), on a
 * thread of its own with a memory cap, so a hostile file's parse can neither stall the event
 * loop nor grow the server without bound.
 */
import { parentPort } from 'node:worker_threads';

export interface CoverWorkerRequest {
  id: number;
  absolutePath: string;
  maxBytes: number;
}

export interface CoverWorkerReply {
  id: number;
  picture?: { data: Uint8Array; format: string };
}

parentPort?.on('message', (request: CoverWorkerRequest) => {
  void (async (): Promise<CoverWorkerReply> => {
    try {
      const { parseFile, selectCover } = await import('music-metadata');
      const metadata = await parseFile(request.absolutePath, { skipCovers: false, duration: false, skipPostHeaders: true });
      const cover = selectCover(metadata.common.picture);
      if (!cover || cover.data.length === 0 || cover.data.length > request.maxBytes) return { id: request.id };
      return { id: request.id, picture: { data: cover.data, format: cover.format } };
    } catch {
      return { id: request.id }; // unparsable: no picture
    }
  })().then((reply) => parentPort!.postMessage(reply));
});
