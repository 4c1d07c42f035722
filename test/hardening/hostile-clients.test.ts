/**
 * Hostile clients over real loopback sockets: request-line floods, slowloris, idle and
 * connection caps, pipelined floods from a client that never reads, v2 paths that try to
 * escape the library, malformed v2 lines, and clients that vanish mid-stream. Each attack
 * must cost the server a bounded amount, end only the attacker's connection, and release
 * what it held (file descriptors are counted in /proc/self/fd).
 */
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TestHarness, delay, randomContent, sha256, type RawClient, type RunningServer } from '../support/server-harness.js';
import { LIST_REQUEST, STREAM_LINE, decodeStreamReply, listReply, readU32be, requestLine, streamReply, streamRequest } from '../support/wire.js';
import { MAX_LINES_WITHOUT_EFFECT } from '../../src/server/index.js';
import { ChildServer } from './support/child-server.js';
import { HAS_PROC_FD, openFdCount, pollUntil } from './support/process-facts.js';
import { HELLO_PACKET, V2Cursor, getReply, getRequest, lineText, waitForV2Replies } from './support/v2-wire.js';

const harness = new TestHarness();
after(() => harness.cleanup());

const SMALL = randomContent(3000);
const OTHER = randomContent(700);
/** Sparse (reads as zeros, costs no disk) and far bigger than loopback socket buffers. */
const BIG_SIZE = 64 * 1024 * 1024;
/** Sorted: big.wav is index 0, small.mp3 index 1, sub/other.flac index 2. */
const PATHS = ['big.wav', 'small.mp3', 'sub/other.flac'];

/** A library with one small, one nested and one big sparse file. */
async function hostileLibrary(): Promise<string> {
  const root = await harness.library({ 'small.mp3': SMALL, 'sub/other.flac': OTHER, 'big.wav': '' });
  await fsp.truncate(path.join(root, 'big.wav'), BIG_SIZE);
  return root;
}

/** Sends LIST and waits for the whole reply: proves the connection is accepted and served. */
async function assertServes(client: RawClient, what: string): Promise<void> {
  const start = client.receivedLength;
  await client.send(LIST_REQUEST);
  const expected = listReply(PATHS);
  const received = await client.waitForBytes(start + expected.length).catch((err: Error) => assert.fail(`${what}: ${err.message}`));
  assert.deepEqual(received.subarray(start), expected, what);
}

/** Sends `bytes` ignoring a write error (the server may close mid-send, which is the point). */
function sendRegardless(client: RawClient, bytes: Buffer): Promise<boolean> {
  return client.send(bytes).then(
    () => true,
    () => false,
  );
}

describe('hostile clients over loopback sockets', () => {
  let shared: RunningServer;
  before(async () => {
    shared = await harness.startServer({ root: await hostileLibrary() });
  });

  describe('request-line floods', () => {
    test('v1: a flood without newline, sent in 1 KiB pieces, closes the connection with no reply', { timeout: 10_000 }, async () => {
      const client = await harness.connect(shared.port);
      const piece = Buffer.alloc(1024, 0x41);
      for (let i = 0; i < 64 && !client.isClosed; i++) {
        if (!(await sendRegardless(client, piece))) break;
      }
      const { received } = await client.waitForClose();
      assert.equal(received.length, 0, 'v1 has no error reply: nothing at all is sent');
      assert.ok(shared.log.warnings.some((w) => /request line longer than 8192 bytes/.test(w)), shared.log.warnings.join('\n'));
    });

    test('v2: after HELLO a flood gets ERR REQUEST_TOO_LONG, then the server closes', { timeout: 10_000 }, async () => {
      const client = await harness.connect(shared.port);
      await client.send(HELLO_PACKET);
      await client.waitForBytes(1); // the connection is v2 before the flood arrives
      void sendRegardless(client, Buffer.alloc(64 * 1024, 0x42));
      const { received, endedByPeer } = await client.waitForClose();
      const cursor = new V2Cursor(received);
      assert.match(cursor.line() ?? '', /^AS\/2 OK /);
      assert.equal(cursor.line(), 'ERR REQUEST_TOO_LONG request line longer than 8192 bytes');
      assert.equal(cursor.pos, received.length, 'nothing after the ERR line');
      assert.equal(endedByPeer, true, 'a clean end, so the ERR line is not lost to a reset');
    });

    // Regression: the ERR line was written at once with socket.end(), in the middle of the GET
    // body still being sent, and the rest of the body then hit "write after end": the client
    // counted the ERR text as file bytes. Replies go strictly in order: the GET reply whole,
    // then ERR REQUEST_TOO_LONG, then the close.
    test('v2: a flood that arrives while a GET reply is being sent gets its ERR line after the reply, not inside the body', { timeout: 20_000 }, async () => {
      const client = await harness.connect(shared.port, { paused: true });
      await client.send(Buffer.concat([HELLO_PACKET, getRequest('small.mp3'), getRequest('big.wav')]));
      await delay(200); // the server is now blocked on the big body: the client reads nothing
      void sendRegardless(client, Buffer.alloc(20 * 1024, 0x43));
      await delay(200);
      client.resume();
      const { received } = await client.waitForClose(15_000);
      const cursor = new V2Cursor(received);
      assert.match(cursor.line() ?? '', /^AS\/2 OK /);
      const small = getReply(cursor.getReply());
      assert.deepEqual(small.body, SMALL);
      assert.equal(small.trailer, `DONE ${sha256(SMALL)}`);
      const big = getReply(cursor.getReply());
      assert.equal(big.length, BIG_SIZE);
      assert.ok(big.body.every((b) => b === 0), 'the body is the file (zeros), nothing injected');
      assert.match(big.trailer, /^DONE [0-9a-f]{64}$/);
      assert.equal(cursor.line(), 'ERR REQUEST_TOO_LONG request line longer than 8192 bytes');
      assert.equal(cursor.pos, received.length);
    });
  });

  describe('timeouts', () => {
    test('slowloris: half a request and then one byte every 200 ms is cut at the request timeout; other clients are unaffected', { timeout: 15_000 }, async () => {
      const server = await harness.startServer({ root: await hostileLibrary(), server: { requestTimeoutMs: 500 } });
      const loris = await harness.connect(server.port);
      const other = await harness.connect(server.port);
      const request = streamRequest(1);
      await loris.send(request.subarray(0, 4));
      let sent = 4;
      const trickle = (async () => {
        while (sent < request.length && !loris.isClosed) {
          await delay(200);
          if (!(await sendRegardless(loris, request.subarray(sent, sent + 1)))) break;
          sent++;
        }
      })();
      // Meanwhile a well-behaved client is served, in delayed pieces of its own.
      await assertServes(other, 'LIST from the other client');
      await other.send(STREAM_LINE);
      await delay(100);
      await other.send(Buffer.from([0, 0, 0, 1]));
      await other.waitForBytes(listReply(PATHS).length + 4 + SMALL.length);

      const { received } = await loris.waitForClose();
      await trickle;
      assert.equal(received.length, 0);
      assert.ok(sent < request.length, `closed before the request was complete (${sent} of ${request.length} bytes sent)`);
      assert.ok(server.log.warnings.some((w) => /request not completed within 0\.5 s/.test(w)), server.log.warnings.join('\n'));
      assert.equal(other.isClosed, false);
      await assertServes(other, 'the other client after the slowloris was cut');
    });

    // Regression: `STREAM\r\n` leaves no bytes buffered (its index is awaited in a state of
    // its own), so the request timer did not start and the connection was held until the
    // idle timeout (300 s by default).
    test('STREAM with its line but no index is cut at the request timeout, not held until the idle timeout', { timeout: 15_000 }, async () => {
      const server = await harness.startServer({ root: await hostileLibrary(), server: { requestTimeoutMs: 500, idleTimeoutMs: 60_000 } });
      for (const prefix of [STREAM_LINE, Buffer.concat([LIST_REQUEST, STREAM_LINE])]) {
        const client = await harness.connect(server.port);
        const started = Date.now();
        await client.send(prefix);
        const { received } = await client.waitForClose(5_000);
        const took = Date.now() - started;
        assert.ok(took < 3_000, `closed after ${took} ms`);
        assert.deepEqual(received, prefix.length > STREAM_LINE.length ? listReply(PATHS) : Buffer.alloc(0), 'what was asked in full is answered');
      }
      assert.ok(server.log.warnings.filter((w) => /request not completed within 0\.5 s/.test(w)).length === 2, server.log.warnings.join('\n'));
    });

    // Regression: the request timer started when a chunk ended inside a request and was
    // cleared only when a chunk ended exactly on a request boundary. A client pipelining
    // steadily, whose packets each finish one request and begin the next, was cut after the
    // request timeout although every request arrived whole within 100 ms.
    test('a client pipelining steadily, each packet finishing one request and beginning the next, is not cut by the request timeout', { timeout: 15_000 }, async () => {
      const server = await harness.startServer({ root: await hostileLibrary(), server: { requestTimeoutMs: 500 } });
      const client = await harness.connect(server.port);
      const rounds = 15; // 1.5 s: three request timeouts
      await client.send(Buffer.from('LI'));
      for (let i = 0; i < rounds; i++) {
        await delay(100);
        assert.equal(client.isClosed, false, `closed after ${i} requests: ${server.log.warnings.join('; ')}`);
        await client.send(Buffer.from('ST\r\nLI'));
      }
      await client.send(Buffer.from('ST\r\n'));
      const expected = Buffer.concat(Array.from({ length: rounds + 1 }, () => listReply(PATHS)));
      assert.deepEqual(await client.waitForBytes(expected.length), expected);
      assert.equal(client.isClosed, false);
    });

    // Regression: the request timer also ran while the server itself had stopped reading
    // (too many requests queued behind a reply the client was slow to read). The rest of
    // the request sat unread in the kernel, and the connection was cut for our own pause.
    test('a request left unread while the server paused reading is not cut by the request timeout', { timeout: 20_000 }, async () => {
      const content = randomContent(2 * 1024 * 1024);
      const root = await harness.library({ 'a.wav': content });
      const server = await harness.startServer({ root, server: { requestTimeoutMs: 500, maxQueuedRequests: 4 } });
      const client = await harness.connect(server.port, { paused: true });
      const requests = Buffer.concat(Array.from({ length: 9 }, () => streamRequest(0)));
      // Eight requests and the first 5 bytes of the ninth: the server queues eight (over its
      // limit of four), stops reading, and holds 5 bytes of an unfinished request.
      await client.send(requests.subarray(0, 8 * 12 + 5));
      await delay(100);
      await client.send(requests.subarray(8 * 12 + 5));
      await delay(1_500); // three request timeouts while the client reads nothing
      client.resume();
      const received = await client.waitForBytes(9 * (4 + content.length), 10_000);
      let offset = 0;
      for (let i = 0; i < 9; i++) {
        const reply = decodeStreamReply(received, offset);
        assert.equal(sha256(reply.body), sha256(content), `reply ${i}`);
        offset = reply.end;
      }
      assert.equal(client.isClosed, false);
    });

    test('idle timeout: a silent connection is closed, a busy one is not', { timeout: 15_000 }, async () => {
      const server = await harness.startServer({ root: await hostileLibrary(), server: { idleTimeoutMs: 500 } });
      const silent = await harness.connect(server.port);
      const servedThenSilent = await harness.connect(server.port);
      const busy = await harness.connect(server.port);
      await assertServes(servedThenSilent, 'the first LIST');
      // The busy client sends a request every 50 ms for three idle timeouts.
      const started = Date.now();
      for (let i = 0; Date.now() - started < 1_500; i++) {
        await assertServes(busy, `busy LIST ${i}`);
        await delay(50);
      }
      assert.equal((await silent.waitForClose()).received.length, 0);
      await servedThenSilent.waitForClose();
      assert.equal(busy.isClosed, false, 'a connection with traffic stays open');
      assert.ok(server.log.warnings.some((w) => /no traffic for 0\.5 s/.test(w)), server.log.warnings.join('\n'));
    });
  });

  describe('connection caps', () => {
    test('past maxConnections a new connection is closed at once; existing ones keep working; a slot frees when one closes', { timeout: 15_000 }, async () => {
      const server = await harness.startServer({ root: await hostileLibrary(), server: { maxConnections: 3 } });
      const first = [await harness.connect(server.port), await harness.connect(server.port), await harness.connect(server.port)];
      for (const [i, client] of first.entries()) await assertServes(client, `connection ${i}`);
      assert.equal(server.server.connectionCount, 3);

      const extra = await harness.connect(server.port);
      await sendRegardless(extra, LIST_REQUEST);
      assert.equal((await extra.waitForClose()).received.length, 0, 'refused: closed without a reply');
      for (const [i, client] of first.entries()) await assertServes(client, `connection ${i} after a refusal`);
      assert.ok(server.log.warnings.some((w) => /refused 1 connection\(s\): limit of 3 in all/.test(w)), server.log.warnings.join('\n'));

      first[0]!.destroy();
      await pollUntil(() => server.server.connectionCount, (n) => n === 2, 'the server to drop the closed connection');
      const replacement = await harness.connect(server.port);
      await assertServes(replacement, 'a new connection once a slot is free');
    });

    test('connections that have not sent a byte yet count toward maxConnections (they wait for their first byte before being routed)', { timeout: 15_000 }, async () => {
      const server = await harness.startServer({ root: await hostileLibrary(), server: { maxConnections: 3 } });
      const silent = [await harness.connect(server.port), await harness.connect(server.port), await harness.connect(server.port)];
      await pollUntil(() => server.server.connectionCount, (n) => n === 3, 'the server to count the three silent connections');

      const extra = await harness.connect(server.port);
      await sendRegardless(extra, LIST_REQUEST);
      assert.equal((await extra.waitForClose()).received.length, 0, 'refused: closed without a reply');
      for (const [i, client] of silent.entries()) await assertServes(client, `silent connection ${i} once it speaks`);
    });

    test('past maxConnectionsPerAddress one address is refused while another is served', { timeout: 15_000 }, async (t) => {
      const server = await harness.startServer({ root: await hostileLibrary(), server: { maxConnections: 10, maxConnectionsPerAddress: 2 } });
      const a = [await harness.connect(server.port), await harness.connect(server.port)];
      for (const [i, client] of a.entries()) await assertServes(client, `127.0.0.1 connection ${i}`);
      const third = await harness.connect(server.port);
      await sendRegardless(third, LIST_REQUEST);
      assert.equal((await third.waitForClose()).received.length, 0, 'the third from 127.0.0.1 is refused');

      let fromOther: RawClient;
      try {
        fromOther = await harness.connect(server.port, { localAddress: '127.0.0.2' });
      } catch (err) {
        t.skip(`cannot connect from 127.0.0.2 on this system (${(err as NodeJS.ErrnoException).code})`);
        return;
      }
      await assertServes(fromOther, 'a connection from 127.0.0.2');
      for (const [i, client] of a.entries()) await assertServes(client, `127.0.0.1 connection ${i} still`);
    });
  });

  // In a child process: with client and server in one process, a server busy queueing
  // requests also stalls the client's writes, and its memory cannot be told apart.
  test('thousands of pipelined requests from a client that never reads: the server stops reading, its memory stays bounded, others are served', { timeout: 30_000 }, async (t) => {
    if (!HAS_PROC_FD) {
      t.skip('needs /proc (Linux) to read the server\'s memory');
      return;
    }
    const child = await ChildServer.start({ root: await hostileLibrary() });
    harness.defer(() => child.stop());
    const warmup = await harness.connect(child.port);
    await assertServes(warmup, 'a first client');
    warmup.destroy();
    const baseline = await child.stats();

    const flooder = await harness.connect(child.port, { paused: true });
    // 4 million STREAM requests for a 3000-byte file: 48 MiB of requests, 12 GiB of replies.
    const flood = Buffer.concat(Array.from({ length: 4096 }, () => streamRequest(1)));
    const total = 1024 * flood.length;
    for (let i = 0; i < 1024; i++) flooder.socket.write(flood);
    // The server stops reading: what we could not hand to the kernel stops going down.
    const { now: unsent } = await pollUntil(
      async () => {
        const before = flooder.socket.writableLength;
        await delay(500);
        return { before, now: flooder.socket.writableLength };
      },
      ({ before, now }) => before === now,
      'the server to stop reading from the flooder',
      15_000,
    );
    // Loopback kernel buffers hold a few MiB of it, no more.
    assert.ok(unsent > total / 2, `the server took in ${total - unsent} of ${total} request bytes from a client that reads nothing`);
    const during = await child.stats();
    const grownMiB = (during.rss - baseline.rss) / 1024;
    assert.ok(grownMiB < 64, `server RSS grew by ${grownMiB.toFixed(1)} MiB during the flood`);

    const other = await harness.connect(child.port);
    await assertServes(other, 'another client during the flood');
    flooder.destroy();
    await pollUntil(() => child.stats(), (s) => s.connections === 1, 'the flooder\'s connection to close');
    assert.equal(child.exitStatus, undefined, 'the server is still running');
  });

  describe('v2 paths that try to escape the library', () => {
    test('"..", absolute paths, NUL, percent-encoding, backslashes and look-alikes are ERR NOT_FOUND; the connection stays usable', { timeout: 10_000 }, async () => {
      const escapes = [
        '../etc/passwd',
        '../../../../../../etc/passwd',
        '/etc/passwd',
        path.join(shared.root, 'small.mp3'), // the absolute path of a listed file
        'a\u0000b',
        'small.mp3\u0000',
        'small.mp3\u0000.txt',
        '%2e%2e%2fetc%2fpasswd',
        '..%2Fsmall.mp3',
        'sub%2Fother.flac',
        'sub\\other.flac',
        '..\\..\\etc\\passwd',
        './small.mp3',
        'sub/../small.mp3',
        'sub//other.flac',
        '/small.mp3',
        'small.mp3/',
        'SMALL.MP3',
        '',
        '.',
        '..',
        'file:///etc/passwd',
        '~/.ssh/id_rsa',
      ];
      const client = await harness.connect(shared.port);
      const lines = escapes.flatMap((p) => [getRequest(p), requestLine(`INFO ${JSON.stringify(p)}`)]);
      await client.send(Buffer.concat([HELLO_PACKET, ...lines, getRequest('sub/other.flac')]));
      const replies = await waitForV2Replies(client, [...lines.map(() => 'line' as const), 'get']);
      for (const [i, reply] of replies.slice(0, -1).entries()) {
        const asked = `${i % 2 === 0 ? 'GET' : 'INFO'} ${JSON.stringify(escapes[i >> 1])}`;
        assert.match(lineText(reply), /^ERR NOT_FOUND /, asked);
      }
      const good = getReply(replies.at(-1));
      assert.deepEqual(good.body, OTHER);
      assert.equal(good.trailer, `DONE ${sha256(OTHER)}`);
    });
  });

  describe('malformed v2 lines', () => {
    test('GET or INFO with missing, unterminated, extra, huge or negative arguments is ERR BAD_REQUEST; the connection stays usable', { timeout: 10_000 }, async () => {
      const malformed = [
        'GET',
        'GET ',
        'INFO',
        'GET small.mp3', // not a JSON string
        "GET 'small.mp3'",
        'GET "small.mp3',
        'GET "small.mp3\\"',
        'GET "small.mp3\\',
        'GET "small.mp3" 0 10 20',
        'GET "small.mp3" 1 2 3 4 5',
        'INFO "small.mp3" 0',
        'GET "small.mp3"x',
        'GET "small.mp3"  5', // two spaces
        'GET "small.mp3" 5 ',
        'GET "small.mp3" 99999999999999999999999999',
        'GET "small.mp3" 0 99999999999999999999999999',
        'GET "small.mp3" 9007199254740993', // 2^53 + 1: not exact in a double
        'GET "small.mp3" -1',
        'GET "small.mp3" 0 -5',
        'GET "small.mp3" +5',
        'GET "small.mp3" 05',
        'GET "small.mp3" 1e3',
        'GET "small.mp3" 0x10',
        'GET "small.mp3" 1.5',
        'GET "small.mp3" NaN',
        'GET "small.mp3" Infinity',
        'GET "\\x41.mp3"', // not a JSON escape
        'GET "\\u00"',
        'GET "tab\there"', // a raw control character is not allowed in a JSON string
      ];
      const client = await harness.connect(shared.port);
      await client.send(Buffer.concat([HELLO_PACKET, ...malformed.map(requestLine), requestLine('LIST2')]));
      const replies = await waitForV2Replies(client, [...malformed.map(() => 'line' as const), 'line', 'line', 'line', 'line']);
      for (const [i, line] of malformed.entries()) assert.match(lineText(replies[i]), /^ERR BAD_REQUEST /, JSON.stringify(line));
      const listing = replies.slice(malformed.length).map(lineText);
      assert.equal(listing[0], 'OK 3');
      assert.deepEqual(
        listing.slice(1).map((l) => (JSON.parse(l) as { path: string }).path),
        PATHS,
      );
    });
  });

  describe('lines without effect', () => {
    test(`v1: ${MAX_LINES_WITHOUT_EFFECT} empty or unknown lines are ignored (the connection still serves); one more closes it, after what was asked before`, { timeout: 15_000 }, async () => {
      const junk = (n: number): Buffer => Buffer.concat(Array.from({ length: n }, (_, i) => (i % 2 ? Buffer.from('\r\n') : requestLine(`X${i}`))));
      const patient = await harness.connect(shared.port);
      await patient.send(junk(MAX_LINES_WITHOUT_EFFECT));
      await assertServes(patient, 'after a full budget of ignored lines');
      const flood = await harness.connect(shared.port);
      await flood.send(Buffer.concat([LIST_REQUEST, junk(MAX_LINES_WITHOUT_EFFECT + 1), LIST_REQUEST]));
      const { received } = await flood.waitForClose();
      assert.deepEqual(received, listReply(PATHS), 'the LIST before the flood was answered, nothing after it');
      assert.ok(shared.log.warnings.some((w) => w.includes(`more than ${MAX_LINES_WITHOUT_EFFECT} requests without effect; closing`)), shared.log.warnings.join('\n'));
    });

    test('v2: past the budget of unknown or empty lines the server says ERR BAD_REQUEST, then closes', { timeout: 15_000 }, async () => {
      const client = await harness.connect(shared.port);
      const lines = Array.from({ length: MAX_LINES_WITHOUT_EFFECT + 10 }, (_, i) => (i % 2 ? Buffer.from('\r\n') : requestLine('NOPE')));
      await client.send(Buffer.concat([HELLO_PACKET, ...lines]));
      const { received } = await client.waitForClose();
      const cursor = new V2Cursor(received);
      assert.match(cursor.line() ?? '', /^AS\/2 OK /);
      const replies: string[] = [];
      for (let line = cursor.line(); line !== undefined; line = cursor.line()) replies.push(line);
      assert.equal(replies.length, MAX_LINES_WITHOUT_EFFECT + 1);
      assert.ok(replies.slice(0, -1).every((r) => r.startsWith('ERR UNKNOWN_REQUEST ')), replies.slice(0, 3).join('\n'));
      assert.equal(replies.at(-1), `ERR BAD_REQUEST more than ${MAX_LINES_WITHOUT_EFFECT} requests without effect; closing`);
    });
  });

  describe('a client that vanishes mid-stream', () => {
    const vanishings: [string, (client: RawClient) => Promise<void>][] = [
      ['closes (destroy)', async (client) => client.destroy()],
      ['resets the connection (RST)', async (client) => void client.socket.resetAndDestroy()],
      ['half-closes, reads a little more, then closes', async (client) => {
        await client.end();
        client.resume();
        await client.waitForBytes(64 * 1024);
        client.destroy();
      }],
    ];
    for (const version of ['v1', 'v2'] as const) {
      for (const [how, vanish] of vanishings) {
        test(`${version}: a client that ${how} mid-stream: the file descriptor is released`, { timeout: 15_000 }, async (t) => {
          if (!HAS_PROC_FD) {
            t.skip('needs /proc/self/fd (Linux) to count open descriptors');
            return;
          }
          const server = await harness.startServer({ root: await hostileLibrary() });
          const baseline = openFdCount();
          // Paused: the server fills the socket buffers and waits, so the transfer is surely
          // under way and far from done when the client goes.
          const client = await harness.connect(server.port, { paused: true });
          await client.send(version === 'v1' ? streamRequest(0) : Buffer.concat([HELLO_PACKET, getRequest('big.wav')]));
          await delay(200);
          await vanish(client);
          assert.ok(client.receivedLength < BIG_SIZE, 'the client went mid-stream');
          await pollUntil(() => server.server.connectionCount, (n) => n === 0, 'the server to drop the connection');
          await pollUntil(() => openFdCount(), (n) => n <= baseline + 1, `open descriptors back to the baseline of ${baseline}`);
          assert.ok(server.log.lines.some((l) => /cut off by the client after \d+ bytes/.test(l.message)), server.log.lines.map((l) => l.message).join('\n'));
          await server.close();
        });
      }
    }

    test('a client that half-closes at once still gets the whole file, and then the descriptor is released', { timeout: 15_000 }, async (t) => {
      if (!HAS_PROC_FD) {
        t.skip('needs /proc/self/fd (Linux) to count open descriptors');
        return;
      }
      const server = await harness.startServer({ root: await hostileLibrary() });
      const baseline = openFdCount();
      const client = await harness.connect(server.port);
      await client.send(Buffer.concat([streamRequest(0), streamRequest(1)]));
      await client.end();
      const { received, endedByPeer } = await client.waitForClose(10_000);
      assert.equal(readU32be(received, 0), BIG_SIZE);
      assert.equal(received.length, 4 + BIG_SIZE + 4 + SMALL.length);
      assert.deepEqual(received.subarray(4 + BIG_SIZE), streamReply(SMALL));
      assert.equal(endedByPeer, true);
      await pollUntil(() => openFdCount(), (n) => n <= baseline, `open descriptors back to the baseline of ${baseline}`);
    });
  });
});
