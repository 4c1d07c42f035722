import path from 'node:path';
import { fileURLToPath } from 'node:url';

const distBench = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

/** Where things are, from dist/bench/harness/paths.js. */
export const paths = {
  /** dist/bench: the compiled bench scripts that run as children. */
  distBench,
  repoRoot: path.resolve(distBench, '..', '..'),
  get asClient(): string {
    return path.join(this.repoRoot, 'bin', 'as-client');
  },
  get asServer(): string {
    return path.join(this.repoRoot, 'bin', 'as-server');
  },
  get sampleLibrary(): string {
    return path.join(this.repoRoot, 'sample-library');
  },
  get resultsJson(): string {
    return path.join(this.repoRoot, 'bench', 'results.json');
  },
};
