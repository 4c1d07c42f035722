import { MAX_CATALOG_SEARCH_TEXT } from '../library/index.js';
import { pageOf } from './browsing.js';
import { HttpError, sendJson } from './responses.js';
import type { Route } from './router.js';

/** GET /api/search?q=TEXT: search as you type, case and accents ignored (as the client's `find`). */
export const searchingRoutes: Route[] = [
  {
    method: 'GET',
    pattern: '/api/search',
    handler({ req, res, query, context }) {
      const text = query.get('q') ?? '';
      if (text.length > MAX_CATALOG_SEARCH_TEXT) throw new HttpError(400, 'BAD_REQUEST', `search text may be at most ${MAX_CATALOG_SEARCH_TEXT} characters`);
      sendJson(req, res, 200, context.catalog.search(text, pageOf(query)));
    },
  },
];
