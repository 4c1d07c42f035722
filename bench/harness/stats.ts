export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function min(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : Math.min(...values);
}

export function max(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : Math.max(...values);
}

/** Decimal units throughout, to match the targets (100 MB = 100 × 10^6 bytes). */
export const MB = 1e6;

export function mbPerSecond(bytes: number, ms: number): number {
  return bytes / MB / (ms / 1000);
}

export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : ms >= 10 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(1)} ms`;
}

export function fmtRate(mbs: number): string {
  return Number.isFinite(mbs) ? `${mbs.toFixed(0)} MB/s` : '-';
}

export function fmtMB(bytes: number): string {
  return Number.isFinite(bytes) ? `${(bytes / MB).toFixed(1)} MB` : '-';
}

/** Runs `a` and `b` `runs` times, alternating which goes first (ABBA) so drift hits both alike. */
export async function interleaved<A, B>(runs: number, a: () => Promise<A>, b: () => Promise<B>): Promise<{ a: A[]; b: B[] }> {
  const as: A[] = [];
  const bs: B[] = [];
  for (let i = 0; i < runs; i++) {
    if (i % 2 === 0) {
      as.push(await a());
      bs.push(await b());
    } else {
      bs.push(await b());
      as.push(await a());
    }
  }
  return { a: as, b: bs };
}

/** Like {@link interleaved} for any number of contenders: run i starts with contender i mod n. */
export async function rotated<T>(runs: number, contenders: (() => Promise<T>)[]): Promise<T[][]> {
  const results: T[][] = contenders.map(() => []);
  for (let i = 0; i < runs; i++) {
    for (let k = 0; k < contenders.length; k++) {
      const c = (i + k) % contenders.length;
      results[c]!.push(await contenders[c]!());
    }
  }
  return results;
}
