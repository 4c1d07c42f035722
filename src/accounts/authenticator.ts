import { createHash, createHmac, pbkdf2 } from 'node:crypto';
import { promisify } from 'node:util';
import { SCRAM_DEFAULT_ITERATIONS, constantTimeEqual, normalizePassword, type ScramCredential } from '../protocol/index.js';
import type { Account, AccountStore } from './account-store.js';
import { LoginThrottle } from './login-throttle.js';

/**
 * What every login, on any interface, goes through: the account store, the shared
 * {@link LoginThrottle}, and made-up credentials for names that do not exist.
 */
export class Authenticator {
  readonly store: AccountStore;
  readonly throttle: LoginThrottle;
  private readonly secret: Buffer;
  private readonly iterations: number;

  constructor(options: { store: AccountStore; serverSecret: Buffer; throttle?: LoginThrottle; iterations?: number }) {
    this.store = options.store;
    this.secret = options.serverSecret;
    this.throttle = options.throttle ?? new LoginThrottle();
    this.iterations = options.iterations ?? SCRAM_DEFAULT_ITERATIONS;
  }

  /**
   * The credential to run SCRAM against. For a name with no account: a salt derived from the
   * server secret (the same one every time, as a real user's would be) with the iteration
   * count new accounts get, and keys no password matches; the exchange then fails exactly as
   * a wrong password does, with the same messages and the same work.
   */
  async credentialFor(name: string): Promise<{ credential: ScramCredential; account: Account | undefined }> {
    const account = await this.store.find(name);
    const fake = this.fakeCredential(name); // computed either way: same work for both cases
    return { credential: account?.scram ?? fake, account };
  }

  /**
   * A login with the password itself, for interfaces that receive it (the web page's login
   * form, over HTTPS): the same throttle, the same made-up keys for unknown names and the same
   * work as a SCRAM login, checked against the stored key (the password is never kept).
   * PBKDF2 runs on the thread pool, so a login does not stall the event loop.
   */
  async verifyPassword(address: string, name: string, password: string): Promise<Account | undefined> {
    const delay = this.throttle.reserve(address, name);
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    const { credential, account } = await this.credentialFor(name);
    const salted = await pbkdf2Async(normalizePassword(password), credential.salt, credential.iterations, 32, 'sha256');
    const clientKey = createHmac('sha256', salted).update('Client Key').digest();
    const storedKey = createHash('sha256').update(clientKey).digest();
    if (constantTimeEqual(storedKey, credential.storedKey) && account) {
      this.throttle.recordSuccess(address, name);
      return account;
    }
    this.throttle.recordFailure(address, name);
    return undefined;
  }

  private fakeCredential(name: string): ScramCredential {
    const derive = (label: string): Buffer => createHmac('sha256', this.secret).update(`${label}\0${name}`).digest();
    return {
      salt: derive('scram fake salt').subarray(0, 16),
      iterations: this.iterations,
      storedKey: derive('scram fake stored key'),
      serverKey: derive('scram fake server key'),
    };
  }
}

const pbkdf2Async = promisify(pbkdf2);
