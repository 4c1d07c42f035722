/**
 * Scenario 5's scans, each in a fresh process: `node scan-baseline.js ROOT` walks ROOT
 * with synchronous readdir + stat, the least code that finds the same files as
 * scanLibrary (without its link, loop, depth and name checks); `node scan-baseline.js
 * ROOT ours` runs scanLibrary itself. Both print `{ ms, files }`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { isAudioFileName, scanLibrary } from '../src/library/index.js';

const root = process.argv[2]!;
if (process.argv[3] === 'ours') {
  const started = performance.now();
  const entries = await scanLibrary(root);
  process.stdout.write(JSON.stringify({ ms: performance.now() - started, files: entries.length }));
  process.exit(0);
}
const started = performance.now();
const found: { path: string; size: number; mtimeMs: number }[] = [];
const walk = (dir: string, rel: string): void => {
  for (const dirent of fs.readdirSync(dir, { withFileTypes: true })) {
    const abs = path.join(dir, dirent.name);
    const relPath = rel ? `${rel}/${dirent.name}` : dirent.name;
    if (dirent.isDirectory()) walk(abs, relPath);
    else if (dirent.isFile() && isAudioFileName(dirent.name)) {
      const stats = fs.statSync(abs);
      found.push({ path: relPath, size: stats.size, mtimeMs: stats.mtimeMs });
    }
  }
};
walk(root, '');
found.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
process.stdout.write(JSON.stringify({ ms: performance.now() - started, files: found.length }));
