/**
 * The one place failed logins are counted, shared by every interface (v2 protocol now, HTTP
 * later). Each failure doubles the wait before the next attempt from the same address, or
 * for the same account name, up to a bound; a quiet spell forgets them. Unknown names are
 * counted exactly like known ones, so the delays reveal nothing about which names exist.
 */

export interface LoginThrottleOptions {
  /** The wait after the first failure; each further one doubles it (default 250 ms). */
  baseDelayMs?: number;
  /** The longest wait (default 15 s). */
  maxDelayMs?: number;
  /** Failures are forgotten after this long without a new one (default 15 min). */
  forgetAfterMs?: number;
  /** Addresses and names tracked at once; the oldest go first (default 10,000 each). */
  maxTracked?: number;
  now?: () => number;
}

interface Failures {
  count: number;
  last: number;
  /** Attempts already let through are spaced until then (parallel connections queue up). */
  reservedUntil: number;
}

export const DEFAULT_LOGIN_BASE_DELAY_MS = 250;
export const DEFAULT_LOGIN_MAX_DELAY_MS = 15_000;

export class LoginThrottle {
  private readonly base: number;
  private readonly max: number;
  private readonly forgetAfter: number;
  private readonly maxTracked: number;
  private readonly now: () => number;
  private readonly byAddress = new Map<string, Failures>();
  private readonly byAccount = new Map<string, Failures>();

  constructor(options: LoginThrottleOptions = {}) {
    this.base = options.baseDelayMs ?? DEFAULT_LOGIN_BASE_DELAY_MS;
    this.max = options.maxDelayMs ?? DEFAULT_LOGIN_MAX_DELAY_MS;
    this.forgetAfter = options.forgetAfterMs ?? 15 * 60_000;
    this.maxTracked = options.maxTracked ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  /** How long to hold an attempt before judging it: the larger of the address's and the name's waits. */
  delayFor(address: string, account: string): number {
    return Math.max(this.delayOf(this.byAddress, addressKey(address)), this.delayOf(this.byAccount, account));
  }

  /**
   * Takes a turn for one attempt and says how long to wait for it. Attempts for a throttled
   * address or name are spaced one delay apart, so many connections guessing in parallel
   * queue up instead of all waiting the same one delay.
   */
  reserve(address: string, account: string): number {
    const now = this.now();
    const entries = [this.live(this.byAddress, addressKey(address)), this.live(this.byAccount, account)];
    let start = now;
    for (const f of entries) if (f) start = Math.max(start, now + this.delayAfter(f.count), f.reservedUntil);
    for (const f of entries) if (f) f.reservedUntil = start + this.delayAfter(f.count);
    return start - now;
  }

  recordFailure(address: string, account: string): void {
    this.bump(this.byAddress, addressKey(address));
    this.bump(this.byAccount, account);
  }

  /**
   * A right password clears the account's count, not the address's: an attacker who owns one
   * account must not be able to wipe the count of its guesses at others.
   */
  recordSuccess(_address: string, account: string): void {
    this.byAccount.delete(account);
  }

  /** Failures counted for an address (tests and logs). */
  failuresFrom(address: string): number {
    return this.live(this.byAddress, addressKey(address))?.count ?? 0;
  }

  private live(map: Map<string, Failures>, key: string): Failures | undefined {
    const f = map.get(key);
    if (f && this.now() - f.last > this.forgetAfter) {
      map.delete(key);
      return undefined;
    }
    return f;
  }

  private delayOf(map: Map<string, Failures>, key: string): number {
    const f = this.live(map, key);
    return f ? this.delayAfter(f.count) : 0;
  }

  private delayAfter(failures: number): number {
    return Math.min(this.max, this.base * 2 ** Math.min(failures - 1, 30));
  }

  private bump(map: Map<string, Failures>, key: string): void {
    const previous = this.live(map, key);
    map.delete(key); // re-inserted last: Map order is then oldest-first for eviction
    map.set(key, { count: (previous?.count ?? 0) + 1, last: this.now(), reservedUntil: previous?.reservedUntil ?? 0 });
    while (map.size > this.maxTracked) map.delete(map.keys().next().value as string);
  }
}

/**
 * IPv6 hosts usually own a whole /64: counting per address there would let one host rotate
 * through 2^64 of them. IPv4 (and IPv4-mapped) addresses count one by one.
 */
export function addressKey(address: string): string {
  const a = address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
  if (!a.includes(':')) return a;
  const [head] = a.split('%');
  const groups = expandIPv6(head!);
  return groups ? `${groups.slice(0, 4).join(':')}::/64` : a;
}

function expandIPv6(text: string): string[] | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const left = halves[0] ? halves[0].split(':') : [];
  const right = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const fill = 8 - left.length - right.length;
  if (fill < 0 || (halves.length === 1 && fill !== 0)) return undefined;
  return [...left, ...Array<string>(fill).fill('0'), ...right].map((g) => g.toLowerCase().replace(/^0+(?=.)/, ''));
}
