/**
 * Ctrl-C during a transfer from a slow source: the hostile-server double trickles a large
 * file, and the test interrupts the real CLI once the `.part` file has grown. The transfer
 * stops ("cancelled"), nothing is at the final name (v1: no `.part`; v2: the `.part` is kept
 * and the next get resumes it), the shell stays, and the next command works. At the
 * prompt, Ctrl-C leaves (piped: at once; interactive: the second press).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { quote } from 'shell-quote';
import { getReplyBytes, startHostileServer, u32, v1ListBytes, v1StreamBytes, v2ListBytes, v2Record, type HostileScript, type HostileServer } from '../doubles/hostile-server.js';
import { exists, listFiles, makeTempDir, removeDir } from '../client/support/files.js';
import { CLIENT_BIN, TEST_CACHE_HOME, playerCommand } from '../client/support/paths.js';
import { clientArgs, describeRun, startClient } from '../client/support/run-client.js';
import { assertNoStackTrace, assertSentinelEmpty, makePlace, sleep, waitUntil } from './support/checks.js';

const GOOD = randomBytes(3000);
// At 8 kB per 20 ms the slow file would take 20 s: every test interrupts it long before.
const SLOW = randomBytes(8 * 1024 * 1024);
const TRICKLE = { chunk: 8 * 1024, delayMs: 20 };
const PATHS = ['good.wav', 'Album/slow.wav'];

/**
 * good.wav (0) is sent at once; Album/slow.wav (1) trickles. Over v2 a resumed GET
 * (offset > 0) of the slow file is sent at once, with the right hash.
 */
function slowSource(version: 1 | 2): HostileScript {
  return version === 1
    ? {
        version: 1,
        list: (ctx) => void ctx.write(v1ListBytes(PATHS)),
        stream: async (index, ctx) => {
          if (index === 0) return void (await ctx.write(v1StreamBytes(GOOD)));
          await ctx.write(u32(SLOW.length));
          await ctx.trickle(SLOW, TRICKLE.chunk, TRICKLE.delayMs);
        },
      }
    : {
        version: 2,
        list2: (ctx) => void ctx.write(v2ListBytes([v2Record(PATHS[0]!, GOOD.length), v2Record(PATHS[1]!, SLOW.length)])),
        get: async (req, ctx) => {
          if (req.path === 'good.wav') return void (await ctx.write(getReplyBytes(GOOD)));
          if (req.offset > 0) return void (await ctx.write(getReplyBytes(SLOW, req.offset)));
          const reply = getReplyBytes(SLOW, 0);
          const header = reply.indexOf(0x0a) + 1;
          await ctx.write(reply.subarray(0, header));
          await ctx.trickle(reply.subarray(header), TRICKLE.chunk, TRICKLE.delayMs);
        },
      };
}

let work: string;
before(async () => {
  work = await makeTempDir('ctrl-c');
});
after(async () => {
  await removeDir(work);
});

/** Size of a file, 0 if it does not exist. */
async function sizeOf(file: string): Promise<number> {
  return (await fsp.stat(file).catch(() => undefined))?.size ?? 0;
}

for (const version of [1, 2] as const) {
  describe(`hostile-server double (v${version}) trickling a large file: SIGINT to the piped client`, () => {
    let double: HostileServer;
    before(async () => {
      double = await startHostileServer(slowSource(version));
    });
    after(async () => {
      await double?.close();
    });

    test(`during get: "cancelled", nothing at the final name, ${version === 1 ? 'the bytes kept only as the .part (v1 cannot resume: the next get starts over)' : 'the .part kept and resumed by the next get'}, and the session goes on; SIGINT at the prompt then leaves`, { timeout: 30_000 }, async () => {
      const place = await makePlace(work, `get-v${version}`);
      const finalPath = path.join(place.library, 'Album', 'slow.wav');
      const partPath = path.join(place.library, 'Album', '.slow.wav.part');
      const connectionsBefore = double.connections;
      const session = startClient(clientArgs(double.port, place.library, 'true'), { timeoutMs: 25_000 });
      try {
        session.write('get 1\n');
        await waitUntil('the .part file has grown past 64 kB', async () => (await sizeOf(partPath)) >= 64 * 1024);
        process.kill(session.pid, 'SIGINT');
        await session.waitFor('stderr', /^cancelled$/m);
        // The transfer really stopped: nothing more reaches the .part.
        const partAfterCancel = await sizeOf(partPath);
        await sleep(200);
        assert.equal(await sizeOf(partPath), partAfterCancel, 'nothing more was written after the cancel');
        assert.equal(await exists(finalPath), false, 'nothing at the final name');
        assert.ok(partAfterCancel >= 64 * 1024 && partAfterCancel < SLOW.length, `the .part is kept (${partAfterCancel} bytes)`);
        assert.ok((await fsp.readFile(partPath)).equals(SLOW.subarray(0, partAfterCancel)), 'the .part holds the bytes that came');

        session.write('get 0\n');
        await session.waitFor('stdout', /^saved good\.wav /m);
        if (version === 2) {
          session.write('get 1\n');
          await session.waitFor('stdout', /^saved Album\/slow\.wav \(.*, resumed at .*, verified\)$/m);
          assert.ok((await fsp.readFile(finalPath)).equals(SLOW), 'the resumed file is whole and right');
          assert.ok(double.requestLines().includes(`GET "Album/slow.wav" ${partAfterCancel}`), 'the get resumed where the cancel left it');
        }
        assert.ok(double.connections - connectionsBefore >= 2, 'the cancelled connection was not reused');

        // Idle at the prompt, stdin still open: SIGINT leaves (piped mode).
        process.kill(session.pid, 'SIGINT');
        const run = await session.exited;
        assert.equal(run.code, 1, `the cancel counts as a failure: ${describeRun(run)}`);
        assert.equal(run.stderr, 'cancelled\n');
        assertNoStackTrace(run);
      } finally {
        await session.end().catch(() => {});
      }
      assert.deepEqual(await listFiles(place.library), version === 1 ? ['Album/.slow.wav.part', 'good.wav'] : ['Album/slow.wav', 'good.wav']);
      await assertSentinelEmpty(place);
    });
  });
}

describe('hostile-server double (v2) trickling a large file: SIGINT during stream (play only)', () => {
  test('"cancelled" while the file is still arriving, nothing saved, and the next command works', { timeout: 20_000 }, async () => {
    // Regression (with get): Ctrl-C once reached a transfer only until its header had
    // arrived; after that the whole file was still fetched before "cancelled".
    const double = await startHostileServer(slowSource(2));
    const place = await makePlace(work, 'stream');
    const recorded = path.join(place.dir, 'recorded');
    const session = startClient(clientArgs(double.port, place.library, playerCommand('recording-player', recorded)), { timeoutMs: 15_000 });
    try {
      session.write('stream 1\n');
      await waitUntil('the player has heard 64 kB', async () => (await sizeOf(recorded)) >= 64 * 1024);
      process.kill(session.pid, 'SIGINT');
      await session.waitFor('stderr', /^cancelled$/m);
      assert.ok((await sizeOf(recorded)) < SLOW.length / 2, 'the transfer stopped long before the end');
      session.write('get 0\n');
      await session.waitFor('stdout', /^saved good\.wav /m);
      const run = await session.end();
      assert.equal(run.code, 1, describeRun(run));
      assert.equal(run.stderr, 'cancelled\n');
      assert.doesNotMatch(run.stdout, /played/);
      assert.deepEqual(await listFiles(place.library), ['good.wav']);
    } finally {
      await session.end().catch(() => {});
      await double.close();
    }
  });
});

describe('hostile-server double (v1) trickling its listing: SIGINT during list', () => {
  test('"cancelled", the shell stays, and the next list works', { timeout: 20_000 }, async () => {
    const lines = v1ListBytes(Array.from({ length: 2000 }, (_, i) => `Slow/${i}.wav`));
    const double = await startHostileServer({
      version: 1,
      // The first listing trickles; later ones come at once.
      list: async (ctx) => (ctx.count === 0 ? void (await ctx.trickle(lines, 64, 20)) : void (await ctx.write(v1ListBytes(PATHS)))),
    });
    const place = await makePlace(work, 'list');
    const session = startClient(clientArgs(double.port, place.library, 'true'), { timeoutMs: 15_000 });
    try {
      session.write('list\n');
      await waitUntil('the listing has begun', () => double.requests.length >= 2);
      await sleep(100);
      process.kill(session.pid, 'SIGINT');
      await session.waitFor('stderr', /^cancelled$/m);
      session.write('list\n');
      await session.waitFor('stdout', /^1 {2}Album\/slow\.wav$/m);
      const run = await session.end();
      assert.equal(run.code, 1, describeRun(run));
      assert.equal(run.stderr, 'cancelled\n');
      assert.doesNotMatch(run.stdout, /Slow\//, 'nothing of the cancelled listing was shown');
    } finally {
      await session.end().catch(() => {});
      await double.close();
    }
  });
});

describe('piped client idle at the prompt', () => {
  test('SIGINT leaves with the status so far (0 when every command succeeded)', { timeout: 20_000 }, async () => {
    const double = await startHostileServer(slowSource(2));
    const place = await makePlace(work, 'idle');
    const session = startClient(clientArgs(double.port, place.library, 'true'), { timeoutMs: 15_000 });
    try {
      session.write('get 0\n');
      await session.waitFor('stdout', /^saved good\.wav /m);
      process.kill(session.pid, 'SIGINT'); // stdin stays open: only the signal can end it
      const run = await session.exited;
      assert.equal(run.code, 0, describeRun(run));
      assert.equal(run.stderr, '');
    } finally {
      await session.end().catch(() => {});
      await double.close();
    }
  });
});

/** Whether `script` (util-linux) can run a command under a pseudo-terminal here. */
function scriptAvailable(): string | undefined {
  try {
    execFileSync('script', ['-qec', 'true', '/dev/null'], { stdio: 'pipe', timeout: 5000 });
    return undefined;
  } catch (err) {
    return `script (util-linux) cannot run a pseudo-terminal here: ${String((err as Error).message).split('\n')[0]}`;
  }
}

describe('hostile-server double (v2) trickling a large file: Ctrl-C in the interactive shell, under a pseudo-terminal (script -qec)', () => {
  test('Ctrl-C cancels the get, the prompt comes back and the next get works; at the prompt the first Ctrl-C warns, the second leaves', { timeout: 30_000 }, async (t) => {
    const unavailable = scriptAvailable();
    if (unavailable) {
      t.skip(unavailable);
      return;
    }
    const double = await startHostileServer(slowSource(2));
    const place = await makePlace(work, 'pty');
    const partPath = path.join(place.library, 'Album', '.slow.wav.part');
    const command = quote([process.execPath, CLIENT_BIN, ...clientArgs(double.port, place.library, 'true')]);
    // script copies our pipe into the terminal; Ctrl-C is the byte 0x03, which the shell's
    // readline (in raw mode) turns into its SIGINT event, as for a person at a keyboard.
    const child = spawn('script', ['-qfec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, TERM: 'dumb', AS_PLAYER: '', XDG_CACHE_HOME: TEST_CACHE_HOME } });
    let screen = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (screen += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (screen += s));
    child.stdin.on('error', () => {});
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const killer = setTimeout(() => child.kill('SIGKILL'), 25_000);
    const waitForScreen = (pattern: RegExp, what: string): Promise<void> => waitUntil(`${what}; the screen shows:\n${screen}`, () => pattern.test(screen), 15_000);
    try {
      await waitForScreen(/as> /, 'the prompt');
      child.stdin.write('get 1\r');
      await waitUntil('the .part file has grown past 64 kB', async () => (await sizeOf(partPath)) >= 64 * 1024);
      child.stdin.write('\x03');
      await waitForScreen(/cancelled/, '"cancelled"');
      assert.equal(await exists(path.join(place.library, 'Album', 'slow.wav')), false);
      assert.ok(await exists(partPath), 'the .part is kept to resume');

      child.stdin.write('get 0\r');
      await waitForScreen(/saved good\.wav/, 'the next get');
      const before = screen.length;
      child.stdin.write('\x03');
      await waitUntil('the warning', () => screen.slice(before).includes('press Ctrl-C again'), 10_000);
      child.stdin.write('\x03');
      const code = await exited;
      // An interactive session leaves with 0: the cancel was shown as it happened (README, exit status).
      assert.equal(code, 0, `the client left with 0, the cancel already shown:\n${screen}`);
      assert.doesNotMatch(screen, /\n\s+at /, 'no stack trace');
    } finally {
      clearTimeout(killer);
      child.kill('SIGKILL');
      await double.close();
    }
  });
});
