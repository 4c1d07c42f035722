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
  };
}
