/**
 * Symbolic links end to end: a link inside the library that leads outside is neither listed
 * nor served, over v1 and v2, and a listed file or folder swapped for such a link after the
 * scan serves nothing from outside (v2 `ERR NOT_FOUND`, v1 a closed connection), with a log
 * line saying why.
 */
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { TestHarness, randomContent, sha256, type RunningServer } from '../support/server-harness.js';
import { LIST_REQUEST, listReply, requestLine, streamReply, streamRequest } from '../support/wire.js';
import { HELLO_PACKET, getReply, getRequest, lineText, waitForV2Replies } from './support/v2-wire.js';

const harness = new TestHarness();
after(() => harness.cleanup());

const INSIDE = randomContent(2000);
const NESTED = randomContent(1500);
/** What lies outside the library; no byte of it may ever reach a client. */
const SECRET = Buffer.from('SECRET: this file is outside the library and must never be served\n'.repeat(20));

/** An outside folder with a secret file, and a library holding `a.mp3` and `dir/b.mp3`. */
async function libraryNextToSecrets(): Promise<{ root: string; outside: string }> {
  const outside = await harness.library({ 'secret.mp3': SECRET, 'secrets/b.mp3': SECRET });
  const root = await harness.library({ 'a.mp3': INSIDE, 'dir/b.mp3': NESTED });
  return { root, outside };
}

/** Every message the server logged, one per line. */
function logText(server: RunningServer): string {
  return server.log.lines.map((l) => l.message).join('\n');
}

describe('symbolic links leading out of the library', () => {
  test('links to an outside file or folder are neither listed nor served, over v1 and v2', { timeout: 10_000 }, async () => {
    const { root, outside } = await libraryNextToSecrets();
    await fsp.symlink(path.join(outside, 'secret.mp3'), path.join(root, 'link.mp3'));
    await fsp.symlink('../' + path.basename(outside) + '/secret.mp3', path.join(root, 'relative-link.mp3'));
    await fsp.symlink(path.join(outside, 'secrets'), path.join(root, 'linked-dir'));
    const server = await harness.startServer({ root });
    assert.deepEqual(server.skipped.map((s) => s.path).sort(), ['link.mp3', 'linked-dir', 'relative-link.mp3']);
    for (const s of server.skipped) assert.match(s.reason, /outside the library/);

    // v1: the listing has only the real files, and no index reaches past them.
    const v1 = await harness.connect(server.port);
    await v1.send(Buffer.concat([LIST_REQUEST, streamRequest(0), streamRequest(1), streamRequest(2)]));
    const { received } = await v1.waitForClose();
    assert.deepEqual(received, Buffer.concat([listReply(['a.mp3', 'dir/b.mp3']), streamReply(INSIDE), streamReply(NESTED)]));

    // v2: LIST2 likewise, and asking by path for the links finds nothing.
    const v2 = await harness.connect(server.port);
    const asks = ['link.mp3', 'relative-link.mp3', 'linked-dir/b.mp3'];
    await v2.send(Buffer.concat([HELLO_PACKET, requestLine('LIST2'), ...asks.flatMap((p) => [getRequest(p), requestLine(`INFO ${JSON.stringify(p)}`)])]));
    const replies = await waitForV2Replies(v2, ['line', 'line', 'line', ...asks.flatMap(() => ['line', 'line'] as const)]);
    assert.equal(lineText(replies[0]), 'OK 2');
    assert.deepEqual(replies.slice(1, 3).map((r) => (JSON.parse(lineText(r)) as { path: string }).path), ['a.mp3', 'dir/b.mp3']);
    for (const reply of replies.slice(3)) assert.match(lineText(reply), /^ERR NOT_FOUND /);
    assert.ok(!v2.received.includes(Buffer.from('SECRET')), 'no byte of the secret');
  });

  describe('a listed file swapped for a link to outside after the scan', () => {
    test('v2: GET and INFO are ERR NOT_FOUND, nothing from outside is sent, the connection stays usable, and the log says why', { timeout: 10_000 }, async () => {
      const { root, outside } = await libraryNextToSecrets();
      const server = await harness.startServer({ root });
      await fsp.rm(path.join(root, 'a.mp3'));
      await fsp.symlink(path.join(outside, 'secret.mp3'), path.join(root, 'a.mp3'));

      const client = await harness.connect(server.port);
      await client.send(Buffer.concat([HELLO_PACKET, getRequest('a.mp3'), requestLine('INFO "a.mp3"'), getRequest('a.mp3', 5, 10), getRequest('dir/b.mp3')]));
      const replies = await waitForV2Replies(client, ['line', 'line', 'line', 'get']);
      for (const reply of replies.slice(0, 3)) assert.match(lineText(reply), /^ERR NOT_FOUND "a\.mp3" now points outside the library/);
      const good = getReply(replies[3]);
      assert.deepEqual(good.body, NESTED);
      assert.equal(good.trailer, `DONE ${sha256(NESTED)}`);
      assert.ok(!client.received.includes(Buffer.from('SECRET')), 'no byte of the secret');
      assert.match(logText(server), /"a\.mp3" now points outside the library/);
    });

    test('v1: STREAM closes the connection without a byte, and the log says why', { timeout: 10_000 }, async () => {
      const { root, outside } = await libraryNextToSecrets();
      const server = await harness.startServer({ root });
      await fsp.rm(path.join(root, 'a.mp3'));
      await fsp.symlink(path.join(outside, 'secret.mp3'), path.join(root, 'a.mp3'));

      const client = await harness.connect(server.port);
      await client.send(Buffer.concat([streamRequest(1), streamRequest(0), streamRequest(1)]));
      const { received } = await client.waitForClose();
      assert.deepEqual(received, streamReply(NESTED), 'index 1 answered, then closed at the swapped index 0');
      assert.ok(server.log.warnings.some((w) => /closing: "a\.mp3" now points outside the library/.test(w)), server.log.warnings.join('\n'));
    });
  });

  describe('a listed folder swapped for a link to outside after the scan', () => {
    test('v2 ERR NOT_FOUND and v1 a closed connection; nothing from outside is sent', { timeout: 10_000 }, async () => {
      const { root, outside } = await libraryNextToSecrets();
      const server = await harness.startServer({ root });
      await fsp.rm(path.join(root, 'dir'), { recursive: true });
      await fsp.symlink(path.join(outside, 'secrets'), path.join(root, 'dir')); // holds a b.mp3 too

      const v2 = await harness.connect(server.port);
      await v2.send(Buffer.concat([HELLO_PACKET, getRequest('dir/b.mp3'), getRequest('a.mp3')]));
      const replies = await waitForV2Replies(v2, ['line', 'get']);
      assert.match(lineText(replies[0]), /^ERR NOT_FOUND "dir\/b\.mp3" now points outside the library/);
      assert.deepEqual(getReply(replies[1]).body, INSIDE);

      const v1 = await harness.connect(server.port);
      await v1.send(streamRequest(1));
      const { received } = await v1.waitForClose();
      assert.equal(received.length, 0);
      for (const client of [v1, v2]) assert.ok(!client.received.includes(Buffer.from('SECRET')), 'no byte of the secret');
      assert.ok(server.log.warnings.some((w) => /"dir\/b\.mp3" now points outside the library/.test(w)), logText(server));
    });
  });

  test('after a rescan the swapped-in link is no longer listed, and a link swapped back to a real file is served again', { timeout: 10_000 }, async () => {
    const { root, outside } = await libraryNextToSecrets();
    const server = await harness.startServer({ root });
    const a = path.join(root, 'a.mp3');
    await fsp.rm(a);
    await fsp.symlink(path.join(outside, 'secret.mp3'), a);
    await server.library.rescan();
    assert.deepEqual(server.library.current.entries.map((e) => e.path), ['dir/b.mp3']);
    assert.ok(server.skipped.some((s) => s.path === 'a.mp3' && /outside/.test(s.reason)));

    await fsp.rm(a);
    await fsp.writeFile(a, INSIDE);
    await server.library.rescan();
    const client = await harness.connect(server.port);
    await client.send(Buffer.concat([HELLO_PACKET, getRequest('a.mp3')]));
    const [reply] = await waitForV2Replies(client, ['get']);
    assert.deepEqual(getReply(reply).body, INSIDE);
  });
});
