/**
 * SCRAM-SHA-256 state machines: the RFC 7677 test vector on both sides, wrong passwords, a
 * server that lacks the user's keys (mutual authentication fails on the client), replayed and
 * reordered messages, and fuzzed malformed input (only AUTH_MALFORMED ever comes out).
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  ScramClient,
  ScramServer,
  decodeSaslMessage,
  deriveScramCredential,
  encodeSaslMessage,
  parseAuthLine,
  type ScramCredential,
} from '../../src/protocol/index.js';
import { outcome } from '../support/fuzzing.js';

// RFC 7677 section 3.
const RFC = {
  user: 'user',
  password: 'pencil',
  clientNonce: 'rOprNGfwEbeRWgbNEkqO',
  serverNonce: '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0',
  salt: Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'),
  iterations: 4096,
  clientFirst: 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO',
  serverFirst: 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
  clientFinal: 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
  serverFinal: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
};

const rfcCredential = (): ScramCredential => deriveScramCredential(RFC.password, { salt: RFC.salt, iterations: RFC.iterations });

function code(fn: () => unknown): string | undefined {
  const r = outcome(fn);
  return r.ok ? undefined : r.code;
}

describe('SCRAM-SHA-256: the RFC 7677 test vector', () => {
  test('the client produces exactly the RFC messages and accepts the server signature', () => {
    const client = new ScramClient({ username: RFC.user, password: RFC.password, nonce: RFC.clientNonce });
    assert.equal(client.first(), RFC.clientFirst);
    assert.equal(client.final(RFC.serverFirst), RFC.clientFinal);
    client.verify(RFC.serverFinal);
    assert.equal(client.done, true);
  });

  test('the server, holding only the stored keys, produces exactly the RFC messages', () => {
    const server = new ScramServer({ nonce: RFC.serverNonce });
    assert.deepEqual(server.receiveFirst(RFC.clientFirst), { username: 'user', clientNonce: RFC.clientNonce });
    assert.equal(server.first(rfcCredential()), RFC.serverFirst);
    assert.deepEqual(server.receiveFinal(RFC.clientFinal), { ok: true, serverFinal: RFC.serverFinal });
    assert.equal(server.done, true);
  });

  test('client and server with random nonces and salt agree', () => {
    const credential = deriveScramCredential('correct horse', { iterations: 4096 });
    const client = new ScramClient({ username: 'ann, the =admin', password: 'correct horse' });
    const server = new ScramServer();
    assert.equal(server.receiveFirst(client.first()).username, 'ann, the =admin');
    const result = server.receiveFinal(client.final(server.first(credential)));
    assert.equal(result.ok, true);
    client.verify(result.serverFinal);
  });

  test('a password typed in another Unicode form (NFKC) is the same password', () => {
    const credential = deriveScramCredential('\u00c5ngstr\u00f6m', { iterations: 4096 });
    const client = new ScramClient({ username: 'u', password: 'A\u030angstro\u0308m' });
    const server = new ScramServer();
    server.receiveFirst(client.first());
    assert.equal(server.receiveFinal(client.final(server.first(credential))).ok, true);
  });
});

describe('SCRAM-SHA-256: failures', () => {
  test('a wrong password: the server says no, the client reports AUTH_FAILED', () => {
    const client = new ScramClient({ username: RFC.user, password: 'pencil2', nonce: RFC.clientNonce });
    const server = new ScramServer({ nonce: RFC.serverNonce });
    server.receiveFirst(client.first());
    const result = server.receiveFinal(client.final(server.first(rfcCredential())));
    assert.deepEqual(result, { ok: false, serverFinal: 'e=invalid-proof' });
    assert.equal(server.done, false);
    assert.equal(code(() => client.verify(result.serverFinal)), 'AUTH_FAILED');
  });

  test('a server that does not hold the keys cannot fake the signature: SERVER_NOT_VERIFIED', () => {
    // An impostor answers the first step with the real salt but cannot compute ServerKey.
    const client = new ScramClient({ username: RFC.user, password: RFC.password, nonce: RFC.clientNonce });
    client.first();
    client.final(RFC.serverFirst);
    const impostor = deriveScramCredential('not the password', { salt: RFC.salt, iterations: RFC.iterations });
    const fake = new ScramServer({ nonce: RFC.serverNonce });
    fake.receiveFirst(RFC.clientFirst);
    fake.first(impostor);
    // It accepts any proof and signs with the keys it has.
    const forged = `v=${Buffer.alloc(32, 7).toString('base64')}`;
    assert.equal(code(() => client.verify(forged)), 'SERVER_NOT_VERIFIED');
    assert.equal(client.done, false);
  });

  test('a server that says OK with a signature from its own (wrong) keys is caught', () => {
    const wrongKeys = deriveScramCredential('other', { iterations: 4096 });
    const client = new ScramClient({ username: 'u', password: 'right' });
    const server = new ScramServer();
    server.receiveFirst(client.first());
    const serverFirst = server.first(wrongKeys);
    const clientFinal = client.final(serverFirst);
    assert.equal(server.receiveFinal(clientFinal).ok, false);
    // It says OK anyway, signing with the keys it has.
    const clientFirstBare = `n=u,r=${serverFirst.slice(2, serverFirst.indexOf(',')).slice(0, 24)}`;
    const authMessage = `${clientFirstBare},${serverFirst},${clientFinal.slice(0, clientFinal.lastIndexOf(',p='))}`;
    const signature = createHmac('sha256', wrongKeys.serverKey).update(authMessage).digest('base64');
    assert.equal(code(() => client.verify(`v=${signature}`)), 'SERVER_NOT_VERIFIED');
  });

  test('a server nonce that does not extend the client nonce (a replayed server-first) is refused', () => {
    const client = new ScramClient({ username: 'user', password: 'pencil' });
    client.first();
    assert.equal(code(() => client.final(RFC.serverFirst)), 'AUTH_MALFORMED');
  });

  test('a replayed client-final from an earlier exchange is refused (its nonce is not this one)', () => {
    const server = new ScramServer(); // a fresh server nonce, as every real exchange has
    server.receiveFirst(RFC.clientFirst);
    server.first(rfcCredential());
    assert.equal(code(() => server.receiveFinal(RFC.clientFinal)), 'AUTH_MALFORMED');
  });

  test('messages out of order or repeated are refused on both sides', () => {
    const s1 = new ScramServer({ nonce: RFC.serverNonce });
    assert.equal(code(() => s1.receiveFinal(RFC.clientFinal)), 'AUTH_MALFORMED');
    const s2 = new ScramServer({ nonce: RFC.serverNonce });
    s2.receiveFirst(RFC.clientFirst);
    assert.equal(code(() => s2.receiveFirst(RFC.clientFirst)), 'AUTH_MALFORMED');
    assert.equal(code(() => s2.first(rfcCredential())), 'AUTH_MALFORMED'); // the failed exchange stays failed
    const s3 = new ScramServer({ nonce: RFC.serverNonce });
    s3.receiveFirst(RFC.clientFirst);
    s3.first(rfcCredential());
    assert.equal(s3.receiveFinal(RFC.clientFinal).ok, true);
    assert.equal(code(() => s3.receiveFinal(RFC.clientFinal)), 'AUTH_MALFORMED');

    const c1 = new ScramClient({ username: RFC.user, password: RFC.password, nonce: RFC.clientNonce });
    assert.equal(code(() => c1.final(RFC.serverFirst)), 'AUTH_MALFORMED');
    const c2 = new ScramClient({ username: RFC.user, password: RFC.password, nonce: RFC.clientNonce });
    c2.first();
    assert.equal(code(() => c2.verify(RFC.serverFinal)), 'AUTH_MALFORMED');
    const c3 = new ScramClient({ username: RFC.user, password: RFC.password, nonce: RFC.clientNonce });
    c3.first();
    c3.final(RFC.serverFirst);
    c3.verify(RFC.serverFinal);
    assert.equal(code(() => c3.verify(RFC.serverFinal)), 'AUTH_MALFORMED');
  });

  test('the client refuses iteration counts a hostile server picks to make it cheap or slow', () => {
    for (const i of ['1', '4095', '1000001', '99999999999', '0', '-5', '4096.5', '1e5', '']) {
      const client = new ScramClient({ username: RFC.user, password: RFC.password, nonce: RFC.clientNonce });
      client.first();
      assert.equal(code(() => client.final(RFC.serverFirst.replace('i=4096', `i=${i}`))), 'AUTH_MALFORMED', i);
    }
  });

  test('malformed client messages are refused with AUTH_MALFORMED', () => {
    const bad = [
      '',
      'n,,',
      'y,,n=user,r=rOprNGfwEbeRWgbNEkqO',
      'p=tls-unique,,n=user,r=rOprNGfwEbeRWgbNEkqO',
      'n,a=admin,n=user,r=rOprNGfwEbeRWgbNEkqO',
      'n,,r=rOprNGfwEbeRWgbNEkqO,n=user',
      'n,,n=user',
      'n,,n=,r=rOprNGfwEbeRWgbNEkqO',
      'n,,n=us=er,r=rOprNGfwEbeRWgbNEkqO',
      'n,,n=user,r=short',
      'n,,n=user,r=rOprNGfwEbeRWgbNEkqO,x=extension',
      'n,,m=ext,n=user,r=rOprNGfwEbeRWgbNEkqO',
      `n,,n=${'a'.repeat(65)},r=rOprNGfwEbeRWgbNEkqO`,
      `n,,n=user,r=${'a'.repeat(129)}`,
      'n,,n=us\u0000er,r=rOprNGfwEbeRWgbNEkqO',
      `n,,n=user,r=rOprNGfwEbeRWgbNEkqO${'x'.repeat(2000)}`,
    ];
    for (const message of bad) assert.equal(code(() => new ScramServer().receiveFirst(message)), 'AUTH_MALFORMED', JSON.stringify(message.slice(0, 80)));
    const finals = [
      RFC.clientFinal.replace('c=biws', 'c=eSws'),
      RFC.clientFinal.replace(',p=', ',x='),
      RFC.clientFinal.replace(/p=.*/, 'p=AAAA'),
      RFC.clientFinal.replace(/p=.*/, 'p=not base64!'),
      RFC.clientFinal + ',e=extra',
      RFC.clientFinal.replace(/p=(.*)/, 'p=$1='),
    ];
    for (const message of finals) {
      const server = new ScramServer({ nonce: RFC.serverNonce });
      server.receiveFirst(RFC.clientFirst);
      server.first(rfcCredential());
      assert.equal(code(() => server.receiveFinal(message)), 'AUTH_MALFORMED', message);
    }
  });
});

describe('SCRAM-SHA-256: fuzzed input', () => {
  const attr = fc.oneof(
    fc.constantFrom('n,,', 'n=user', 'r=rOprNGfwEbeRWgbNEkqO', 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0', 's=W22ZaJ0SNY7soEsUEjb6gQ==', 'i=4096', 'i=99999999999', 'c=biws', 'p=', 'v=', 'e=x', '=', ',', '=2C', '=3D'),
    fc.string({ maxLength: 40 }),
    fc.string({ unit: 'binary', maxLength: 3000 }),
  );
  const message = fc.array(attr, { maxLength: 12 }).map((parts) => parts.join(','));

  test('server steps: anything but a well-formed message is AUTH_MALFORMED, never a crash', () => {
    fc.assert(
      fc.property(message, message, (first, final) => {
        const server = new ScramServer();
        const r1 = outcome(() => server.receiveFirst(first));
        if (!r1.ok) return r1.code === 'AUTH_MALFORMED';
        server.first(rfcCredential());
        const r2 = outcome(() => server.receiveFinal(final));
        return r2.ok ? r2.value.ok === false : r2.code === 'AUTH_MALFORMED';
      }),
      { numRuns: 300 },
    );
  });

  test('client steps: a hostile server-first or server-final never crashes the client or passes as verified', () => {
    fc.assert(
      fc.property(message, message, (serverFirst, serverFinal) => {
        const client = new ScramClient({ username: RFC.user, password: RFC.password, nonce: RFC.clientNonce });
        client.first();
        const r1 = outcome(() => client.final(serverFirst));
        if (!r1.ok) return r1.code === 'AUTH_MALFORMED';
        const r2 = outcome(() => client.verify(serverFinal));
        return !r2.ok && ['AUTH_MALFORMED', 'AUTH_FAILED', 'SERVER_NOT_VERIFIED'].includes(r2.code);
      }),
      { numRuns: 150 },
    );
  });

  test('login lines: absurd lengths and bad base64 are AUTH_MALFORMED', () => {
    assert.equal(code(() => parseAuthLine(`AUTH SCRAM-SHA-256 ${'A'.repeat(1_000_000)}`)), 'AUTH_MALFORMED');
    assert.equal(code(() => parseAuthLine('AUTH SCRAM-SHA-256')), 'AUTH_MALFORMED');
    assert.equal(code(() => parseAuthLine('AUTH-CONTINUE a b')), 'AUTH_MALFORMED');
    assert.equal(code(() => parseAuthLine('AUTH-CONTINUE ****')), 'AUTH_MALFORMED');
    assert.equal(code(() => parseAuthLine(`AUTH-CONTINUE ${Buffer.from([0xff, 0xfe, 0xfd]).toString('base64')}`)), 'AUTH_MALFORMED');
    assert.equal(parseAuthLine('LIST2'), undefined);
    assert.deepEqual(parseAuthLine(`AUTH SCRAM-SHA-256 ${encodeSaslMessage(RFC.clientFirst)}`), { kind: 'auth', mechanism: 'SCRAM-SHA-256', message: RFC.clientFirst });
    fc.assert(
      fc.property(fc.string({ maxLength: 2000 }), (s) => {
        const r = outcome(() => decodeSaslMessage(s));
        return r.ok || r.code === 'AUTH_MALFORMED';
      }),
      { numRuns: 300 },
    );
  });
});
