/**
 * Accounts as every interface sees them (the v2 protocol now, HTTP sessions and Subsonic
 * later). Callers use only {@link AccountStore}; the store is a table in the server database
 * (sqlite-account-store.ts).
 */
import { AudioStreamError, checkUsername, type ScramCredential } from '../protocol/index.js';

/** `admin` may manage the server (through interfaces that offer it); `listener` may list and play. */
export type Role = 'admin' | 'listener';
export const ROLES: readonly Role[] = ['admin', 'listener'];

export interface Account {
  name: string;
  role: Role;
  /** The only form of the password kept: SCRAM's salted keys (no password, no SaltedPassword). */
  scram: ScramCredential;
  /**
   * Opt-in, per user: a second, recoverable secret for Subsonic's token scheme
   * (md5(password + salt)), which needs the server to know the password itself. Never the
   * login password. See docs/SECURITY.md.
   */
  appPassword?: string;
  /** ISO 8601. */
  created: string;
}

export interface AccountSummary {
  name: string;
  role: Role;
  hasAppPassword: boolean;
  hasApiKey: boolean;
  created: string;
}

export interface AccountStore {
  /** True once any account exists: from then on the server requires logins (docs/SECURITY.md). */
  hasAccounts(): Promise<boolean>;
  find(name: string): Promise<Account | undefined>;
  list(): Promise<AccountSummary[]>;
  /** Fails with ACCOUNTS_FAILED if the name is taken. */
  add(account: Account): Promise<void>;
  /** Replaces the fields given; fails with ACCOUNTS_FAILED if there is no such account. */
  update(name: string, change: Partial<Pick<Account, 'role' | 'scram' | 'appPassword'>> & { removeAppPassword?: boolean }): Promise<void>;
  /** False if there was no such account (its API key goes with it). */
  remove(name: string): Promise<boolean>;
  /**
   * Gives an account a new API key (Subsonic's `apiKey`), replacing any older one; only the
   * key's SHA-256 is stored. Fails with ACCOUNTS_FAILED if there is no such account.
   */
  setApiKeyHash(name: string, hash: Buffer): Promise<void>;
  /** Revokes an account's API key; false if it had none. */
  removeApiKey(name: string): Promise<boolean>;
  /** The account whose API key hashes to `hash`. */
  findByApiKeyHash(hash: Buffer): Promise<Account | undefined>;
}

/** A name the login exchange can carry; USAGE otherwise (it comes from the command line). */
export function checkAccountName(name: string): string {
  try {
    return checkUsername(name);
  } catch (err) {
    throw new AudioStreamError('USAGE', `"${name.slice(0, 80)}" cannot be a user name: ${(err as Error).message.replace(/^malformed SCRAM message: /, '')}`);
  }
}

export function parseRole(text: string): Role {
  if ((ROLES as readonly string[]).includes(text)) return text as Role;
  throw new AudioStreamError('USAGE', `--role must be ${ROLES.join(' or ')}, not "${text}"`);
}
