import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import type { Authenticator } from '../accounts/index.js';
import { silentLogger, type Logger } from '../server/log.js';
import { albumListEndpoints } from './album-lists.js';
import { browsingEndpoints } from './browsing.js';
import { encodeError, encodeResponse, type ResponseFormat } from './encoders.js';
import { SENT, type Endpoint, type SubsonicServices } from './endpoint.js';
import { LyricsReader } from '../library/lyrics.js';
import { UserDataStore } from '../library/user-data-store.js';
import { lyricsEndpoints } from './lyrics.js';
import { CoverScaler, type CoverScalerOptions } from './cover-scaling.js';
import { mediaAnnotationEndpoints } from './media-annotation.js';
import { mediaRetrievalEndpoints } from './media-retrieval.js';
import { NowPlayingBoard } from './now-playing.js';
import { playQueueEndpoints } from './play-queue.js';
import { playlistEndpoints } from './playlists.js';
import { readSubsonicParams, type SubsonicParams } from './request-params.js';
import { SubsonicError, SubsonicErrorCode, type SubsonicBody } from './responses.js';
import { searchingEndpoints } from './searching.js';
import { SubsonicAuth } from './subsonic-auth.js';
import { systemEndpoints } from './system.js';
import { annotateUserData } from './user-annotations.js';

/** Where the API lives on the web server. */
export const SUBSONIC_PATH_PREFIX = '/rest/';
/** `/rest/NAME` or `/rest/NAME.view`; names are short ASCII words. */
const ENDPOINT_PATH = /^\/rest\/([A-Za-z0-9]{1,64})(?:\.view)?$/;

const ENDPOINTS: Readonly<Record<string, Endpoint>> = {
  ...systemEndpoints,
  ...browsingEndpoints,
  ...albumListEndpoints,
  ...searchingEndpoints,
  ...mediaRetrievalEndpoints,
  ...mediaAnnotationEndpoints,
  ...playlistEndpoints,
  ...playQueueEndpoints,
  ...lyricsEndpoints,
};

/** The endpoints implemented, for the README and tests. */
export const SUBSONIC_ENDPOINTS: readonly string[] = Object.keys(ENDPOINTS);

export interface SubsonicApiOptions {
  services: SubsonicServices;
  /** The accounts; without it (or without any account) the API is open, as the other interfaces are. */
  authenticator?: Authenticator;
  serverVersion: string;
  log?: Logger;
  /** The user data (default: its tables in the library's own database, migrated here). */
  userData?: UserDataStore;
  /** getCoverArt's scaling: another ffmpeg or time limit (tests). */
  coverScaler?: Pick<CoverScalerOptions, 'ffmpeg' | 'timeoutMs' | 'cacheDir'>;
}

/**
 * The Subsonic / OpenSubsonic API under /rest/: parameters from the query or a form body,
 * authentication on every request, one endpoint table, and every answer that is not a file
 * in the envelope (XML, or JSON with `f=json`) with HTTP 200, errors included, as clients
 * expect. An unknown endpoint is error 0 "not implemented", never an HTML page.
 */
export class SubsonicApi {
  private readonly services: SubsonicServices;
  private readonly auth: SubsonicAuth;
  private readonly authenticator: Authenticator | undefined;
  private readonly serverVersion: string;
  private readonly log: Logger;
  private readonly userData: UserDataStore;
  private readonly nowPlaying = new NowPlayingBoard();
  private readonly lyrics: LyricsReader;
  private readonly coverScaler: CoverScaler;

  constructor(options: SubsonicApiOptions) {
    this.services = options.services;
    this.userData = options.userData ?? new UserDataStore(options.services.library.store.database);
    this.lyrics = new LyricsReader(options.services.library);
    const databaseFile = options.services.library.store.database.file;
    this.coverScaler = new CoverScaler({
      // Beside the database, in the data directory; a library without one scales each time.
      ...(databaseFile !== ':memory:' ? { cacheDir: path.join(path.dirname(databaseFile), 'cover-cache') } : {}),
      ...(options.coverScaler ?? {}),
      log: (line) => (options.log ?? silentLogger).warn(line),
    });
    this.auth = new SubsonicAuth(options.authenticator);
    this.authenticator = options.authenticator;
    this.serverVersion = options.serverVersion;
    this.log = options.log ?? silentLogger;
  }

  /** True for paths this API answers (everything under /rest/). */
  handles(rawPath: string): boolean {
    return rawPath.startsWith(SUBSONIC_PATH_PREFIX);
  }

  async handle(req: IncomingMessage, res: ServerResponse, rawPath: string, query: URLSearchParams): Promise<void> {
    let format: ResponseFormat = query.get('f') === 'json' ? 'json' : 'xml';
    // With accounts, credentials travel in every request, never in cookies: other origins
    // (apps running in a browser) may call the API and load its media, and nothing ambient is
    // exposed. Without accounts the API is open, so no other origin may read it: any web page
    // could otherwise read the library through the visitor's browser.
    if (await this.hasAccounts()) {
      res.setHeader('Access-Control-Allow-Origin', '*');
      res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
    }
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD' && req.method !== 'POST') throw new SubsonicError(SubsonicErrorCode.GENERIC, 'use GET or POST');
      const params: SubsonicParams = await readSubsonicParams(req, query);
      format = params.get('f') === 'json' ? 'json' : 'xml';
      const name = ENDPOINT_PATH.exec(rawPath)?.[1];
      const user = await this.auth.authenticate(params, req.socket.remoteAddress ?? '');
      const endpoint = name === undefined ? undefined : Object.hasOwn(ENDPOINTS, name) ? ENDPOINTS[name] : undefined;
      if (!endpoint) throw new SubsonicError(SubsonicErrorCode.GENERIC, `not implemented: ${(name ?? rawPath.slice(SUBSONIC_PATH_PREFIX.length)).slice(0, 64)}`);
      const result = await endpoint({ req, res, params, user, services: this.services, userData: this.userData, nowPlaying: this.nowPlaying, lyrics: this.lyrics, coverScaler: this.coverScaler });
      if (result !== SENT) annotateUserData((result as SubsonicBody).body, user.name, this.userData, format);
      if (result !== SENT) this.send(req, res, format, encodeResponse(format, this.serverVersion, result as SubsonicBody));
    } catch (err) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (!(err instanceof SubsonicError)) this.log.warn(`subsonic: ${rawPath.slice(0, 100)} failed: ${(err as Error)?.message ?? err}`);
      const error = err instanceof SubsonicError ? err : new SubsonicError(SubsonicErrorCode.GENERIC, 'the server failed to answer; see its log');
      this.send(req, res, format, encodeError(format, this.serverVersion, error));
    }
  }

  /** Ends the lyrics worker thread. */
  close(): void {
    this.lyrics.close();
  }

  private async hasAccounts(): Promise<boolean> {
    return this.authenticator !== undefined && (await this.authenticator.store.hasAccounts());
  }

  private send(req: IncomingMessage, res: ServerResponse, format: ResponseFormat, text: string): void {
    const body = Buffer.from(text, 'utf8');
    res.statusCode = 200;
    res.setHeader('Content-Type', format === 'json' ? 'application/json; charset=utf-8' : 'text/xml; charset=utf-8');
    res.setHeader('Content-Length', body.length);
    res.setHeader('Cache-Control', 'no-store');
    res.end(req.method === 'HEAD' ? undefined : body);
  }
}
