import type { Logger } from './log.js';

/** How many lines a log may take: `burst` at once, refilled at `perSecond`. */
export interface LogRate {
  perSecond: number;
  burst: number;
}

/**
 * Lines one connection may log. A normal client logs a line per request; a flood of
 * requests (or of junk) must not fill the disk: past this, lines are counted, not written.
 */
export const CONNECTION_LOG_RATE: LogRate = { perSecond: 20, burst: 100 };

/** Lines the whole server may log from its connections, however many there are. */
export const SERVER_LOG_RATE: LogRate = { perSecond: 200, burst: 1000 };

/**
 * A token bucket: {@link take} says whether one more line may be written now. The one
 * mechanism behind every log rate limit of the server (per connection, server-wide, and
 * refused connections).
 */
export class LineBudget {
  private readonly rate: LogRate;
  private readonly now: () => number;
  private tokens: number;
  private last: number;

  constructor(rate: LogRate, now: () => number = Date.now) {
    this.rate = rate;
    this.now = now;
    this.tokens = rate.burst;
    this.last = now();
  }

  take(): boolean {
    const now = this.now();
    this.tokens = Math.min(this.rate.burst, this.tokens + ((now - this.last) / 1000) * this.rate.perSecond);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/**
 * A Logger that passes lines on while its {@link LineBudget} allows, drops the rest, and
 * says how many it dropped on the next line it lets through (or in {@link takeDropped}).
 */
export class RateLimitedLogger implements Logger {
  private readonly inner: Logger;
  private readonly budget: LineBudget;
  private dropped = 0;

  constructor(inner: Logger, rate: LogRate, now?: () => number) {
    this.inner = inner;
    this.budget = new LineBudget(rate, now);
  }

  info(message: string): void {
    this.emit('info', message);
  }

  warn(message: string): void {
    this.emit('warn', message);
  }

  /** Lines dropped since the last one written; counted as reported from then on. */
  takeDropped(): number {
    const n = this.dropped;
    this.dropped = 0;
    return n;
  }

  private emit(level: keyof Logger, message: string): void {
    if (!this.budget.take()) {
      this.dropped++;
      return;
    }
    const dropped = this.takeDropped();
    this.inner[level](dropped > 0 ? `${message} (${dropped} earlier log line${dropped === 1 ? '' : 's'} not written: rate limit)` : message);
  }
}
