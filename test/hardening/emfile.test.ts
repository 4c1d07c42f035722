/**
 * Out of file descriptors: a server in a child process (its limit lowered with prlimit where
 * installed) is made to hold every descriptor it may open. It must refuse new work without
 * crashing (new connections closed, v1 STREAM a closed connection, v2 GET `ERR UNREADABLE`),
 * log why, and serve normally again once descriptors are released.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { TestHarness, randomContent, sha256 } from '../support/server-harness.js';
import { LIST_REQUEST, listReply, streamReply, streamRequest } from '../support/wire.js';
import { ChildServer, HAS_PRLIMIT } from './support/child-server.js';
import { HAS_PROC_FD, pollUntil } from './support/process-facts.js';
import { HELLO_PACKET, getReply, getRequest, lineText, waitForV2Replies } from './support/v2-wire.js';

const harness = new TestHarness();
after(() => harness.cleanup());

const A = randomContent(5000);
const B = randomContent(777);
const PATHS = ['a.mp3', 'b.ogg'];

describe('EMFILE', () => {
  test('a server out of file descriptors refuses new work without crashing, and recovers once they are released', { timeout: 30_000 }, async (t) => {
    if (!HAS_PROC_FD) {
      t.skip('needs Linux (/proc) for the child server\'s bookkeeping');
      return;
    }
    // 256 is plenty for node itself and keeps the filling quick; without prlimit the child
    // fills up to the inherited limit instead, which only takes longer.
    const child = await ChildServer.start({ root: await harness.library({ 'a.mp3': A, 'b.ogg': B }), nofile: 256 });
    harness.defer(() => child.stop());
    if (!HAS_PRLIMIT) t.diagnostic('prlimit not installed: filling up to the inherited descriptor limit');

    // Connected before the descriptors run out: these must get answers, not hangs.
    const v1 = await harness.connect(child.port);
    const v2 = await harness.connect(child.port);
    await v2.send(HELLO_PACKET);
    await v2.waitForBytes(1);

    const { filled } = await child.command('fill');
    assert.ok(filled > 0, 'the child opened descriptors until EMFILE');

    // A new connection: accept fails with EMFILE; libuv frees its reserve descriptor,
    // accepts and closes the waiting connections and re-arms, so clients are not left
    // hanging in the backlog. It does not tell Node, so the server has nothing to log here.
    const refused = await harness.connect(child.port);
    await refused.send(LIST_REQUEST).catch(() => {});
    assert.equal((await refused.waitForClose()).received.length, 0, 'a connection arriving at EMFILE is closed unanswered');

    // Open connections: a file cannot be opened now. LIST needs no descriptor and works.
    await v2.send(Buffer.concat([getRequest('a.mp3'), Buffer.from('LIST2\r\n')]));
    const during = await waitForV2Replies(v2, ['line', 'line', 'line', 'line']);
    assert.match(lineText(during[0]), /^ERR UNREADABLE the server is out of file descriptors; try again in a moment$/);
    assert.equal(lineText(during[1]), 'OK 2');

    await v1.send(Buffer.concat([LIST_REQUEST, streamRequest(0)]));
    const { received } = await v1.waitForClose();
    assert.deepEqual(received, listReply(PATHS), 'LIST answered, then the STREAM closes the connection');

    assert.equal(child.exitStatus, undefined, 'the server is still running');
    assert.match(child.log, /closing: the server is out of file descriptors/);

    // Descriptors back: everything works again, on the old v2 connection and on new ones.
    await child.command('release');
    await v2.send(getRequest('a.mp3'));
    const [, , , , again] = await waitForV2Replies(v2, ['line', 'line', 'line', 'line', 'get']);
    assert.deepEqual(getReply(again).body, A);
    assert.equal(getReply(again).trailer, `DONE ${sha256(A)}`);
    const fresh = await pollUntil(
      async () => {
        const client = await harness.connect(child.port);
        await client.send(Buffer.concat([LIST_REQUEST, streamRequest(1)]));
        await client.end();
        return (await client.waitForClose()).received;
      },
      (bytes) => bytes.length > 0,
      'a new connection to be served again',
    );
    assert.deepEqual(fresh, Buffer.concat([listReply(PATHS), streamReply(B)]));
    assert.equal(child.exitStatus, undefined, 'the server is still running');
  });
});
