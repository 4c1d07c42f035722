import v8 from 'node:v8';
import type { Worker } from 'node:worker_threads';

/**
 * V8 doubles the young generation each time a scavenge finds much of it still alive, up
 * to 16 MB a semi-space, and keeps it at that size. A scan and a first tag pass are what
 * grow it (100,000 paths and rows in the making), and it stayed grown: 25-30 MB of the main
 * thread's RSS on a first start of 100,000 files (docs/BENCHMARKS.md, scenario 11). While
 * one is held, the young generation keeps the size it has (growth factor 1: the flag is
 * read at each growth, so setting it at run time takes effect); the same work then costs
 * some more scavenges. Nothing is changed when the process was started with a
 * semi-space flag of its own.
 *
 * A worker thread's start sets V8's flags back to what the process started with (Node 20):
 * a tag pass, which starts its workers while it holds, grew the young generation to 32 MB
 * all the same. Every worker is therefore handed to `keepHoldAcrossStart`.
 */
const OWN_FLAGS = /semi[-_]space/.test(`${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`);
/** V8's default growth factor, put back once nothing holds the young generation. */
const DEFAULT_GROWTH_FACTOR = 2;

let holds = 0;

/** Keeps the young generation from growing until the returned function is called (once; holds nest). */
export function holdYoungGeneration(): () => void {
  if (OWN_FLAGS) return () => {};
  if (holds++ === 0) v8.setFlagsFromString('--semi-space-growth-factor=1');
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--holds === 0) v8.setFlagsFromString(`--semi-space-growth-factor=${DEFAULT_GROWTH_FACTOR}`);
  };
}

/** Puts a hold back once `worker` has started (its start undid it). */
export function keepHoldAcrossStart(worker: Worker): void {
  if (OWN_FLAGS) return;
  worker.once('online', () => {
    if (holds > 0) v8.setFlagsFromString('--semi-space-growth-factor=1');
  });
}

/** Holds taken and not yet released (for tests). */
export function youngGenerationHolds(): number {
  return holds;
}
