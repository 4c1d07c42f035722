/**
 * One client must not starve the others, on a real server in a child process (so that a
 * frozen event loop shows as a late reply and an ignored SIGTERM, as it would in service):
 *
 * - thousands of pipelined LIST2 requests in one packet, and the socket closed at once: the
 *   queued work is dropped and the listing is built with the event loop let in;
 * - floods of empty and short unknown lines, over v1 and v2, from connections that come
 *   back when closed: each meets its budget and is closed, and the log stays small.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { TestHarness, delay, type RawClient } from '../support/server-harness.js';
import { LIST_REQUEST, listReply, requestLine } from '../support/wire.js';
import { ChildServer } from './support/child-server.js';
import { HELLO_PACKET } from './support/v2-wire.js';

const harness = new TestHarness();
after(() => harness.cleanup());

/** A library of `n` small files with names of some length, and their sorted paths. */
async function bigLibrary(n: number): Promise<{ root: string; paths: string[] }> {
  const paths = Array.from({ length: n }, (_, i) => `Artist ${i % 50}/Album ${i % 7}/${String(i).padStart(5, '0')} a track with a longish name.mp3`);
  const root = await harness.library(Object.fromEntries(paths.map((p) => [p, 'x'])));
  return { root, paths: [...paths].sort() };
}

/** Sends LIST on a fresh connection and returns how long the whole reply took, in ms. */
async function timeList(port: number, expected: Buffer): Promise<number> {
  const client = await harness.connect(port);
  const started = Date.now();
  await client.send(LIST_REQUEST);
  await client.waitForBytes(expected.length, 20_000);
  const took = Date.now() - started;
  client.destroy();
  return took;
}

/** Stops the child with SIGTERM and returns how long it took to exit (SIGKILL follows after 2 s). */
async function timeStop(server: ChildServer): Promise<number> {
  const started = Date.now();
  await server.stop();
  return Date.now() - started;
}

test('pipelined LIST2 requests and a closed socket: another client\'s LIST is answered at once, and SIGTERM is honoured', { timeout: 60_000 }, async (t) => {
  const { root, paths } = await bigLibrary(3_000);
  const server = await ChildServer.start({ root });
  harness.defer(() => server.stop());
  const expected = listReply(paths);
  assert.ok((await timeList(server.port, expected)) < 2_000, 'the LIST is quick before the attack');

  // 3,000 LIST2 of 3,000 files each, in one write, and gone: built in full, that is about 9
  // million records.
  const attacker = await harness.connect(server.port);
  await attacker.send(Buffer.concat([HELLO_PACKET, Buffer.from('LIST2\r\n'.repeat(3_000))]));
  attacker.destroy();
  await delay(100);

  const took = await timeList(server.port, expected);
  assert.ok(took < 2_000, `another client's LIST took ${took} ms`);
  const stopping = await timeStop(server);
  t.diagnostic(`LIST after the attack: ${took} ms; exit after SIGTERM: ${stopping} ms`);
  assert.deepEqual(server.exitStatus, { code: 0, signal: null }, `the server exited on SIGTERM by itself (after ${stopping} ms)`);
  assert.ok(stopping < 2_000, `SIGTERM honoured in ${stopping} ms`);
});

test('floods of empty and unknown lines over v1 and v2: each connection meets its budget and is closed, another client\'s LIST stays quick, the log stays small', { timeout: 60_000 }, async (t) => {
  const { root, paths } = await bigLibrary(200);
  const server = await ChildServer.start({ root });
  harness.defer(() => server.stop());
  const expected = listReply(paths);
  const v1Junk = Buffer.from('\r\n\r\nx\r\nNOPE\r\n'.repeat(4_000));
  const v2Junk = Buffer.concat([HELLO_PACKET, Buffer.from('\r\nx\r\nNOPE\r\n'.repeat(4_000))]);
  const CONNECTIONS_EACH = 8;
  let closedByServer = 0;
  let flooding = true;

  // Each flooder sends junk as fast as it can until the server closes it, then comes back.
  const flooder = async (junk: Buffer): Promise<void> => {
    for (let i = 0; i < CONNECTIONS_EACH; i++) {
      const client: RawClient = await harness.connect(server.port);
      const giveUp = Date.now() + 15_000;
      // Closed by the server: its FIN (v1 and v2 alike end the connection), or a reset.
      const closed = (): boolean => client.isClosed || client.socket.readableEnded;
      while (!closed() && Date.now() < giveUp) {
        // Written without waiting for each write: keep the socket's buffer full, no more.
        if (client.socket.writable && client.socket.writableLength < 1024 * 1024) client.socket.write(junk);
        await delay(1);
      }
      if (closed()) closedByServer++;
      client.destroy();
    }
  };
  const latencies: number[] = [];
  const lister = async (): Promise<void> => {
    while (flooding) {
      latencies.push(await timeList(server.port, expected));
      await delay(50);
    }
  };
  const started = Date.now();
  const listing = lister();
  await Promise.all([flooder(v1Junk), flooder(v1Junk), flooder(v2Junk)]);
  flooding = false;
  await listing;
  const floodMs = Date.now() - started;

  assert.equal(closedByServer, 3 * CONNECTIONS_EACH, 'every flood connection was closed by the server');
  const worst = Math.max(...latencies);
  assert.ok(worst < 2_000, `another client's LIST took up to ${worst} ms during the flood (${latencies.length} LISTs)`);
  await delay(200);
  const logBytes = Buffer.byteLength(server.log);
  t.diagnostic(`${closedByServer} flood connections closed by the server in ${floodMs} ms, worst LIST ${worst} ms of ${latencies.length}, log ${logBytes} bytes`);
  // Without limits every ignored line was a log line: tens of MB in seconds.
  assert.ok(logBytes < 512 * 1024, `the log grew by ${logBytes} bytes in ${floodMs} ms`);
  assert.match(server.log, /requests without effect; closing/);
});

test('a v1 client sending a line the server does not know, between real requests, is served as before', { timeout: 20_000 }, async () => {
  const { root, paths } = await bigLibrary(10);
  const server = await ChildServer.start({ root });
  harness.defer(() => server.stop());
  const client = await harness.connect(server.port);
  await client.send(Buffer.concat([requestLine('HELP'), LIST_REQUEST, Buffer.from('\r\n'), LIST_REQUEST]));
  const expected = Buffer.concat([listReply(paths), listReply(paths)]);
  assert.deepEqual(await client.waitForBytes(expected.length), expected);
  assert.equal(client.isClosed, false);
});
