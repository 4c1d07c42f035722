import v8 from 'node:v8';
import vm from 'node:vm';

/**
 * A full garbage collection, asked for at the end of work that leaves much garbage in the
 * old generation and then goes quiet: a first scan and its reconcile, and a long tag pass.
 * V8 collects the old generation only when it grows past a limit, so what such work leaves
 * (100,000 paths and rows made once) stays in RSS for as long as the server then idles:
 * 20-25 MB on a first start of 100,000 files (docs/BENCHMARKS.md, scenario 11). One
 * collection costs a few tens of milliseconds at those moments, when no request waits.
 *
 * Node offers `gc()` only under --expose-gc; the flag set at run time makes it available in
 * contexts made afterwards, so one is made for it, once.
 */
let collect: (() => void) | undefined | null;

export function collectGarbageNow(): void {
  if (collect === undefined) {
    const own = (globalThis as { gc?: () => void }).gc;
    if (own) collect = own;
    else {
      try {
        v8.setFlagsFromString('--expose-gc');
        collect = vm.runInNewContext('gc') as () => void;
      } catch {
        collect = null; // not offered by this runtime: V8 collects when it sees fit
      }
    }
  }
  collect?.();
}
