/** Failed logins allowed per address within the window, then refused until it passes. */
export const MAX_FAILED_LOGINS = 5;
export const FAILED_LOGIN_WINDOW_MS = 60_000;
/** Addresses remembered at once (every length limited: a flood of addresses evicts the oldest). */
const MAX_TRACKED_ADDRESSES = 10_000;

/**
 * Counts failed logins per client address and refuses further attempts from an address that
 * failed too often lately, so a password cannot be guessed at network speed.
 */
export class LoginLimiter {
  private readonly failures = new Map<string, { count: number; since: number }>();
  private readonly now: () => number;

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  /** True while `address` may not try again. */
  blocked(address: string): boolean {
    const entry = this.failures.get(address);
    if (!entry) return false;
    if (this.now() - entry.since > FAILED_LOGIN_WINDOW_MS) {
      this.failures.delete(address);
      return false;
    }
    return entry.count >= MAX_FAILED_LOGINS;
  }

  failed(address: string): void {
    const now = this.now();
    const entry = this.failures.get(address);
    if (entry && now - entry.since <= FAILED_LOGIN_WINDOW_MS) entry.count++;
    else {
      this.failures.delete(address);
      if (this.failures.size >= MAX_TRACKED_ADDRESSES) this.failures.delete(this.failures.keys().next().value!);
      this.failures.set(address, { count: 1, since: now });
    }
  }

  succeeded(address: string): void {
    this.failures.delete(address);
  }
}
