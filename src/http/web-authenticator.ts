/** Who a session belongs to. */
export interface WebUser {
  name: string;
  role: string;
}

/**
 * What the web interface needs of the server's accounts: checking a name and password, and
 * whether any account exists (with none, the web interface needs no login, as the TCP server
 * does). The accounts module implements it; until it is wired in, as-server passes
 * `noAccounts`.
 */
export interface WebAuthenticator {
  verify(name: string, password: string): Promise<WebUser | undefined>;
  hasAccounts(): Promise<boolean>;
}

/** No accounts: everyone may use the web interface without logging in. */
export const noAccounts: WebAuthenticator = {
  verify: async () => undefined,
  hasAccounts: async () => false,
};
