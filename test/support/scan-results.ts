import { scanLibrary, type ScanOptions } from '../../src/library/index.js';

/** One thing a scan skipped, and why. */
export interface Skip {
  path: string;
  reason: string;
}

/** Scans and returns the relative paths plus what was skipped. */
export async function scan(root: string, options: Omit<ScanOptions, 'onSkip'> = {}): Promise<{ paths: string[]; skipped: Skip[] }> {
  const skipped: Skip[] = [];
  const entries = await scanLibrary(root, { ...options, onSkip: (p, reason) => skipped.push({ path: p, reason }) });
  return { paths: entries.map((e) => e.path), skipped };
}
