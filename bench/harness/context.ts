/** What every scenario gets from the runner. */
export interface BenchContext {
  /** How many runs to do of something whose default is `n` (fewer with --quick). */
  runs(n: number): number;
  /** Set with --quick: scenarios that build big fixtures build smaller ones. */
  quick: boolean;
  /** Set with --profile DIR: servers (and clients) of scenarios 1 and 3, and scenario 7's child, write CPU profiles here. */
  profileDir: string | undefined;
  /** Set with --read-chunk BYTES: our server's readChunkSize, to compare settings. */
  readChunkSize: number | undefined;
  /** A progress line on stderr. */
  log(message: string): void;
}

export interface ScenarioResult {
  rows: import('./report.js').ResultRow[];
  notes: string[];
}
