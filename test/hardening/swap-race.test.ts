/**
 * A real race against the opening of library files: while a child process swaps a directory
 * of the library with a link to an outside directory, over and over, clients ask for a file
 * in it over v2 (GET, INFO) and v1 (STREAM), and the tag workers read it. Not one byte, hash
 * or tag of the outside file may come out, in a few seconds of trying.
 *
 * The swap is four rename()s in a loop (Node has no renameat2 RENAME_EXCHANGE): `dir` is in
 * turn the real directory, missing, and a link to `outside/dir`, whose `b.wav` has the same
 * name as the real one. Checking a path and then opening it loses this race a good part of
 * the time; only checking the opened descriptor wins it.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fsp, realpathSync } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { TagWorkerPool } from '../../src/library/tag-worker-pool.js';
import { TestHarness, sha256, type RawClient } from '../support/server-harness.js';
import { requestLine, streamReply, streamRequest } from '../support/wire.js';
import { HELLO_PACKET, getRequest, waitForV2Replies } from './support/v2-wire.js';
import { taggedWav } from './support/tagged-wav.js';

const harness = new TestHarness();
after(() => harness.cleanup());

/** Marks every byte of the outside file: none may ever reach a client. */
const SECRET_MARK = 'OUTSIDE-SECRET-';
const SECRET_TITLE = 'Outside secret';
const SECRET = taggedWav(SECRET_TITLE, Buffer.from(SECRET_MARK.repeat(2000)));
const INSIDE = taggedWav('Inside', Buffer.alloc(30_000, 0x55));
/** How long the swapping goes on. */
const RACE_MS = 3_000;

/**
 * A library `root` with `a.wav` and `dir/<names>` (the inside file), and `outside/dir/<names>`
 * (the secret) next to it, plus the link `root/alt` → `outside/dir` that the swapper trades
 * places with `root/dir`.
 */
async function raceLibrary(names: readonly string[]): Promise<{ root: string; dir: string; alt: string; hold: string }> {
  const outside = await harness.library(Object.fromEntries(names.map((n) => [`dir/${n}`, SECRET])));
  const root = await harness.library({ 'a.wav': INSIDE, ...Object.fromEntries(names.map((n) => [`dir/${n}`, INSIDE])) });
  const alt = path.join(root, 'alt');
  await fsp.symlink(path.join(outside, 'dir'), alt);
  return { root, dir: path.join(root, 'dir'), alt, hold: path.join(root, '.hold') };
}

/** A child process swapping `dir` and the link `alt` for `ms` milliseconds; resolves when it exits (state restored). */
async function startSwapping(paths: { dir: string; alt: string; hold: string }, ms: number): Promise<{ child: ChildProcess; done: Promise<number> }> {
  const script = `
    const fs = require('node:fs');
    const [dir, alt, hold, ms] = process.argv.slice(1);
    const end = Date.now() + Number(ms);
    let cycles = 0;
    process.stdout.write('go ');
    while (Date.now() < end) {
      fs.renameSync(dir, hold);  // dir: missing
      fs.renameSync(alt, dir);   // dir: the link to outside
      fs.renameSync(dir, alt);   // dir: missing
      fs.renameSync(hold, dir);  // dir: the real directory again
      cycles++;
    }
    process.stdout.write(String(cycles));
  `;
  const child = spawn(process.execPath, ['-e', script, paths.dir, paths.alt, paths.hold, String(ms)], { stdio: ['ignore', 'pipe', 'inherit'] });
  harness.defer(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let out = '';
  let onStarted: () => void;
  const started = new Promise<void>((resolve) => (onStarted = resolve));
  child.stdout!.on('data', (c: Buffer) => {
    out += c.toString();
    if (out.startsWith('go ')) onStarted();
  });
  const done = new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => (code === 0 ? resolve(Number(out.slice(3))) : reject(new Error(`the swapper failed (${code})`))));
  });
  done.catch(() => {}); // killed at cleanup after a failed test: reported by the test itself
  // The race is on only once the loop runs (a child's start-up takes a while).
  await Promise.race([started, done]);
  return { child, done };
}

function assertNoSecret(bytes: Buffer, what: string): void {
  assert.ok(!bytes.includes(Buffer.from(SECRET_MARK)), `${what}: a byte of the outside file was served`);
}

describe('a directory of the library swapped with a link to outside, in a loop', () => {
  test('v2 GET and INFO, and v1 STREAM, never serve a byte (or the hash) of the outside file', { timeout: 30_000 }, async () => {
    const paths = await raceLibrary(['b.wav']);
    const server = await harness.startServer({ root: paths.root });
    assert.deepEqual(server.library.current.entries.map((e) => e.path), ['a.wav', 'dir/b.wav']);
    const swapping = await startSwapping(paths, RACE_MS);
    let racing = true;
    void swapping.done.finally(() => (racing = false));
    const counts = { served: 0, refused: 0, v1Served: 0, v1Refused: 0 };

    const v2Loop = async (): Promise<void> => {
      while (racing) {
        const client = await harness.connect(server.port);
        const asks = 10;
        await client.send(Buffer.concat([HELLO_PACKET, ...Array.from({ length: asks }, () => [getRequest('dir/b.wav'), requestLine('INFO "dir/b.wav"')]).flat()]));
        const replies = await waitForV2Replies(client, Array.from({ length: asks * 2 }, () => 'get' as const), 10_000);
        assertNoSecret(client.received, 'v2');
        for (const reply of replies) {
          if (reply.kind === 'get') {
            assert.deepEqual(reply.body, INSIDE);
            assert.equal(reply.trailer, `DONE ${sha256(INSIDE)}`);
            counts.served++;
          } else if (reply.text.startsWith('OK ')) {
            const record = JSON.parse(reply.text.slice(3)) as { sha256: string };
            assert.equal(record.sha256, sha256(INSIDE), 'INFO hashed the inside file');
            counts.served++;
          } else {
            assert.match(reply.text, /^ERR (NOT_FOUND|UNREADABLE) /);
            counts.refused++;
          }
        }
        client.destroy();
      }
    };
    const v1Loop = async (): Promise<void> => {
      while (racing) {
        const client: RawClient = await harness.connect(server.port);
        await client.send(streamRequest(1)); // dir/b.wav
        await client.end();
        const { received } = await client.waitForClose(10_000);
        assertNoSecret(received, 'v1');
        if (received.length === 0) counts.v1Refused++;
        else {
          assert.deepEqual(received, streamReply(INSIDE));
          counts.v1Served++;
        }
      }
    };
    await Promise.all([v2Loop(), v1Loop()]);
    const cycles = await swapping.done;
    assert.ok(cycles > 100, `the swapper ran (${cycles} cycles)`);
    // Not vacuous: the inside file was served while the race ran, and refused at times.
    assert.ok(counts.served > 0 && counts.v1Served > 0, `served some: ${JSON.stringify(counts)}`);
    assert.ok(counts.refused + counts.v1Refused > 0, `refused some: ${JSON.stringify(counts)}`);
  });

  test('tag workers reading during the race take no tag of the outside file, and cache nothing from outside', { timeout: 30_000 }, async () => {
    const names = Array.from({ length: 40 }, (_, i) => `t${String(i).padStart(2, '0')}.wav`);
    const paths = await raceLibrary(names);
    const server = await harness.startServer({ root: paths.root });
    const { library } = server;
    const swapping = await startSwapping(paths, RACE_MS);
    let racing = true;
    void swapping.done.finally(() => (racing = false));
    // The library's own reads (cached once they succeed), and uncached reads through a
    // worker pool of its own, both on worker threads.
    const pool = new TagWorkerPool({ workers: 2 });
    harness.defer(() => pool.close());
    const realRoot = realpathSync(paths.root);
    let rounds = 0;
    let poolReads = 0;
    while (racing) {
      const [cached, fresh] = await Promise.all([
        Promise.all(library.current.entries.map((e) => library.readTags(e))),
        Promise.all(names.slice(0, 10).map((n) => pool.read(realRoot, `dir/${n}`))),
      ]);
      for (const t of [...cached, ...fresh]) assert.notEqual(t?.title, SECRET_TITLE, 'a tag of the outside file was read');
      poolReads += fresh.length;
      rounds++;
      // Cached reads resolve without I/O: let the event loop see the swapper finish.
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await swapping.done;
    assert.ok(rounds > 1, `tags were read during the race (${rounds} rounds, ${poolReads} uncached reads)`);
    for (const entry of library.current.entries) {
      assert.notEqual(library.tags.get(entry)?.title, SECRET_TITLE, `${entry.path}: an outside tag stayed cached`);
      // Once the race is over every file shows its own tags.
      assert.equal((await library.readTags(entry)).title, 'Inside', entry.path);
    }
    // And LIST2 never shows them either.
    const client = await harness.connect(server.port);
    await client.send(Buffer.concat([HELLO_PACKET, requestLine('LIST2')]));
    await waitForV2Replies(client, ['line', ...library.current.entries.map(() => 'line' as const)]);
    assert.ok(!client.received.includes(Buffer.from(SECRET_TITLE)));
  });
});
