/**
 * A real file-backed account store in a temporary data directory, and the policy a server
 * uses with it. Keys are made with the RFC minimum of 4096 iterations to keep tests quick;
 * made-up keys for unknown names use the same count, as in a real server.
 */
import { Authenticator, FileAccountStore, LoginThrottle, loadServerSecret, type LoginThrottleOptions, type Role } from '../../../src/accounts/index.js';
import { deriveScramCredential } from '../../../src/protocol/index.js';
import { AccessPolicy } from '../../../src/server/index.js';
import type { TestHarness } from '../../support/server-harness.js';

export const TEST_ITERATIONS = 4096;

export interface TestAccounts {
  dataDir: string;
  store: FileAccountStore;
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
  const store = new FileAccountStore(dataDir, secret);
  const throttle = new LoginThrottle(options.throttle ?? { baseDelayMs: 0 });
  const authenticator = new Authenticator({ store, serverSecret: secret, throttle, iterations: TEST_ITERATIONS });
  const policy = new AccessPolicy({ authenticator, ...(options.allowV1From ? { allowV1From: options.allowV1From } : {}) });
  const add = (name: string, password: string, role: Role = 'listener'): Promise<void> =>
    store.add({ name, role, scram: deriveScramCredential(password, { iterations: TEST_ITERATIONS }), created: new Date().toISOString() });
  for (const [name, password] of Object.entries(options.users ?? {})) await add(name, password);
  return { dataDir, store, throttle, policy, add };
}
