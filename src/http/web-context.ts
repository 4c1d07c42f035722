import type { CatalogQueries, CoverArtReader, Library } from '../library/index.js';
import type { Logger } from '../server/log.js';
import type { LoginLimiter } from './login-limiter.js';
import type { Session, SessionStore } from './sessions.js';
import type { StaticAssets } from './static-assets.js';
import type { WebAuthenticator } from './web-authenticator.js';

/** The services every route may use: the same library and database the TCP server serves. */
export interface WebContext {
  library: Library;
  catalog: CatalogQueries;
  auth: WebAuthenticator;
  sessions: SessionStore;
  loginLimiter: LoginLimiter;
  assets: StaticAssets;
  covers: CoverArtReader;
  /** Served over TLS: cookies are marked Secure. */
  secure: boolean;
  log: Logger;
  /** The request's session, found by the server before the handler runs. */
  sessionOf(req: import('node:http').IncomingMessage): { token: string; session: Session } | undefined;
}
