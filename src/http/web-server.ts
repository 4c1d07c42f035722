import { readFileSync } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Authenticator } from '../accounts/index.js';
import { AlbumLists, CatalogQueries, CoverArtReader, type Library } from '../library/index.js';
import { AudioStreamError } from '../protocol/index.js';
import { silentLogger, type Logger } from '../server/log.js';
import { SubsonicApi } from '../subsonic/index.js';
import { browsingRoutes } from './browsing.js';
import { coverArtRoutes } from './cover-art-api.js';
import { mediaRetrievalRoutes } from './media-retrieval.js';
import { servePage } from './page-boot.js';
import { checkHostForOpenServer, checkStateChangingRequest } from './request-guards.js';
import { HttpError, sendError, setSecurityHeaders } from './responses.js';
import { Router } from './router.js';
import { searchingRoutes } from './searching.js';
import { sessionRoutes } from './session-api.js';
import { SessionStore, type WebSessionStore } from './sessions.js';
import { StaticAssets } from './static-assets.js';
import type { WebContext } from './web-context.js';
import { noAccounts, type WebAuthenticator } from './web-authenticator.js';

/** The version announced by the Subsonic API's `serverVersion`. */
export const SERVER_VERSION: string = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

function parseQuery(url: string, queryStart: number): URLSearchParams {
  try {
    return new URLSearchParams(queryStart === -1 ? '' : url.slice(queryStart + 1));
  } catch {
    throw new HttpError(400, 'BAD_REQUEST', 'the query string is malformed');
  }
}

/** The web port when --http-port is not given. */
export const DEFAULT_HTTP_PORT = 3457;
/** Loopback until accounts guard the web interface: see README, "The web player". */
export const DEFAULT_HTTP_HOST = '127.0.0.1';
/** Longest request URL accepted (the API's URLs are short; a search is at most 256 characters). */
export const MAX_URL_LENGTH = 8192;

export interface WebServerOptions {
  library: Library;
  auth?: WebAuthenticator;
  /** The accounts themselves, for the Subsonic API's logins (its token scheme needs app passwords). */
  authenticator?: Authenticator;
  log?: Logger;
  /** PEM certificate and key files: serve HTTPS instead of HTTP. */
  tls?: { certFile: string; keyFile: string };
  /** Where the built page is (default: dist/web). */
  assetsDir?: string;
  /** Where sessions are kept (default: in memory; as-server passes session-store.ts's, in its database). */
  sessions?: WebSessionStore;
}

/**
 * The HTTP(S) interface of as-server: the player page, a JSON API over the library
 * database, and the files themselves. Plain node:http: the API is a dozen fixed routes
 * (router.ts), and what a framework would add (a plugin system, schema compilers) is not
 * needed; file semantics are in file-responder.ts.
 */
export class WebServer {
  readonly server: http.Server;
  private readonly router = new Router().add(...sessionRoutes, ...browsingRoutes, ...searchingRoutes, ...mediaRetrievalRoutes, ...coverArtRoutes);
  private readonly context: WebContext;
  private readonly subsonic: SubsonicApi;

  /** @throws AudioStreamError USAGE when the certificate or key cannot be read. */
  constructor(options: WebServerOptions) {
    const secure = options.tls !== undefined;
    const sessions = options.sessions ?? new SessionStore();
    const auth = options.auth ?? noAccounts;
    this.context = {
      library: options.library,
      catalog: new CatalogQueries(options.library.store),
      auth,
      sessions,
      assets: new StaticAssets(options.assetsDir),
      covers: new CoverArtReader(options.library),
      secure,
      log: options.log ?? silentLogger,
      async sessionOf(req) {
        const found = sessions.find(req);
        if (!found || !auth.credentialStamp) return found;
        if ((await auth.credentialStamp(found.session.user.name)) === found.session.credentialStamp) return found;
        sessions.removeUser(found.session.user.name);
        return undefined;
      },
    };
    this.subsonic = new SubsonicApi({
      services: { library: options.library, catalog: this.context.catalog, albums: new AlbumLists(options.library.store), covers: this.context.covers },
      ...(options.authenticator ? { authenticator: options.authenticator } : {}),
      serverVersion: SERVER_VERSION,
      log: this.context.log,
    });
    const listener = (req: IncomingMessage, res: ServerResponse): void => void this.handle(req, res);
    const serverOptions: http.ServerOptions = { maxHeaderSize: 16 * 1024, requestTimeout: 30_000, headersTimeout: 20_000, keepAliveTimeout: 5_000 };
    if (options.tls) {
      let cert: Buffer;
      let key: Buffer;
      try {
        cert = readFileSync(options.tls.certFile);
        key = readFileSync(options.tls.keyFile);
      } catch (err) {
        throw new AudioStreamError('USAGE', `cannot read the TLS certificate or key (${(err as NodeJS.ErrnoException).code ?? err}): check --tls-cert and --tls-key`);
      }
      try {
        this.server = https.createServer({ ...serverOptions, cert, key }, listener);
      } catch (err) {
        throw new AudioStreamError('USAGE', `the TLS certificate or key is not usable (${(err as Error).message}): pass PEM files with --tls-cert and --tls-key`);
      }
    } else {
      this.server = http.createServer(serverOptions, listener);
    }
    // A malformed request gets a plain 400 and the connection closed, never a stack trace.
    this.server.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      else socket.destroy();
    });
  }

  get secure(): boolean {
    return this.context.secure;
  }

  listen(port: number, host = DEFAULT_HTTP_HOST): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  close(): Promise<void> {
    this.context.covers.close();
    this.subsonic.close();
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    setSecurityHeaders(res);
    try {
      await this.dispatch(req, res);
    } catch (err) {
      if (err instanceof HttpError) sendError(req, res, err);
      else {
        // The path only: a query string can carry credentials (Subsonic's p=, t=, apiKey=).
        this.context.log.warn(`web: ${req.method} ${(req.url ?? '').split('?')[0]!.slice(0, 200)} failed: ${(err as Error)?.message ?? err}`);
        sendError(req, res, new HttpError(500, 'SERVER_ERROR', 'the server failed to answer; see its log'));
      }
    }
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    if (url.length > MAX_URL_LENGTH) throw new HttpError(414, 'BAD_REQUEST', `a URL may be at most ${MAX_URL_LENGTH} characters`);
    const accounts = await this.context.auth.hasAccounts();
    if (!accounts) checkHostForOpenServer(req);
    const queryStart = url.indexOf('?');
    const rawPath = queryStart === -1 ? url : url.slice(0, queryStart);
    const method = req.method ?? 'GET';
    if (this.subsonic.handles(rawPath)) {
      // The Subsonic API logs in on every request by its own parameters (src/subsonic/).
      await this.subsonic.handle(req, res, rawPath, parseQuery(url, queryStart));
      return;
    }
    if (method === 'GET' || method === 'HEAD') {
      if (rawPath === '/') {
        await servePage(req, res, this.context.assets.page, this.context);
        return;
      }
      if (this.context.assets.serve(req, res, rawPath)) return;
    }
    const match = this.router.match(method, rawPath);
    if (!match) throw new HttpError(404, 'NOT_FOUND', 'nothing here');
    if ('allowed' in match) {
      res.setHeader('Allow', match.allowed.join(', '));
      throw new HttpError(405, 'METHOD_NOT_ALLOWED', `use ${match.allowed.join(' or ')}`);
    }
    const found = await this.context.sessionOf(req);
    if (accounts && !match.route.public && !found) throw new HttpError(401, 'AUTH_REQUIRED', 'log in first');
    if (method === 'POST') checkStateChangingRequest(req, found?.session, this.context.secure);
    const query = parseQuery(url, queryStart);
    await match.route.handler({ req, res, ids: match.ids, query, context: this.context });
  }
}
