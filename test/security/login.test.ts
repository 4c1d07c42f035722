/**
 * Accounts on a real server over loopback: v2 needs a login once accounts exist and is served
 * after one; v1 is served only to allowed addresses (127.0.0.2 stands in for another host);
 * wrong passwords and unknown names look the same; the client catches an impostor server;
 * failed logins slow down.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, describe, test } from 'node:test';
import { ClientConnection, loginWithScram } from '../../src/client/index.js';
import { ScramClient, decodeSaslMessage, encodeSaslMessage, formatAuthContinue, formatAuthStart, isAudioStreamError } from '../../src/protocol/index.js';
import { parseCidrList } from '../../src/server/index.js';
import { LIST_REQUEST } from '../support/wire.js';
import { TestHarness } from '../support/server-harness.js';
import { testAccounts } from './support/accounts.js';
import { LineClient } from './support/line-client.js';

const harness = new TestHarness();
after(() => harness.cleanup());

const FILES = { 'a.mp3': Buffer.alloc(1000, 1), 'b/c.flac': Buffer.alloc(2000, 2) };

async function serverWithAccounts(options: Parameters<typeof testAccounts>[1] = {}) {
  const accounts = await testAccounts(harness, options);
  const root = await harness.library(FILES);
  const running = await harness.startServer({ root, server: { access: accounts.policy } });
  return { ...running, accounts };
}

function client(port: number, login?: { username: string; password: string }): ClientConnection {
  const c = new ClientConnection({ host: '127.0.0.1', port, ...(login ? { login: (exchange) => loginWithScram(exchange, login) } : {}) });
  harness.defer(() => c.close());
  return c;
}

/** One whole login over a LineClient; returns the server's lines. */
async function rawLogin(line: LineClient, username: string, password: string): Promise<{ serverFirst: string; final: string; ms: number }> {
  const scram = new ScramClient({ username, password });
  const started = process.hrtime.bigint();
  const cont = await line.ask(formatAuthStart(scram.first()));
  assert.match(cont, /^AUTH-CONTINUE /);
  const serverFirst = decodeSaslMessage(cont.slice('AUTH-CONTINUE '.length));
  const final = await line.ask(formatAuthContinue(scram.final(serverFirst)));
  return { serverFirst, final, ms: Number(process.hrtime.bigint() - started) / 1e6 };
}

describe('policy: --allow-v1-from', () => {
  test('addresses and CIDR ranges are parsed; anything else is a USAGE error', () => {
    const list = parseCidrList(['10.0.0.0/8', '192.168.1.7', 'fd00::/8']);
    assert.equal(list.check('10.200.3.4', 'ipv4'), true);
    assert.equal(list.check('192.168.1.8', 'ipv4'), false);
    assert.equal(list.check('fd12::1', 'ipv6'), true);
    for (const bad of ['10.0.0.0/33', 'localhost', '10.0.0.0/8/1', '::1/129', '', '10.0.0.0/x']) {
      assert.throws(() => parseCidrList([bad]), (e) => isAudioStreamError(e, 'USAGE'), bad);
    }
  });
});

describe('policy: no accounts', () => {
  test('with the store empty, v1 from any address and v2 without login are served as before', { timeout: 10_000 }, async () => {
    const { port } = await serverWithAccounts({ allowV1From: ['127.0.0.1'] });
    const list = await client(port).list();
    assert.deepEqual(list.entries.map((e) => e.path), ['a.mp3', 'b/c.flac']);
    const v1 = await harness.connect(port, { localAddress: '127.0.0.2' });
    await v1.send(LIST_REQUEST);
    await v1.end();
    const { received } = await v1.waitForClose();
    assert.equal(received.toString(), '1:b/c.flac\r\n0:a.mp3\r\n');
  });
});

describe('policy: accounts exist', () => {
  test('v2 without a login gets ERR AUTH_REQUIRED for every request, and the connection stays', { timeout: 10_000 }, async () => {
    const { port } = await serverWithAccounts({ users: { ann: 'pencil' } });
    const line = await LineClient.connect(port);
    assert.match(await line.hello(), /^AS\/2 OK /);
    for (const request of ['LIST2', 'GET "a.mp3"', 'INFO "a.mp3"']) assert.match(await line.ask(request), /^ERR AUTH_REQUIRED /, request);
    const c = client(port);
    await assert.rejects(c.list(), (e) => isAudioStreamError(e, 'AUTH_REQUIRED') && /log in/.test(e.message));
    line.close();
  });

  test('v2 with a login is served; the server proved itself to the client', { timeout: 10_000 }, async () => {
    const { port, log } = await serverWithAccounts({ users: { ann: 'pencil' } });
    const c = client(port, { username: 'ann', password: 'pencil' });
    assert.deepEqual((await c.list()).entries.map((e) => e.path), ['a.mp3', 'b/c.flac']);
    const file = await c.fetch({ index: 0, path: 'a.mp3' });
    let n = 0;
    for await (const chunk of file.body) n += (chunk as Buffer).length;
    assert.equal(n, 1000);
    assert.ok(log.lines.some((l) => /logged in as "ann" \(listener\)/.test(l.message)));
    assert.ok(!log.lines.some((l) => l.message.includes('pencil')), 'no password in the log');
  });

  test('v1 from an allowed address is served; from another address it is closed with a log line', { timeout: 10_000 }, async () => {
    const { port, log } = await serverWithAccounts({ users: { ann: 'pencil' }, allowV1From: ['127.0.0.1/32'] });
    const allowed = await harness.connect(port);
    await allowed.send(LIST_REQUEST);
    await allowed.end();
    assert.equal((await allowed.waitForClose()).received.toString(), '1:b/c.flac\r\n0:a.mp3\r\n');

    const refused = await harness.connect(port, { localAddress: '127.0.0.2' });
    await refused.send(LIST_REQUEST);
    const closed = await refused.waitForClose();
    assert.equal(closed.received.length, 0, 'not one byte of the library');
    assert.ok(log.warnings.some((w) => w.startsWith('127.0.0.2:') && /v1 request refused.*--allow-v1-from/.test(w)), log.warnings.join('\n'));
  });

  test('v1 requests inside an unauthenticated v2 session from a refused address get ERR AUTH_REQUIRED', { timeout: 10_000 }, async () => {
    const { port } = await serverWithAccounts({ users: { ann: 'pencil' }, allowV1From: [] });
    const line = await LineClient.connect(port);
    await line.hello();
    await line.ask('INFO "a.mp3"'); // anything first, so LIST is not taken as HELLO's fallback probe
    assert.match(await line.ask('LIST'), /^ERR AUTH_REQUIRED /);
    line.close();
  });

  test('an account added while the server runs applies to the next request', { timeout: 10_000 }, async () => {
    const { port, accounts } = await serverWithAccounts();
    const line = await LineClient.connect(port);
    await line.hello();
    assert.match(await line.ask('LIST2'), /^OK 2/);
    await line.next();
    await line.next();
    await accounts.add('ann', 'pencil');
    assert.match(await line.ask('LIST2'), /^ERR AUTH_REQUIRED/);
    line.close();
  });
});

describe('login failures', () => {
  test('a wrong password and an unknown name get the same replies; the unknown name\'s salt is stable', { timeout: 10_000 }, async () => {
    const { port, log } = await serverWithAccounts({ users: { ann: 'pencil' } });
    const line = await LineClient.connect(port);
    await line.hello();
    const wrong = await rawLogin(line, 'ann', 'crayon');
    const unknown1 = await rawLogin(line, 'zed', 'crayon');
    const unknown2 = await rawLogin(line, 'zed', 'crayon');
    assert.equal(wrong.final, 'ERR AUTH_FAILED wrong user name or password');
    assert.equal(unknown1.final, wrong.final);
    const shape = (m: string) => m.replace(/^r=[^,]+,s=([^,]+),i=(\d+)$/, (_, s: string, i: string) => `salt ${Buffer.from(s, 'base64').length} bytes, i=${i}`);
    assert.equal(shape(unknown1.serverFirst), shape(wrong.serverFirst));
    const salt = (m: string) => /,s=([^,]+),/.exec(m)![1];
    assert.equal(salt(unknown1.serverFirst), salt(unknown2.serverFirst), 'a random salt per attempt would give unknown names away');
    assert.ok(!log.lines.some((l) => l.message.includes('crayon')));
    line.close();
  });

  test('ClientConnection: a wrong password is AUTH_FAILED, and nothing is listed', { timeout: 10_000 }, async () => {
    const { port } = await serverWithAccounts({ users: { ann: 'pencil' } });
    await assert.rejects(client(port, { username: 'ann', password: 'crayon' }).list(), (e) => isAudioStreamError(e, 'AUTH_FAILED'));
    await assert.rejects(client(port, { username: 'nobody', password: 'crayon' }).list(), (e) => isAudioStreamError(e, 'AUTH_FAILED'));
  });

  test('replayed and reordered login lines are refused', { timeout: 10_000 }, async () => {
    const { port } = await serverWithAccounts({ users: { ann: 'pencil' } });
    const line = await LineClient.connect(port);
    await line.hello();
    assert.match(await line.ask(formatAuthContinue('c=biws,r=x,p=y')), /^ERR BAD_REQUEST .*without AUTH/);
    // A whole successful exchange, recorded...
    const scram = new ScramClient({ username: 'ann', password: 'pencil' });
    const first = formatAuthStart(scram.first());
    const serverFirst = decodeSaslMessage((await line.ask(first)).slice(14));
    const final = formatAuthContinue(scram.final(serverFirst));
    assert.match(await line.ask(final), /^OK /);
    line.close();
    // ...and played back on a new connection: the server's nonce is new, so the proof is stale.
    const replay = await LineClient.connect(port);
    await replay.hello();
    assert.match(await replay.ask(first), /^AUTH-CONTINUE /);
    assert.match(await replay.ask(final), /^ERR AUTH_FAILED /);
    assert.match(await replay.ask('LIST2'), /^ERR AUTH_REQUIRED /);
    replay.close();
  });

  test('too many failed logins on one connection close it', { timeout: 10_000 }, async () => {
    const { port } = await serverWithAccounts({ users: { ann: 'pencil' } });
    const line = await LineClient.connect(port);
    await line.hello();
    for (let i = 0; i < 5; i++) assert.match((await rawLogin(line, 'ann', `guess${i}`)).final, /^ERR AUTH_FAILED/);
    assert.equal(await line.next(), '<closed>');
  });

  test('an impostor server (test double) that does not hold the keys fails mutual authentication', { timeout: 10_000 }, async () => {
    // It speaks v2, accepts any proof and "signs" with keys it made up.
    const impostor = net.createServer((socket) => {
      let buffer = '';
      socket.on('data', (chunk) => {
        buffer += chunk.toString();
        let lf;
        while ((lf = buffer.indexOf('\n')) !== -1) {
          const text = buffer.slice(0, lf).replace(/\r$/, '');
          buffer = buffer.slice(lf + 1);
          if (text === 'HELLO AS/2') socket.write('AS/2 OK impostor\r\n');
          else if (text.startsWith('AUTH SCRAM-SHA-256 ')) {
            const clientFirst = decodeSaslMessage(text.split(' ')[2]!);
            const nonce = /r=([^,]+)/.exec(clientFirst)![1];
            socket.write(`AUTH-CONTINUE ${encodeSaslMessage(`r=${nonce}IMPOSTOR0123456789,s=${Buffer.alloc(16, 9).toString('base64')},i=4096`)}\r\n`);
          } else if (text.startsWith('AUTH-CONTINUE ')) socket.write(`OK ${encodeSaslMessage(`v=${Buffer.alloc(32, 5).toString('base64')}`)}\r\n`);
        }
      });
    });
    await new Promise<void>((resolve) => impostor.listen(0, '127.0.0.1', resolve));
    harness.defer(() => new Promise<void>((resolve) => impostor.close(() => resolve())));
    const { port } = impostor.address() as net.AddressInfo;
    const c = client(port, { username: 'ann', password: 'pencil' });
    await assert.rejects(c.list(), (e) => isAudioStreamError(e, 'SERVER_NOT_VERIFIED'));
    assert.equal(c.connected, false);
  });
});

describe('throttling', () => {
  test('failed logins from one address wait longer each time (measured), for known and unknown names', { timeout: 20_000 }, async () => {
    const BASE = 100;
    const { port, log } = await serverWithAccounts({ users: { ann: 'pencil' }, throttle: { baseDelayMs: BASE, maxDelayMs: 400 } });
    const waits: number[] = [];
    for (let i = 0; i < 5; i++) {
      const line = await LineClient.connect(port); // a new connection each time: the count is per address, not per connection
      await line.hello();
      const started = process.hrtime.bigint();
      const scram = new ScramClient({ username: i % 2 ? 'ann' : 'nobody', password: 'wrong' });
      await line.ask(formatAuthStart(scram.first()));
      waits.push(Number(process.hrtime.bigint() - started) / 1e6);
      line.close();
      // Finish nothing: an abandoned exchange is not a failure. Count one with a full failed login.
      const again = await LineClient.connect(port);
      await again.hello();
      await rawLogin(again, i % 2 ? 'ann' : 'nobody', 'wrong');
      again.close();
    }
    // Before attempt i (0-based) there were i failures (abandoned starts count none): 0, then min(400, 100 * 2^(i-1)).
    const expected = [0, 100, 200, 400, 400];
    for (let i = 0; i < expected.length; i++) {
      assert.ok(waits[i]! >= expected[i]! - 5, `attempt ${i}: waited ${waits[i]!.toFixed(1)} ms, expected at least ${expected[i]} ms`);
      assert.ok(waits[i]! < expected[i]! + 1000, `attempt ${i}: waited ${waits[i]!.toFixed(1)} ms, bounded at ${expected[i]} ms`);
    }
    assert.ok(log.warnings.filter((w) => /login failed for/.test(w)).length >= 5);
    // The right password still waits its turn (a guess that happens to be right gains nothing)...
    const line = await LineClient.connect(port);
    await line.hello();
    const right = await rawLogin(line, 'ann', 'pencil');
    assert.match(right.final, /^OK /);
    assert.ok(right.ms >= 400 - 5, `the right password waited ${right.ms.toFixed(1)} ms`);
    line.close();
  });

  test('guesses on parallel connections queue up one delay apart (measured)', { timeout: 20_000 }, async () => {
    const { port } = await serverWithAccounts({ users: { ann: 'pencil' }, throttle: { baseDelayMs: 100, maxDelayMs: 100 } });
    const first = await LineClient.connect(port);
    await first.hello();
    await rawLogin(first, 'ann', 'wrong'); // from now on, attempts are 100 ms apart
    first.close();
    const lines = await Promise.all([1, 2, 3, 4].map(async () => {
      const line = await LineClient.connect(port);
      await line.hello();
      return line;
    }));
    const started = process.hrtime.bigint();
    const waits = await Promise.all(lines.map(async (line) => {
      await line.ask(formatAuthStart(new ScramClient({ username: 'ann', password: 'wrong' }).first()));
      return Number(process.hrtime.bigint() - started) / 1e6;
    }));
    waits.sort((a, b) => a - b);
    for (let i = 0; i < 4; i++) assert.ok(waits[i]! >= 100 * (i + 1) - 5, `attempt ${i} answered after ${waits[i]!.toFixed(1)} ms: ${waits.map((w) => w.toFixed(0)).join(', ')}`);
    lines.forEach((l) => l.close());
  });

  test('an unknown name and a wrong password take the same time (medians of interleaved tries)', { timeout: 60_000 }, async () => {
    const { port } = await serverWithAccounts({ users: { ann: 'pencil' } });
    const TRIES = 120;
    const times: Record<'wrong' | 'unknown', number[]> = { wrong: [], unknown: [] };
    let line: LineClient | undefined;
    for (let i = 0; i < TRIES * 2; i++) {
      if (i % 4 === 0) {
        line?.close();
        line = await LineClient.connect(port);
        await line.hello();
      }
      const kind = i % 2 === 0 ? 'wrong' : 'unknown';
      // Client-side key derivation happens inside rawLogin but is the same for both kinds.
      const scram = new ScramClient({ username: kind === 'wrong' ? 'ann' : `nobody${i}`, password: 'crayon' });
      const started = process.hrtime.bigint();
      const cont = await line!.ask(formatAuthStart(scram.first()));
      const t1 = process.hrtime.bigint();
      const final = formatAuthContinue(scram.final(decodeSaslMessage(cont.slice(14))));
      const t2 = process.hrtime.bigint();
      assert.match(await line!.ask(final), /^ERR AUTH_FAILED/);
      const t3 = process.hrtime.bigint();
      times[kind].push(Number(t1 - started + (t3 - t2)) / 1e6); // server time only, not our PBKDF2
    }
    line?.close();
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
    const mw = median(times.wrong);
    const mu = median(times.unknown);
    // A server that skipped work for unknown names (no keys looked up, an early reply) would
    // differ by the cost of that work; loopback noise is well under a millisecond at the median.
    assert.ok(Math.abs(mw - mu) < Math.max(0.5, 0.35 * Math.max(mw, mu)), `median wrong password ${mw.toFixed(3)} ms, unknown name ${mu.toFixed(3)} ms`);
  });
});
