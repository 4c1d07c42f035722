import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeTempDir, removeDir, writeRandomLibrary } from './support/files.js';
import { clientArgs, describeRun, runClient, startClient } from './support/run-client.js';
import { startServer, type RunningServer } from './support/loopback-server.js';
import { startScriptedServer } from './support/server-doubles.js';

// Twelve files, so that indexes 0-11 need two columns.
const PATHS = Array.from({ length: 12 }, (_, i) => `Artist ${String.fromCharCode(65 + i)}/Track ${i}.wav`);

describe('as-client with piped stdin against a real AudioServer', () => {
  let work: string;
  let server: RunningServer;

  before(async () => {
    work = await makeTempDir('piped');
    await writeRandomLibrary(path.join(work, 'server'), Object.fromEntries(PATHS.map((p) => [p, 100])));
    server = await startServer(path.join(work, 'server'));
  });
  after(async () => {
    await server?.close();
    await removeDir(work);
  });

  const args = (): string[] => clientArgs(server.port, path.join(work, 'library'), 'true');

  test('list prints no prompt, one line per file, indexes right-aligned so the paths line up', { timeout: 20_000 }, async () => {
    const run = await runClient(args(), 'list\n');
    assert.equal(run.code, 0, describeRun(run));
    assert.equal(run.stderr, '');
    assert.doesNotMatch(run.stdout, /as>/, 'no prompt when stdin is not a terminal');
    const lines = run.stdout.split('\n').filter(Boolean);
    assert.deepEqual(
      lines,
      PATHS.map((p, i) => `${String(i).padStart(2)}  ${p}`),
    );
  });

  test('help works and the exit status is 0 when every command succeeded', { timeout: 20_000 }, async () => {
    const run = await runClient(args(), 'help\n\n   \nlist\n');
    assert.equal(run.code, 0, describeRun(run));
    assert.match(run.stdout, /^Commands:/);
    for (const command of ['list', 'get N', 'stream N', 'stream+ N', 'help', 'quit']) {
      assert.match(run.stdout, new RegExp(`^  ${command.replace('+', '\\+')}\\b`, 'm'), `help mentions ${command}`);
    }
    assert.equal(run.stderr, '');
  });

  test('an unknown command is an error on stderr, the shell goes on, and the exit status is 1', { timeout: 20_000 }, async () => {
    const run = await runClient(args(), 'bogus 1 2\nlist\n');
    assert.equal(run.code, 1, describeRun(run));
    assert.equal(run.stderr, 'error: unknown command "bogus" (type help for the list)\n');
    assert.doesNotMatch(run.stdout, /bogus/);
    assert.match(run.stdout, /^11  Artist L\/Track 11\.wav$/m, 'the list after it ran');
  });

  test('quit leaves at once: later lines are not run, and stdin left open does not keep the client alive', { timeout: 20_000 }, async () => {
    const session = startClient(args());
    session.write('quit\nbogus\n'); // stdin stays open
    const run = await session.exited;
    assert.equal(run.code, 0, describeRun(run));
    assert.equal(run.stderr, '');
  });

  test('end of input (Ctrl-D) leaves with the status so far', { timeout: 20_000 }, async () => {
    const run = await runClient(args(), '');
    assert.equal(run.code, 0, describeRun(run));
    assert.equal(run.stdout, '');
  });
});

describe('as-client command-line flags', () => {
  test('--help and -h print the usage on stdout and exit 0', { timeout: 20_000 }, async () => {
    for (const flag of ['--help', '-h']) {
      const run = await runClient([flag], '');
      assert.equal(run.code, 0, describeRun(run));
      assert.match(run.stdout, /^Usage: as-client \[options\]/);
      for (const option of ['--address', '--port', '--library', '--player', '--help']) assert.match(run.stdout, new RegExp(option));
      assert.equal(run.stderr, '');
    }
  });

  const usageErrors: [string, string[], RegExp][] = [
    ['an unknown flag', ['--bogus'], /^as-client: Unknown option '--bogus' \(see --help\)$/],
    ['a port that is not a number', ['-p', 'http'], /^as-client: port must be a number from 0 to 65535, not "http"$/],
    ['a port out of range', ['-p', '70000'], /port must be a number from 0 to 65535/],
    ['a player command with a pipe', ['--player', 'mpv - | tee out'], /^as-client: the player command may not contain shell syntax like "\|"/],
    ['an empty player command', ['--player', ''], /^as-client: the player command is empty$/],
    ['a stray argument', ['somewhere'], /^as-client: .*somewhere/],
  ];
  for (const [what, argv, message] of usageErrors) {
    test(`${what} gives a one-line error and exit status 2`, { timeout: 20_000 }, async () => {
      const run = await runClient(argv, '');
      assert.equal(run.code, 2, describeRun(run));
      assert.equal(run.stdout, '');
      assert.equal(run.stderr.split('\n').filter(Boolean).length, 1, `one line: ${run.stderr}`);
      assert.match(run.stderr.trim(), message);
    });
  }
});

describe('an empty library', () => {
  let work: string;
  before(async () => {
    work = await makeTempDir('empty-library');
    await fsp.mkdir(path.join(work, 'server'));
  });
  after(async () => {
    await removeDir(work);
  });

  test('real AudioServer with no files: list says the library is empty, get N says so too', { timeout: 20_000 }, async () => {
    const server = await startServer(path.join(work, 'server'));
    try {
      const run = await runClient(clientArgs(server.port, path.join(work, 'library'), 'true'), 'list\nget 0\n');
      assert.equal(run.code, 1, describeRun(run));
      assert.equal(run.stdout, '(the library is empty)\n');
      assert.equal(run.stderr, "error: no file 0: the server's library is empty\n");
    } finally {
      await server.close();
    }
  });

  test('scripted v1 server double with no files (it answers LIST with nothing at all): the same, after a wait', { timeout: 20_000 }, async () => {
    const double = await startScriptedServer({ paths: [] });
    try {
      const run = await runClient(clientArgs(double.port, path.join(work, 'library'), 'true'), 'list\nget 0\n');
      assert.equal(run.code, 1, describeRun(run));
      assert.equal(run.stdout, '(the library is empty)\n');
      assert.equal(run.stderr, "error: no file 0: the server's library is empty\n");
    } finally {
      await double.close();
    }
  });
});
