import { setMaxListeners } from 'node:events';

/**
 * What one scenario started (children, sockets, servers), undone when it ends however it
 * ends: normally, by an error, or by its time limit.
 */
export class Scope {
  private readonly cleanups: (() => void | Promise<void>)[] = [];
  private readonly controller = new AbortController();

  constructor() {
    // A thousand concurrent readers each listen for the abort: that is not a leak.
    setMaxListeners(0, this.controller.signal);
  }

  /** Aborted when the scope closes: long waits inside the scenario give up. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Runs `fn` when the scope closes, last deferred first. */
  defer(fn: () => void | Promise<void>): void {
    this.cleanups.push(fn);
  }

  async close(): Promise<void> {
    this.controller.abort();
    while (this.cleanups.length > 0) {
      const fn = this.cleanups.pop()!;
      try {
        await withTimeout(Promise.resolve().then(fn), 10_000, 'cleanup step');
      } catch (err) {
        process.stderr.write(`bench: cleanup: ${(err as Error).message}\n`);
      }
    }
  }
}

/** Rejects with a clear message if `promise` takes longer than `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${(ms / 1000).toFixed(0)} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
