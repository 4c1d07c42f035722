import { createHash } from 'node:crypto';
import type { Authenticator } from '../accounts/index.js';
/** Who a session belongs to. */
export interface WebUser {
  name: string;
  role: string;
}

/**
 * What the web interface needs of the server's accounts: checking a name and password, and
 * whether any account exists (with none, the web interface needs no login, as the TCP server
 * does). as-server passes the accounts' Authenticator (src/accounts/authenticator.ts);
 * `noAccounts` serves tests and a server with no data directory.
 */
export interface WebAuthenticator {
  /** `address` is the peer's, for the login throttle shared with the other interfaces. */
  verify(name: string, password: string, address: string): Promise<WebUser | undefined>;
  hasAccounts(): Promise<boolean>;
  /**
   * A value that changes when the user's password (or role) changes, undefined once the user
   * is gone. A session remembers it at login and ends when it differs, so `as-server user
   * passwd` or `user remove`, run from another process, logs the user's browsers out.
   */
  credentialStamp?(name: string): Promise<string | undefined>;
}

/** No accounts: everyone may use the web interface without logging in. */
export const noAccounts: WebAuthenticator = {
  verify: async () => undefined,
  hasAccounts: async () => false,
};

/** The server's accounts, as the web interface sees them: the same store and login throttle as v2. */
export function accountsWebAuthenticator(authenticator: Authenticator): WebAuthenticator {
  return {
    verify: async (name, password, address) => {
      const account = await authenticator.verifyPassword(address, name, password);
      return account && { name: account.name, role: account.role };
    },
    hasAccounts: () => authenticator.store.hasAccounts(),
    async credentialStamp(name) {
      const account = await authenticator.store.find(name);
      // A hash of the SCRAM key, not the key itself, goes into the sessions table.
      return account && createHash('sha256').update(account.role).update('\0').update(account.scram.storedKey).digest('base64url');
    },
  };
}
