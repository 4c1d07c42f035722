import type { CatalogQueries, CoverArtReader, Library } from '../library/index.js';
import type { Logger } from '../server/log.js';
import type { Session, WebSessionStore } from './sessions.js';
import type { StaticAssets } from './static-assets.js';
import type { WebAuthenticator } from './web-authenticator.js';

/** The services every route may use: the same library and database the TCP server serves. */
export interface WebContext {
  library: Library;
  catalog: CatalogQueries;
  auth: WebAuthenticator;
  sessions: WebSessionStore;
  assets: StaticAssets;
  covers: CoverArtReader;
  /** Served over TLS: cookies are marked Secure. */
  secure: boolean;
  log: Logger;
  /**
   * The request's session, if it is live and its user's credential has not changed since the
   * login (else every session of that user is ended).
   */
  sessionOf(req: import('node:http').IncomingMessage): Promise<{ token: string; session: Session } | undefined>;
}
