import path from 'node:path';
import { sendFile } from './file-responder.js';
import { openLibraryFile } from './library-files.js';
import { audioContentType } from './media-types.js';
import type { Route } from './router.js';

/**
 * GET /files/:id: a library file's bytes, by database id, with ranges and validators
 * (file-responder.ts); `?download=1` asks the browser to save it under its own name.
 */
export const mediaRetrievalRoutes: Route[] = [
  {
    method: 'GET',
    pattern: '/files/:id',
    async handler({ req, res, ids, query, context }) {
      const opened = await openLibraryFile(context.library, context.catalog.track(ids.id!));
      await sendFile(req, res, {
        file: opened.file,
        stat: opened.stat,
        name: path.posix.basename(opened.entry.path),
        contentType: audioContentType(opened.entry.path),
        ...(opened.sha256 ? { sha256: opened.sha256 } : {}),
        download: query.get('download') === '1',
      });
    },
  },
];
