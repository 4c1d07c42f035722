import type { IncomingMessage, ServerResponse } from 'node:http';
import type { WebContext } from './web-context.js';

/** Where index.html takes the page's first data (scripts/build-web.mjs keeps the marker). */
export const BOOT_MARKER = '<!--boot-->';
/** Rows of the first view carried in the page: the page's own page size (web/src/main.ts). */
export const BOOT_PAGE = 100;

/**
 * What the page needs before it can draw anything: the session (/api/session's answer) and,
 * when the visitor may browse, the first page of artists (/api/artists). Carried inside the
 * HTML, the first screenful needs no API round trip after the script starts (bench 12e).
 */
export async function bootData(req: IncomingMessage, context: WebContext): Promise<Record<string, unknown>> {
  const loginRequired = await context.auth.hasAccounts();
  const found = await context.sessionOf(req);
  const session = { loginRequired, user: found ? found.session.user : null, csrfToken: found ? found.session.csrfToken : null };
  if (loginRequired && !found) return { session };
  return { session, artists: context.catalog.artists({ offset: 0, limit: BOOT_PAGE }) };
}

/**
 * JSON inside a `<script type="application/json">` element: a data block, never run, so the
 * Content-Security-Policy (no inline scripts) is kept. `<` is escaped so no value (an artist
 * named `</script>`, say) can end the element; U+2028/U+2029 for old parsers' sake.
 */
export function jsonDataBlock(id: string, value: unknown): string {
  const json = JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
  return `<script type="application/json" id="${id}">${json}</script>`;
}

/**
 * The page itself, with its first data inside. It differs by visitor (the session's CSRF
 * token, whether the list is shown), so it is never stored by a cache and has no validator.
 */
export async function servePage(req: IncomingMessage, res: ServerResponse, template: string, context: WebContext): Promise<void> {
  const boot = jsonDataBlock('boot', await bootData(req, context));
  const body = Buffer.from(template.replace(BOOT_MARKER, () => boot));
  res.statusCode = 200;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Length', body.length);
  res.end(req.method === 'HEAD' ? undefined : body);
}
