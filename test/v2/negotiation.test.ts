/**
 * Protocol negotiation: our client and server speak v2 together, a v1 client sees exactly
 * v1 from our server, old clients of ours (HELLO and a probe LIST in one packet) still get
 * v2, and our client falls back to v1 against a v1-only server after a short wait for an
 * answer to HELLO, which it sends alone.
 */
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { ClientConnection } from '../../src/client/index.js';
import { scanLibrary } from '../../src/library/index.js';
import { clientArgs, describeRun, runClient } from '../client/support/run-client.js';
import { SAMPLE_LIBRARY, playerCommand } from '../client/support/paths.js';
import { startStarterCodeV1Server } from '../doubles/starter-code-v1-server.js';
import { startV1OnlyServer } from '../doubles/v1-only-server.js';
import { TestHarness, sha256File } from '../support/server-harness.js';

const harness = new TestHarness();
after(() => harness.cleanup());

/** v1 reply bytes for a LIST, built by hand. */
function v1List(paths: string[]): Buffer {
  let text = '';
  for (let i = paths.length - 1; i >= 0; i--) text += `${i}:${paths[i]}\r\n`;
  return Buffer.from(text, 'utf8');
}

describe('a v1 client talking to our server', () => {
  test('sees exactly v1 bytes, and v2 request lines are ignored as unknown lines', { timeout: 10_000 }, async () => {
    const root = await harness.library({ 'a.mp3': Buffer.from('abc'), 'b/c.wav': Buffer.from('hello') });
    const server = await harness.startServer({ root });
    const client = await harness.connect(server.port);
    // v2 lines before HELLO must be ignored: a v1 peer never sees a v2 byte.
    await client.send(Buffer.from('LIST2\r\nGET "a.mp3"\r\nINFO "a.mp3"\r\nLIST\r\nSTREAM\r\n\0\0\0\x01', 'latin1'));
    await client.end();
    const { received } = await client.waitForClose();
    const expected = Buffer.concat([v1List(['a.mp3', 'b/c.wav']), Buffer.from([0, 0, 0, 5]), Buffer.from('hello')]);
    assert.deepEqual(received, expected);
  });
});

describe('our client talking to our server', () => {
  test('negotiates v2 in one round trip and the probe LIST gets no answer', { timeout: 10_000 }, async () => {
    const root = await harness.library({ 'x.flac': Buffer.from('xx') });
    const server = await harness.startServer({ root });
    const raw = await harness.connect(server.port);
    await raw.send(Buffer.from('HELLO AS/2\r\nLIST\r\nLIST2\r\n'));
    const reply = await raw.waitForBytes(1);
    void reply;
    // Wait until the LIST2 reply is complete, then check nothing else came.
    const deadline = Date.now() + 5000;
    while (!raw.received.toString('utf8').includes('"x.flac"') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const text = raw.received.toString('utf8');
    assert.match(text, /^AS\/2 OK [^\r\n]+\r\nOK 1\r\n\{"path":"x\.flac","size":2,"mtime":\d+\}\r\n$/);

    const connection = new ClientConnection({ host: '127.0.0.1', port: server.port });
    try {
      const list = await connection.list();
      assert.equal(connection.version, 2);
      assert.deepEqual(list.entries.map((e) => [e.index, e.path, e.size]), [[0, 'x.flac', 2]]);
    } finally {
      connection.close();
    }
  });
});

describe('our client talking to our server: HELLO alone, answered within one round trip', () => {
  test('the client sends HELLO alone, then LIST2 once answered; a reconnect says HELLO again and is answered at once', { timeout: 10_000 }, async () => {
    const root = await harness.library({ 'x.flac': Buffer.from('xx') });
    const server = await harness.startServer({ root });
    const raw = await harness.connect(server.port);
    await raw.send(Buffer.from('HELLO AS/2\r\n'));
    await raw.waitForBytes(1);
    assert.match(raw.received.toString('utf8'), /^AS\/2 OK [^\r\n]+\r\n$/, 'HELLO alone is answered, with nothing else');

    const connection = new ClientConnection({ host: '127.0.0.1', port: server.port });
    try {
      await connection.list();
      assert.equal(connection.version, 2);
      connection.close();
      await connection.list();
      assert.equal(connection.version, 2);
    } finally {
      connection.close();
    }
    const requests = server.log.lines.map((l) => l.message).filter((m) => /HELLO|LIST|ignored/.test(m));
    // Three: the raw one and one per connection of the client (one more only if a machine so
    // loaded that the answer missed the short wait made the client reconnect).
    assert.ok(requests.filter((m) => /HELLO \(protocol v2\)/.test(m)).length >= 3, `HELLOs answered: ${requests.join('\n')}`);
    assert.deepEqual(requests.filter((m) => / LIST \d+ files|ignored/.test(m)), [], 'no v1 LIST and nothing ignored');
    assert.equal(requests.filter((m) => /LIST2/.test(m)).length, 2, `two LIST2: ${requests.join('\n')}`);
  });
});

describe('our client against a v1-only server (test double that ignores HELLO and reads one request per read)', () => {
  test('HELLO goes alone; after a short wait without an answer the same connection goes on in v1', { timeout: 10_000 }, async () => {
    const entries = await scanLibrary(SAMPLE_LIBRARY);
    const double = await startV1OnlyServer(entries.map((e) => [e.path, e.absolutePath]));
    after(() => double.close());
    // A listing that waited on the empty-list timer would hit this huge timeout and the
    // test's own timeout first.
    const connection = new ClientConnection({ host: '127.0.0.1', port: double.port, emptyListTimeoutMs: 60_000 });
    try {
      const list = await connection.list();
      assert.equal(connection.version, 1);
      assert.deepEqual(list.entries.map((e) => e.path), entries.map((e) => e.path));
      assert.deepEqual(double.requests, ['HELLO AS/2', 'LIST'], 'HELLO, then one LIST');
      const file = await connection.fetch(list.entries[2]!);
      const chunks: Buffer[] = [];
      for await (const c of file.body) chunks.push(c as Buffer);
      assert.deepEqual(Buffer.concat(chunks), await fsp.readFile(entries[2]!.absolutePath));
      assert.equal(file.trailer, undefined, 'v1 has no hash trailer');
    } finally {
      connection.close();
    }
  });

  for (const kind of ['scripted v1 double', 'starter-code v1 server double'] as const) {
  test(`list, get, stream and stream+ work through the real CLI (${kind})`, { timeout: 20_000 }, async () => {
    const scanned = await scanLibrary(SAMPLE_LIBRARY);
    let entries: { path: string; absolutePath: string }[] = scanned;
    let double: { port: number; close(): Promise<void> };
    if (kind === 'scripted v1 double') {
      double = await startV1OnlyServer(scanned.map((e) => [e.path, e.absolutePath]));
    } else {
      const starter = await startStarterCodeV1Server({ root: SAMPLE_LIBRARY });
      // Its own order and numbering; it leaves out 02 Brown Noise.MP3 (extensions match as written).
      entries = starter.files.map((f) => ({ path: f, absolutePath: path.join(SAMPLE_LIBRARY, f) }));
      double = starter;
    }
    after(() => double.close());
    const dir = await harness.tempDir();
    const lib = path.join(dir, 'saved');
    const played = path.join(dir, 'played.bin');
    const played2 = path.join(dir, 'played2.bin');
    let run = await runClient(clientArgs(double.port, lib), 'list\nget 8\n');
    assert.equal(run.code, 0, describeRun(run));
    assert.match(run.stdout, new RegExp(`^0  ${entries[0]!.path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'), 'v1 listing shows paths');
    assert.equal(await sha256File(path.join(lib, entries[8]!.path)), await sha256File(entries[8]!.absolutePath));

    run = await runClient(clientArgs(double.port, lib, playerCommand('recording-player', played)), 'stream 3\n');
    assert.equal(run.code, 0, describeRun(run));
    assert.equal(await sha256File(played), await sha256File(entries[3]!.absolutePath));

    run = await runClient(clientArgs(double.port, lib, playerCommand('recording-player', played2)), 'stream+ 5\n');
    assert.equal(run.code, 0, describeRun(run));
    assert.equal(await sha256File(played2), await sha256File(entries[5]!.absolutePath));
    assert.equal(await sha256File(path.join(lib, entries[5]!.path)), await sha256File(entries[5]!.absolutePath));
  });
  }
});

describe('a repeated HELLO', () => {
  test('does not swallow the LIST that follows it (only the first HELLO has a probe)', { timeout: 10_000 }, async () => {
    const root = await harness.library({ 'x.flac': Buffer.from('xx') });
    const server = await harness.startServer({ root });
    const raw = await harness.connect(server.port);
    await raw.send(Buffer.from('HELLO AS/2\r\nLIST\r\nHELLO AS/2\r\nLIST\r\n'));
    await raw.end();
    const { received } = await raw.waitForClose();
    assert.match(received.toString('utf8'), /^AS\/2 OK [^\r\n]+\r\nAS\/2 OK [^\r\n]+\r\n0:x\.flac\r\n$/);
  });
});
