/**
 * A stand-in player for scenario 4: `node slow-player.js BYTES_PER_SECOND RESULT_FILE`.
 * Reads stdin no faster than the given rate (like a player that consumes audio in real
 * time, only faster), so the client must hold back the server. At end of input it writes
 * `{ bytes, ms }` to RESULT_FILE.
 */
import fs from 'node:fs';

const rate = Number(process.argv[2]);
const resultFile = process.argv[3];
if (!(rate > 0) || !resultFile) {
  process.stderr.write('usage: slow-player BYTES_PER_SECOND RESULT_FILE\n');
  process.exit(2);
}

const buffer = Buffer.allocUnsafe(64 * 1024);
const started = performance.now();
let total = 0;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function read(): Promise<number> {
  return new Promise((resolve, reject) => {
    fs.read(0, buffer, 0, buffer.length, null, (err, n) => {
      if (err && (err as NodeJS.ErrnoException).code === 'EAGAIN') resolve(-1);
      else if (err) reject(err);
      else resolve(n);
    });
  });
}

async function main(): Promise<void> {
  for (;;) {
    // Never ahead of the schedule: wait until `total` bytes are due before the next read.
    const due = started + (total / rate) * 1000;
    const now = performance.now();
    if (due > now) await sleep(due - now);
    const n = await read();
    if (n === 0) break;
    if (n < 0) {
      await sleep(1);
      continue;
    }
    total += n;
  }
  fs.writeFileSync(resultFile!, JSON.stringify({ bytes: total, ms: performance.now() - started }));
}

main().catch((err) => {
  process.stderr.write(`slow-player: ${(err as Error).message}\n`);
  process.exit(1);
});
