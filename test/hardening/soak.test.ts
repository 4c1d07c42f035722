/**
 * A bounded soak: a few hundred clients in waves against a server in a child process, doing
 * what clients do and what they should not (vanishing mid-stream, resetting, half-closing).
 * Afterwards the server must hold nothing: no connection, no descriptor beyond its baseline,
 * and a heap about the size it started with. No speed is asserted: waves simply stop after
 * a time budget.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { TestHarness, randomContent, sha256 } from '../support/server-harness.js';
import { LIST_REQUEST, decodeStreamReply, listReply, streamReply, streamRequest } from '../support/wire.js';
import { ChildServer, type ChildStats } from './support/child-server.js';
import { HAS_PROC_FD, pollUntil } from './support/process-facts.js';
import { HELLO_PACKET, V2Cursor, getRequest } from './support/v2-wire.js';

const harness = new TestHarness();
after(() => harness.cleanup());

const ONE_MIB = randomContent(1024 * 1024);
const SMALL = randomContent(4321);
const PATHS = ['one-mib.wav', 'small.mp3'];

const WAVES = 10;
const CLIENTS_PER_WAVE = 30;
/** No wave starts after this; the test is bounded in time as well as in count. */
const TIME_BUDGET_MS = 20_000;

type Behaviour = (port: number) => Promise<void>;

/** Each client does one of these, by its number. Each checks what it got where it can. */
const BEHAVIOURS: [string, Behaviour][] = [
  ['v1 LIST', async (port) => {
    const client = await harness.connect(port);
    await client.send(LIST_REQUEST);
    await client.end();
    assert.deepEqual((await client.waitForClose(15_000)).received, listReply(PATHS));
  }],
  ['v1 STREAM of 1 MiB, read whole', async (port) => {
    const client = await harness.connect(port);
    await client.send(streamRequest(0));
    await client.end();
    const { received } = await client.waitForClose(15_000);
    const reply = decodeStreamReply(received);
    assert.equal(sha256(reply.body), sha256(ONE_MIB));
    assert.equal(reply.end, received.length);
  }],
  ['v2 GET of 1 MiB, read whole', async (port) => {
    const client = await harness.connect(port);
    await client.send(Buffer.concat([HELLO_PACKET, getRequest('one-mib.wav')]));
    await client.end();
    const { received } = await client.waitForClose(15_000);
    const cursor = new V2Cursor(received);
    assert.match(cursor.line() ?? '', /^AS\/2 OK /);
    const reply = cursor.getReply();
    assert.ok(reply?.kind === 'get', 'a GET reply');
    assert.equal(sha256(reply.body), sha256(ONE_MIB));
    assert.equal(reply.trailer, `DONE ${sha256(ONE_MIB)}`);
  }],
  ['v1 vanishes mid-stream', async (port) => {
    const client = await harness.connect(port);
    await client.send(Buffer.concat(Array.from({ length: 8 }, () => streamRequest(0))));
    await client.waitForBytes(64 * 1024, 15_000);
    client.destroy();
  }],
  ['v2 resets mid-stream', async (port) => {
    const client = await harness.connect(port);
    await client.send(Buffer.concat([HELLO_PACKET, ...Array.from({ length: 8 }, () => getRequest('one-mib.wav'))]));
    await client.waitForBytes(64 * 1024, 15_000);
    client.socket.resetAndDestroy();
  }],
  ['half-closes at once and reads everything', async (port) => {
    const client = await harness.connect(port);
    await client.send(Buffer.concat([streamRequest(1), streamRequest(0), streamRequest(1)]));
    await client.end();
    const { received, endedByPeer } = await client.waitForClose(15_000);
    assert.deepEqual(received, Buffer.concat([streamReply(SMALL), streamReply(ONE_MIB), streamReply(SMALL)]));
    assert.equal(endedByPeer, true);
  }],
];

/** Runs client number `n`; a failure names the client and what it was doing. */
async function runClient(port: number, n: number): Promise<void> {
  const [name, behaviour] = BEHAVIOURS[n % BEHAVIOURS.length]!;
  try {
    await behaviour(port);
  } catch (err) {
    throw new Error(`client ${n} (${name}): ${(err as Error).message}`, { cause: err });
  }
}

describe('soak', () => {
  test(`${WAVES * CLIENTS_PER_WAVE} clients in waves of ${CLIENTS_PER_WAVE}: afterwards no connection, no extra descriptor, a modest heap`, { timeout: 90_000 }, async (t) => {
    if (!HAS_PROC_FD) {
      t.skip('needs Linux (/proc) to read the server\'s descriptors and memory');
      return;
    }
    const child = await ChildServer.start({ root: await harness.library({ 'one-mib.wav': ONE_MIB, 'small.mp3': SMALL }) });
    harness.defer(() => child.stop());

    // One of each first, so that what the server allocates once is in the baseline.
    await Promise.all(BEHAVIOURS.map((_, i) => runClient(child.port, i)));
    const settled = (s: ChildStats): boolean => s.connections === 0;
    const baseline = await pollUntil(() => child.stats(), settled, 'the warm-up connections to close');

    const started = Date.now();
    let clients = 0;
    const failures: string[] = [];
    for (let wave = 0; wave < WAVES && Date.now() - started < TIME_BUDGET_MS; wave++) {
      const results = await Promise.allSettled(Array.from({ length: CLIENTS_PER_WAVE }, (_, i) => runClient(child.port, clients + i)));
      clients += CLIENTS_PER_WAVE;
      for (const r of results) if (r.status === 'rejected') failures.push((r.reason as Error).message);
    }
    t.diagnostic(`${clients} clients in ${Date.now() - started} ms`);
    assert.deepEqual(failures, [], 'every client got what it asked for');

    const end = await pollUntil(
      () => child.stats(),
      (s) => s.connections === 0 && s.fds <= baseline.fds + 2,
      `no connections and at most ${baseline.fds + 2} descriptors (baseline ${baseline.fds})`,
      10_000,
    );
    const heapGrowthMiB = (end.heapUsed - baseline.heapUsed) / 2 ** 20;
    const rssGrowthMiB = (end.rss - baseline.rss) / 1024;
    t.diagnostic(`server heap ${(baseline.heapUsed / 2 ** 20).toFixed(1)} → ${(end.heapUsed / 2 ** 20).toFixed(1)} MiB, RSS ${(baseline.rss / 1024).toFixed(1)} → ${(end.rss / 1024).toFixed(1)} MiB, descriptors ${baseline.fds} → ${end.fds}`);
    assert.ok(heapGrowthMiB < 16, `the server's heap (after GC) grew by ${heapGrowthMiB.toFixed(1)} MiB`);
    assert.ok(rssGrowthMiB < 192, `the server's RSS grew by ${rssGrowthMiB.toFixed(1)} MiB`);
    assert.equal(child.exitStatus, undefined, 'the server is still running');
    assert.doesNotMatch(child.log, /unexpected error/);
  });
});
