/**
 * Real TLS over loopback with certificates made by openssl: a CA-verified server, a wrong
 * host name, an expired certificate, trust on first use (first / same / changed), and the
 * mismatches (a plain client on the TLS-enabled port, a TLS client on a plain server or on a
 * peer that never answers) ending in clear errors, never a hang.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { ClientConnection, TlsTrust, loginWithScram, type NewServerTrust } from '../../src/client/index.js';
import { Library } from '../../src/library/index.js';
import { isAudioStreamError } from '../../src/protocol/index.js';
import { AudioServer, createServerTlsContext, plainTextPolicy, type PlainTextPolicy } from '../../src/server/index.js';
import { LIST_REQUEST } from '../support/wire.js';
import { CapturingLogger, TestHarness } from '../support/server-harness.js';
import { testAccounts } from './support/accounts.js';
import { makeCertificates, type KeyPair, type TestCertificates } from './support/certificates.js';
import { LineClient } from './support/line-client.js';

const harness = new TestHarness();
after(() => harness.cleanup());
let certs: TestCertificates;
let root: string;
before(async () => {
  certs = await makeCertificates(await harness.tempDir('audiostream-certs-'));
  root = await harness.library({ 'a.mp3': Buffer.alloc(3000, 7) });
});

async function tlsServer(pair: KeyPair | undefined, options: { port?: number; access?: Awaited<ReturnType<typeof testAccounts>>['policy']; requireTls?: PlainTextPolicy } = {}) {
  const library = await Library.open(root, { rescanIntervalMs: 0, watchDebounceMs: 0, readTags: false });
  const log = new CapturingLogger();
  const server = new AudioServer({
    library,
    log,
    ...(pair ? { tls: createServerTlsContext(pair.cert, pair.key) } : {}),
    ...(options.access ? { access: options.access } : {}),
    ...(options.requireTls ? { requireTls: options.requireTls } : {}),
  });
  const address = await server.listen(options.port ?? 0, '127.0.0.1');
  const close = async () => {
    library.close();
    await server.close();
  };
  harness.defer(close);
  return { port: address.port, log, close };
}

async function tlsClient(port: number, trust: { ca?: Buffer; newServer?: NewServerTrust; stateDir?: string; ask?: (q: string) => Promise<boolean>; login?: { username: string; password: string } } = {}) {
  const stateDir = trust.stateDir ?? (await harness.tempDir('audiostream-state-'));
  const tlsTrust = new TlsTrust({ host: '127.0.0.1', port, stateDir, newServer: trust.newServer ?? 'refuse', ...(trust.ca ? { ca: trust.ca } : {}), ...(trust.ask ? { ask: trust.ask } : {}) });
  const c = new ClientConnection({
    host: '127.0.0.1',
    port,
    connectTimeoutMs: 3000,
    tls: { connectOptions: tlsTrust.connectOptions(), verify: (s) => tlsTrust.verify(s) },
    ...(trust.login ? { login: (exchange) => loginWithScram(exchange, trust.login!) } : {}),
  });
  harness.defer(() => c.close());
  return c;
}

describe('TLS with a CA', () => {
  test('a certificate from the given CA for this address: listed and fetched over TLS 1.3', { timeout: 15_000 }, async () => {
    const { port, log } = await tlsServer(certs.valid);
    const c = await tlsClient(port, { ca: certs.ca });
    assert.deepEqual((await c.list()).entries.map((e) => e.path), ['a.mp3']);
    const file = await c.fetch({ index: 0, path: 'a.mp3' });
    let n = 0;
    for await (const chunk of file.body) n += (chunk as Buffer).length;
    assert.equal(n, 3000);
    assert.equal(await file.trailer!.then(() => 'ok'), 'ok');
    const line = await LineClient.connect(port, { tls: { ca: certs.ca, servername: 'localhost' } });
    assert.equal((line.socket as import('node:tls').TLSSocket).getProtocol(), 'TLSv1.3');
    line.close();
    assert.deepEqual(log.warnings, []);
  });

  test('TLS 1.1 is refused', { timeout: 10_000 }, async () => {
    const { port } = await tlsServer(certs.valid);
    await assert.rejects(LineClient.connect(port, { tls: { ca: certs.ca, maxVersion: 'TLSv1.1', minVersion: 'TLSv1' } }));
  });

  test('a certificate for another name fails with TLS_UNTRUSTED, before a byte is sent', { timeout: 10_000 }, async () => {
    const { port, log } = await tlsServer(certs.otherName);
    const c = await tlsClient(port, { ca: certs.ca });
    await assert.rejects(c.list(), (e) => isAudioStreamError(e, 'TLS_UNTRUSTED') && /not made out to "127.0.0.1"/.test(e.message));
    assert.ok(!log.lines.some((l) => /HELLO/.test(l.message)), 'no request reached the server');
  });

  test('an expired certificate fails with TLS_UNTRUSTED', { timeout: 10_000 }, async () => {
    const { port } = await tlsServer(certs.expired);
    await assert.rejects((await tlsClient(port, { ca: certs.ca })).list(), (e) => isAudioStreamError(e, 'TLS_UNTRUSTED') && /expired/.test(e.message));
  });

  test('a self-signed certificate is not trusted when --ca is given (no trust on first use)', { timeout: 10_000 }, async () => {
    const { port } = await tlsServer(certs.selfSignedA);
    await assert.rejects((await tlsClient(port, { ca: certs.ca, newServer: 'accept' })).list(), (e) => isAudioStreamError(e, 'TLS_UNTRUSTED'));
  });

  test('login over TLS', { timeout: 10_000 }, async () => {
    const accounts = await testAccounts(harness, { users: { ann: 'pencil' } });
    const { port } = await tlsServer(certs.valid, { access: accounts.policy });
    const c = await tlsClient(port, { ca: certs.ca, login: { username: 'ann', password: 'pencil' } });
    assert.equal((await c.list()).entries.length, 1);
  });
});

describe('TLS trust on first use', () => {
  test('first use: refused without consent (the fingerprint shown), pinned with it; same: trusted; changed: TLS_CHANGED', { timeout: 20_000 }, async () => {
    const stateDir = await harness.tempDir('audiostream-state-');
    const first = await tlsServer(certs.selfSignedA);
    await assert.rejects((await tlsClient(first.port, { stateDir })).list(), (e) => isAudioStreamError(e, 'TLS_UNTRUSTED') && /SHA-256 [0-9A-F:]{95}/.test(e.message) && /--trust-new-server/.test(e.message));
    const questions: string[] = [];
    await assert.rejects((await tlsClient(first.port, { stateDir, newServer: 'ask', ask: async (q) => (questions.push(q), false) })).list(), (e) => isAudioStreamError(e, 'TLS_UNTRUSTED'));
    assert.equal(questions.length, 1);
    assert.match(questions[0]!, /127\.0\.0\.1:\d+ presents a certificate .* fingerprint/s);
    assert.equal((await (await tlsClient(first.port, { stateDir, newServer: 'ask', ask: async () => true })).list()).entries.length, 1);
    // Pinned: trusted from now on without asking.
    assert.equal((await (await tlsClient(first.port, { stateDir, newServer: 'refuse' })).list()).entries.length, 1);
    // The same address and port with another certificate: fails loudly, even with --trust-new-server.
    await first.close();
    const changed = await tlsServer(certs.selfSignedB, { port: first.port });
    await assert.rejects((await tlsClient(changed.port, { stateDir, newServer: 'accept' })).list(), (e) => isAudioStreamError(e, 'TLS_CHANGED') && /HAS CHANGED/.test(e.message) && /known-servers\.json/.test(e.message));
  });
});

describe('TLS and plain on one port, and mismatches', () => {
  test('a plain v1 and a plain v2 client on the TLS-enabled port are served in plain', { timeout: 10_000 }, async () => {
    const { port } = await tlsServer(certs.valid);
    const v1 = await harness.connect(port);
    await v1.send(LIST_REQUEST);
    await v1.end();
    assert.equal((await v1.waitForClose()).received.toString(), '0:a.mp3\r\n');
    const c = new ClientConnection({ host: '127.0.0.1', port });
    harness.defer(() => c.close());
    assert.equal((await c.list()).entries.length, 1);
  });

  test('a TLS client on a server without a certificate: TLS_FAILED at once, and a log line', { timeout: 10_000 }, async () => {
    const { port, log } = await tlsServer(undefined);
    const started = Date.now();
    await assert.rejects((await tlsClient(port, { ca: certs.ca })).list(), (e) => isAudioStreamError(e, 'TLS_FAILED') && /does not speak TLS/.test(e.message));
    assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
    assert.ok(log.warnings.some((w) => /a TLS client, but this server has no certificate/.test(w)));
  });

  test('a TLS client on a peer that never answers (test double: a silent v1 server) gives up within the connect timeout', { timeout: 10_000 }, async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    harness.defer(() => new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      silent.close(() => resolve());
    }));
    const { port } = silent.address() as net.AddressInfo;
    const started = Date.now();
    await assert.rejects((await tlsClient(port)).list(), (e) => isAudioStreamError(e, 'CONNECTION_FAILED') && /no TLS handshake/.test(e.message));
    assert.ok(Date.now() - started < 5000);
  });
});

describe('--require-tls: no v2 in plain text on the TLS port', () => {
  test('a plain v2 client is told TLS_REQUIRED (connect with --tls) and closed; a TLS client is served; plain v1 from an allowed address is served', { timeout: 15_000 }, async () => {
    const { port, log } = await tlsServer(certs.valid, { requireTls: plainTextPolicy(['127.0.0.0/8']) });
    const plain = new ClientConnection({ host: '127.0.0.1', port });
    harness.defer(() => plain.close());
    await assert.rejects(plain.list(), (e) => isAudioStreamError(e, 'TLS_REQUIRED') && /only over TLS: connect with --tls/.test(e.message));
    assert.ok(log.warnings.some((w) => /closing: plain-text v2 refused \(--require-tls\)/.test(w)), log.warnings.join('\n'));

    // On the wire: the error line, then the close; the probe's LIST that may follow is not answered.
    const raw = await harness.connect(port);
    await raw.send(Buffer.from('HELLO AS/2\r\nLIST\r\n'));
    assert.equal((await raw.waitForClose()).received.toString(), 'ERR TLS_REQUIRED this server speaks v2 only over TLS: connect with --tls\r\n');

    const secure = await tlsClient(port, { ca: certs.ca });
    assert.deepEqual((await secure.list()).entries.map((e) => e.path), ['a.mp3']);
    const v1 = await harness.connect(port);
    await v1.send(LIST_REQUEST);
    await v1.end();
    assert.equal((await v1.waitForClose()).received.toString(), '0:a.mp3\r\n', 'v1 from 127.0.0.0/8, as --allow-v1-from says');
  });

  test('plain v1 from outside --allow-v1-from is closed unanswered, accounts or not, with a log line', { timeout: 10_000 }, async () => {
    const { port, log } = await tlsServer(certs.valid, { requireTls: plainTextPolicy([]) });
    const v1 = await harness.connect(port);
    await v1.send(LIST_REQUEST);
    assert.equal((await v1.waitForClose()).received.length, 0);
    assert.ok(log.warnings.some((w) => /LIST: this server requires TLS, and v1 \(which has none\) is served only to nowhere/.test(w)), log.warnings.join('\n'));
    const secure = await tlsClient(port, { ca: certs.ca });
    assert.equal((await secure.list()).entries.length, 1, 'TLS is served as ever');
  });
});
