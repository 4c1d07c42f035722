import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fresh from 'fresh';

/** Where the build puts the page (web/ built by scripts/build-web.mjs into dist/web/). */
export const WEB_ASSETS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../web');

/** The page's files, by URL: a fixed list, so no client path ever reaches the file system. */
const ASSETS: readonly { url: string; file: string; type: string }[] = [
  { url: '/assets/app.js', file: 'app.js', type: 'text/javascript; charset=utf-8' },
  { url: '/assets/style.css', file: 'style.css', type: 'text/css; charset=utf-8' },
  { url: '/assets/placeholder-cover.svg', file: 'placeholder-cover.svg', type: 'image/svg+xml' },
  { url: '/assets/icon.svg', file: 'icon.svg', type: 'image/svg+xml' },
];

interface LoadedAsset {
  body: Buffer;
  type: string;
  etag: string;
}

/**
 * The player page's files, read into memory once at start (a few tens of KB) with a strong
 * ETag each, so a reload is a 304. The page itself (index.html) is a template: it is sent
 * with its first data inside (page-boot.ts).
 */
export class StaticAssets {
  private readonly assets = new Map<string, LoadedAsset>();
  /** index.html, with BOOT_MARKER where the first data goes. */
  readonly page: string;

  /** @throws Error naming the missing file when the page was not built (npm run build). */
  constructor(dir = WEB_ASSETS_DIR) {
    const read = (file: string): Buffer => {
      try {
        return readFileSync(path.join(dir, file));
      } catch {
        throw new Error(`the web page is not built (${path.join(dir, file)} is missing): run npm run build`);
      }
    };
    this.page = read('index.html').toString('utf8');
    for (const { url, file, type } of ASSETS) {
      const body = read(file);
      this.assets.set(url, { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` });
    }
  }

  /** The URLs served from here ('/' is the page, served by page-boot.ts). */
  urls(): string[] {
    return [...this.assets.keys()];
  }

  /** Answers for `url` if it is one of the page's files; false otherwise. */
  serve(req: IncomingMessage, res: ServerResponse, url: string): boolean {
    const asset = this.assets.get(url);
    if (!asset) return false;
    res.setHeader('ETag', asset.etag);
    res.setHeader('Cache-Control', 'no-cache');
    if (fresh(req.headers, { etag: asset.etag })) {
      res.statusCode = 304;
      res.end();
      return true;
    }
    res.statusCode = 200;
    res.setHeader('Content-Type', asset.type);
    res.setHeader('Content-Length', asset.body.length);
    res.end(req.method === 'HEAD' ? undefined : asset.body);
    return true;
  }
}
