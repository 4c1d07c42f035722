/**
 * A real account store in the database of a temporary data directory, and the policy a server
 * uses with it. Keys are made with the RFC minimum of 4096 iterations to keep tests quick;
 * made-up keys for unknown names use the same count, as in a real server.
 */
import { Authenticator, LoginThrottle, SqliteAccountStore, loadServerSecret, type LoginThrottleOptions, type Role } from '../../../src/accounts/index.js';
import { ServerDatabase } from '../../../src/library/index.js';
import { deriveScramCredential } from '../../../src/protocol/index.js';
import { AccessPolicy } from '../../../src/server/index.js';
import type { TestHarness } from '../../support/server-harness.js';

export const TEST_ITERATIONS = 4096;

export interface TestAccounts {
  dataDir: string;
  store: SqliteAccountStore;
  throttle: LoginThrottle;
  policy: AccessPolicy;
  add(name: string, password: string, role?: Role): Promise<void>;
}

export async function testAccounts(
  harness: TestHarness,
  options: { users?: Record<string, string>; throttle?: LoginThrottleOptions; allowV1From?: string[] } = {},
): Promise<TestAccounts> {
  const dataDir = await harness.tempDir('audiostream-data-');
  const secret = await loadServerSecret(dataDir);
  const database = ServerDatabase.open(dataDir);
  harness.defer(() => database.close());
  const store = new SqliteAccountStore(database, secret);
  const throttle = new LoginThrottle(options.throttle ?? { baseDelayMs: 0 });
  const authenticator = new Authenticator({ store, serverSecret: secret, throttle, iterations: TEST_ITERATIONS });
  const policy = new AccessPolicy({ authenticator, ...(options.allowV1From ? { allowV1From: options.allowV1From } : {}) });
  const add = (name: string, password: string, role: Role = 'listener'): Promise<void> =>
    store.add({ name, role, scram: deriveScramCredential(password, { iterations: TEST_ITERATIONS }), created: new Date().toISOString() });
  for (const [name, password] of Object.entries(options.users ?? {})) await add(name, password);
  return { dataDir, store, throttle, policy, add };
}
