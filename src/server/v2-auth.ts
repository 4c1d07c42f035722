import { setTimeout as sleep } from 'node:timers/promises';
import type { Account } from '../accounts/index.js';
import {
  AUTH_CONTINUE_VERB,
  AUTH_VERB,
  SCRAM_MECHANISM,
  ScramServer,
  encodeSaslMessage,
  encodeV2Line,
  isAudioStreamError,
  parseAuthLine,
} from '../protocol/index.js';
import type { AccessPolicy } from './access-policy.js';
import type { Logger } from './log.js';
import type { ReplyChannel } from './reply-channel.js';
import { sendV2Error } from './v2-handlers.js';

/** Login attempts on one connection before it is closed (each one also waits its throttle delay). */
export const MAX_LOGIN_ATTEMPTS_PER_CONNECTION = 5;

/** What the gate decides for a request. */
export type Admission = 'serve' | 'refuse';

/**
 * One connection's login state and the policy applied to its requests (docs/PROTOCOL.md,
 * "Login"). The SCRAM exchange itself is the socket-free {@link ScramServer}; this holds the
 * pieces together: the throttle's delay, made-up keys for unknown names, log lines that never
 * hold a secret.
 */
export class ConnectionGate {
  private readonly policy: AccessPolicy;
  private readonly address: string;
  private readonly peer: string;
  private readonly log: Logger;
  private user: Account | undefined;
  private pending: { scram: ScramServer; name: string; account: Account | undefined } | undefined;
  private attempts = 0;
  /** Set after too many failed attempts: the connection should close once the reply is out. */
  exhausted = false;

  constructor(options: { policy: AccessPolicy; address: string; peer: string; log: Logger }) {
    this.policy = options.policy;
    this.address = options.address;
    this.peer = options.peer;
    this.log = options.log;
  }

  get userName(): string | undefined {
    return this.user?.name;
  }

  /** v1 requests: served without accounts, or to an allowed address, or after a v2 login. */
  async admitV1(): Promise<Admission> {
    if (this.user || this.policy.v1AllowedFrom(this.address)) return 'serve';
    return (await this.policy.loginRequired()) ? 'refuse' : 'serve';
  }

  /** v2 requests other than HELLO and the login lines. */
  async admitV2(): Promise<Admission> {
    if (this.user) return 'serve';
    return (await this.policy.loginRequired()) ? 'refuse' : 'serve';
  }

  /** Why a v1 peer was closed, for the log. */
  get v1Refusal(): string {
    return `v1 request refused: accounts exist, v1 cannot log in, and this address is not in --allow-v1-from (${this.policy.v1AllowedText})`;
  }

  static isLoginLine(line: string): boolean {
    return line.startsWith(`${AUTH_VERB} `) || line === AUTH_VERB || line.startsWith(`${AUTH_CONTINUE_VERB} `) || line === AUTH_CONTINUE_VERB;
  }

  /** Answers one AUTH or AUTH-CONTINUE line; returns a summary for the log. */
  async answer(line: string, channel: ReplyChannel): Promise<string> {
    let parsed;
    try {
      parsed = parseAuthLine(line)!;
    } catch (err) {
      this.pending = undefined;
      await sendV2Error(channel, 'BAD_REQUEST', (err as Error).message);
      return 'malformed login line';
    }
    if (this.user) {
      await sendV2Error(channel, 'BAD_REQUEST', `already logged in as ${this.user.name}`);
      return 'login repeated';
    }
    if (parsed.kind === 'auth') return this.start(parsed.mechanism, parsed.message, channel);
    return this.finish(parsed.message, channel);
  }

  private async start(mechanism: string, message: string, channel: ReplyChannel): Promise<string> {
    this.pending = undefined;
    if (mechanism !== SCRAM_MECHANISM) {
      await sendV2Error(channel, 'BAD_REQUEST', `unknown login mechanism; this server offers ${SCRAM_MECHANISM}`);
      return 'unknown login mechanism';
    }
    if (!(await this.policy.loginRequired())) {
      await sendV2Error(channel, 'AUTH_FAILED', 'this server has no accounts: connect without -u');
      return 'login without accounts';
    }
    const scram = new ScramServer();
    let name: string;
    try {
      name = scram.receiveFirst(message).username;
    } catch (err) {
      await sendV2Error(channel, 'BAD_REQUEST', isAudioStreamError(err) ? err.message : 'malformed login');
      return 'malformed login';
    }
    this.attempts++;
    // Held before the keys are even looked up: the wait is the same for any name.
    const delay = this.policy.authenticator.throttle.reserve(this.address, name);
    if (delay > 0) await sleep(delay);
    if (channel.closed) return 'login abandoned';
    const { credential, account } = await this.policy.authenticator.credentialFor(name);
    this.pending = { scram, name, account };
    await channel.write(encodeV2Line(`${AUTH_CONTINUE_VERB} ${encodeSaslMessage(scram.first(credential))}`));
    return `login started${delay > 0 ? ` after a ${delay} ms throttle delay` : ''}`;
  }

  private async finish(message: string, channel: ReplyChannel): Promise<string> {
    const pending = this.pending;
    this.pending = undefined;
    if (!pending) {
      await sendV2Error(channel, 'BAD_REQUEST', 'AUTH-CONTINUE without AUTH first');
      return 'login step out of order';
    }
    let result: { ok: boolean; serverFinal: string };
    try {
      result = pending.scram.receiveFinal(message);
    } catch {
      result = { ok: false, serverFinal: '' };
    }
    const throttle = this.policy.authenticator.throttle;
    if (result.ok && pending.account) {
      throttle.recordSuccess(this.address, pending.name);
      this.user = pending.account;
      await channel.write(encodeV2Line(`OK ${encodeSaslMessage(result.serverFinal)}`));
      return `logged in as ${JSON.stringify(pending.name)} (${pending.account.role})`;
    }
    // An unknown name and a wrong password end here alike: one reply, one log line, one count.
    throttle.recordFailure(this.address, pending.name);
    this.log.warn(`${this.peer} login failed for ${JSON.stringify(pending.name.slice(0, 64))} (${throttle.failuresFrom(this.address)} recent failures from this address)`);
    if (this.attempts >= MAX_LOGIN_ATTEMPTS_PER_CONNECTION) this.exhausted = true;
    await sendV2Error(channel, 'AUTH_FAILED', 'wrong user name or password');
    return 'login failed';
  }
}
