import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { ClientConnection, LocalLibrary, Shell } from '../../src/client/index.js';
import { isAudioStreamError } from '../../src/protocol/index.js';
import { exists, listFiles, makeTempDir, removeDir, sha256File } from './support/files.js';
import { SAMPLE_LIBRARY, playerCommand } from './support/paths.js';
import { clientArgs, describeRun, runClient, startClient } from './support/run-client.js';
import { startServer, unusedPort } from './support/loopback-server.js';
import { startScriptedServer, type ScriptedServer } from './support/server-doubles.js';

let work: string;
before(async () => {
  work = await makeTempDir('connection');
});
after(async () => {
  await removeDir(work);
});

function assertNoStackTrace(stderr: string): void {
  assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
}

describe('connection refused and reconnect', () => {
  test('connection refused: one clear line, no stack trace, the shell goes on, and reconnects once the server is back', { timeout: 20_000 }, async () => {
    const port = await unusedPort();
    const library = path.join(work, 'lib-refused');
    const session = startClient(clientArgs(port, library, 'true'));
    try {
      session.write('list\n');
      await session.waitFor('stderr', /connection refused/);
      const lines = session.stderr.trim().split('\n');
      assert.equal(lines.length, 1, `one line: ${session.stderr}`);
      assert.match(lines[0]!, new RegExp(`^error: cannot connect to 127\\.0\\.0\\.1:${port}: connection refused\\. Is as-server running there\\?`));
      assertNoStackTrace(session.stderr);

      const server = await startServer(SAMPLE_LIBRARY, port);
      try {
        session.write('list\n');
        await session.waitFor('stdout', /^9  /m);
        session.write('get 4\n');
        await session.waitFor('stdout', /^saved Singles\/Short Beep\.wav /m);
      } finally {
        await server.close();
      }
    } finally {
      const run = await session.end();
      assert.equal(run.code, 1, `one command failed: ${describeRun(run)}`);
    }
    assert.equal(await sha256File(path.join(library, 'Singles', 'Short Beep.wav')), await sha256File(path.join(SAMPLE_LIBRARY, 'Singles', 'Short Beep.wav')));
  });

  test('server restart while the client is idle and connected: the next command reconnects by itself', { timeout: 20_000 }, async () => {
    let server = await startServer(SAMPLE_LIBRARY);
    const port = server.port;
    const library = path.join(work, 'lib-restart');
    const session = startClient(clientArgs(port, library, 'true'));
    try {
      session.write('list\n');
      await session.waitFor('stdout', /^9  /m);
      await server.close(); // drops the client's connection
      server = await startServer(SAMPLE_LIBRARY, port);
      session.write('get 4\n');
      await session.waitFor('stdout', /^saved Singles\/Short Beep\.wav /m);
    } finally {
      const run = await session.end();
      await server.close();
      assert.equal(run.code, 0, describeRun(run));
      assert.equal(run.stderr, '');
    }
  });

  test('ClientConnection: refused is CONNECTION_REFUSED, and the same connection object works once a server listens', { timeout: 20_000 }, async () => {
    const port = await unusedPort();
    const connection = new ClientConnection({ host: '127.0.0.1', port });
    await assert.rejects(connection.list(), (err) => isAudioStreamError(err, 'CONNECTION_REFUSED'));
    const server = await startServer(SAMPLE_LIBRARY, port);
    try {
      const { entries } = await connection.list();
      assert.equal(entries.length, 10);
    } finally {
      connection.close();
      await server.close();
    }
  });
});

describe('hostile/truncating server double: announces 1000 bytes, sends 10, closes', () => {
  let double: ScriptedServer;
  const good = randomBytes(5000);
  before(async () => {
    double = await startScriptedServer({
      paths: ['Hostile/cut.wav', 'Hostile/good.wav'],
      streams: new Map([
        [0, { kind: 'truncate', declared: 1000, body: Buffer.from('0123456789') }],
        [1, { kind: 'complete', body: good }],
      ]),
    });
  });
  after(async () => {
    await double?.close();
  });

  test('get: a clear error, nothing at the final name, the 10 bytes kept only as the .part, and the next command works', { timeout: 20_000 }, async () => {
    const library = path.join(work, 'lib-cut-get');
    const run = await runClient(clientArgs(double.port, library, 'true'), 'get 0\nget 1\n');
    assert.equal(run.code, 1, describeRun(run));
    assert.match(run.stderr, /^error: the server closed the connection after 10 of 1000 bytes$/m);
    assert.equal(run.stderr.trim().split('\n').length, 1, 'one error line');
    assertNoStackTrace(run.stderr);
    assert.equal(await exists(path.join(library, 'Hostile', 'cut.wav')), false, 'nothing at the final name');
    assert.deepEqual(await listFiles(library), ['Hostile/.cut.wav.part', 'Hostile/good.wav'], 'the partial data only as the .part; the next get worked');
    assert.equal(await readFile(path.join(library, 'Hostile', '.cut.wav.part'), 'utf8'), '0123456789');
  });

  test('stream: the truncation is an error (exit 1), and nothing is saved', { timeout: 20_000 }, async () => {
    const library = path.join(work, 'lib-cut-stream');
    const run = await runClient(clientArgs(double.port, library, playerCommand('recording-player', path.join(work, 'recorded-cut'))), 'stream 0\n');
    assert.equal(run.code, 1, describeRun(run));
    assert.match(run.stderr, /error: the server closed the connection after 10 of 1000 bytes/);
    assertNoStackTrace(run.stderr);
    assert.doesNotMatch(run.stdout, /^played /m);
    assert.equal(await exists(library), false);
  });

  test('stream+: the truncation is an error, nothing at the final name, no .part left', { timeout: 20_000 }, async () => {
    const library = path.join(work, 'lib-cut-stream-plus');
    const run = await runClient(clientArgs(double.port, library, playerCommand('recording-player', path.join(work, 'recorded-cut-plus'))), 'stream+ 0\n');
    assert.equal(run.code, 1, describeRun(run));
    assert.match(run.stderr, /error: the server closed the connection after 10 of 1000 bytes/);
    assertNoStackTrace(run.stderr);
    assert.deepEqual(await listFiles(library), [], 'no file and no .part');
  });

  test('ClientConnection: the body fails with TRUNCATED_TRANSFER', { timeout: 20_000 }, async () => {
    const connection = new ClientConnection({ host: '127.0.0.1', port: double.port });
    try {
      const { entries } = await connection.list();
      assert.deepEqual(entries.map((e) => e.path), ['Hostile/cut.wav', 'Hostile/good.wav']);
      const file = await connection.fetch(entries[0]!);
      assert.equal(file.size, 1000);
      const received: Buffer[] = [];
      await assert.rejects(
        (async () => {
          for await (const chunk of file.body) received.push(chunk as Buffer);
        })(),
        (err) => isAudioStreamError(err, 'TRUNCATED_TRANSFER'),
      );
      assert.equal(Buffer.concat(received).toString(), '0123456789');
    } finally {
      connection.close();
    }
  });

  test('ClientConnection: a body that fails before anyone reads it does not crash the process, and reading it still fails', { timeout: 20_000 }, async () => {
    // Regression: the body Readable had no 'error' listener until the consumer began to
    // read, so a server closing while get/stream+ were still opening their file crashed
    // the client with an unhandled 'error' event (about one run in three).
    const connection = new ClientConnection({ host: '127.0.0.1', port: double.port });
    try {
      const { entries } = await connection.list();
      const file = await connection.fetch(entries[0]!);
      // Let the close arrive and fail the body before anyone reads it.
      for (let spins = 0; !file.body.destroyed && spins < 10_000; spins++) await new Promise((resolve) => setImmediate(resolve));
      assert.equal(file.body.destroyed, true, 'the close reached the body');
      await assert.rejects(
        (async () => {
          for await (const chunk of file.body) void chunk;
        })(),
        (err) => isAudioStreamError(err, 'TRUNCATED_TRANSFER'),
      );
    } finally {
      connection.close();
    }
  });
});

describe('hostile/over-long server double: sends bytes after the announced body', () => {
  let double: ScriptedServer;
  const body = randomBytes(3000);
  const other = randomBytes(2000);
  before(async () => {
    double = await startScriptedServer({
      paths: ['long.wav', 'other.wav'],
      streams: new Map([
        [0, { kind: 'overlong', body, extra: Buffer.from('GARBAGE THAT NOBODY ASKED FOR') }],
        [1, { kind: 'complete', body: other }],
      ]),
    });
  });
  after(async () => {
    await double?.close();
  });

  test('get saves exactly the announced bytes and the next command works on a fresh connection', { timeout: 20_000 }, async () => {
    const library = path.join(work, 'lib-overlong');
    const run = await runClient(clientArgs(double.port, library, 'true'), 'get 0\nget 1\n');
    assert.equal(run.code, 0, describeRun(run));
    assert.ok((await readFile(path.join(library, 'long.wav'))).equals(body));
    assert.ok((await readFile(path.join(library, 'other.wav'))).equals(other));
  });
});

describe('Shell fetches the list when it needs to (scripted v1 double records requests)', () => {
  let double: ScriptedServer;
  before(async () => {
    double = await startScriptedServer({
      paths: ['a.wav', 'b.wav', 'c.wav'],
      streams: new Map([[1, { kind: 'complete', body: Buffer.from('bee') }]]),
    });
  });
  after(async () => {
    await double?.close();
  });

  function makeShell(library: string): { shell: Shell; connection: ClientConnection; out: () => string; err: () => string } {
    const connection = new ClientConnection({ host: '127.0.0.1', port: double.port });
    const output = new PassThrough();
    const errors = new PassThrough();
    let out = '';
    let err = '';
    output.on('data', (b: Buffer) => (out += b.toString()));
    errors.on('data', (b: Buffer) => (err += b.toString()));
    const shell = new Shell({ connection, library: new LocalLibrary(library), player: ['true'], input: Readable.from([]), output, errors, interactive: false });
    return { shell, connection, out: () => out, err: () => err };
  }

  test('get of an index never listed asks for the list before the file', { timeout: 20_000 }, async () => {
    const library = path.join(work, 'lib-shell-unlisted');
    const { shell, connection, err } = makeShell(library);
    const before = double.requests.length;
    try {
      assert.equal(await shell.execute('get 1'), true);
    } finally {
      connection.close();
    }
    assert.equal(err(), '');
    const sent = double.requests.slice(before);
    assert.ok(sent.includes('LIST'), `a LIST was sent: ${sent.join(', ')}`);
    assert.ok(sent.indexOf('LIST') < sent.indexOf('STREAM 1'), `LIST came before STREAM 1: ${sent.join(', ')}`);
    assert.equal(await readFile(path.join(library, 'b.wav'), 'utf8'), 'bee');
  });

  test('get of an index beyond the listing asks for the list again, then says which indexes exist', { timeout: 20_000 }, async () => {
    const { shell, connection, err } = makeShell(path.join(work, 'lib-shell-beyond'));
    try {
      await shell.execute('list');
      const lists = double.requests.filter((r) => r === 'LIST').length;
      await shell.execute('get 7');
      assert.equal(double.requests.filter((r) => r === 'LIST').length, lists + 1, 'one more LIST');
    } finally {
      connection.close();
    }
    assert.equal(err(), 'error: no file 7: the server has files 0 to 2 (type list)\n');
  });
});
