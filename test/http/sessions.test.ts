/**
 * Logging in to the web interface: sessions in HttpOnly, SameSite=Strict cookies (Secure
 * under TLS, with a real openssl-made certificate), CSRF checks on state-changing requests,
 * failed logins limited. Accounts come from a test double with one fixed account (the
 * accounts module is not wired in yet); without accounts no login is asked.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Library } from '../../src/library/index.js';
import { Authenticator, LoginThrottle, SqliteAccountStore, loadServerSecret } from '../../src/accounts/index.js';
import { accountsWebAuthenticator } from '../../src/http/index.js';
import { ServerDatabase } from '../../src/library/index.js';
import { deriveScramCredential } from '../../src/protocol/index.js';
import { TestAuthenticatorWithFixedAccount, WebHarness, request, type Exchange } from './support/web-harness.js';

const harness = new WebHarness();
after(() => harness.cleanup());

const JSON_HEADERS = { 'Content-Type': 'application/json' };
const credentials = JSON.stringify({ name: TestAuthenticatorWithFixedAccount.NAME, password: TestAuthenticatorWithFixedAccount.PASSWORD });

function cookieOf(res: Exchange): string {
  const set = res.headers['set-cookie']?.[0];
  assert.ok(set, 'a Set-Cookie header');
  return set.split(';')[0]!;
}

function errorCode(res: Exchange): string {
  return JSON.parse(res.body.toString()).error.code;
}

describe('web login with accounts (test authenticator with a fixed account)', () => {
  let library: Library;
  let port: number;

  before(async () => {
    library = await harness.openLibrary(await harness.sampleLibrary());
    ({ port } = await harness.start(library, { auth: new TestAuthenticatorWithFixedAccount() }));
  });

  test('without a session: the page loads, the API and files answer 401 AUTH_REQUIRED', async () => {
    assert.equal((await request(port, '/')).status, 200);
    assert.equal((await request(port, '/assets/app.js')).status, 200);
    const session = JSON.parse((await request(port, '/api/session')).body.toString());
    assert.deepEqual(session, { loginRequired: true, user: null, csrfToken: null });
    for (const url of ['/api/artists', '/api/albums', '/api/search?q=a', '/api/folders', `/files/${library.store.track('Singles/Short Beep.wav')!.id}`, '/api/tracks/1']) {
      const res = await request(port, url);
      assert.equal(res.status, 401, url);
      assert.equal(errorCode(res), 'AUTH_REQUIRED', url);
    }
  });

  test('a login sets an HttpOnly, SameSite=Strict cookie (not Secure over plain HTTP) that opens the API; logout needs the CSRF token and ends the session', async () => {
    const login = await request(port, '/api/login', { method: 'POST', headers: JSON_HEADERS, body: credentials });
    assert.equal(login.status, 200);
    const set = login.headers['set-cookie']![0]!;
    assert.match(set, /^as_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+$/);
    const cookie = cookieOf(login);
    const { csrfToken, user } = JSON.parse(login.body.toString());
    assert.deepEqual(user, { name: 'listener', role: 'user' });
    assert.equal((await request(port, '/api/artists', { headers: { Cookie: cookie } })).status, 200);
    const id = library.store.track('Singles/Short Beep.wav')!.id;
    assert.equal((await request(port, `/files/${id}`, { headers: { Cookie: cookie, Range: 'bytes=0-3' } })).status, 206);

    const forged = await request(port, '/api/logout', { method: 'POST', headers: { ...JSON_HEADERS, Cookie: cookie }, body: '{}' });
    assert.equal(forged.status, 403);
    assert.equal(errorCode(forged), 'CSRF_REJECTED');
    const wrong = await request(port, '/api/logout', { method: 'POST', headers: { ...JSON_HEADERS, Cookie: cookie, 'X-CSRF-Token': 'x'.repeat(43) }, body: '{}' });
    assert.equal(wrong.status, 403);
    assert.equal((await request(port, '/api/artists', { headers: { Cookie: cookie } })).status, 200, 'a refused logout ends nothing');

    const logout = await request(port, '/api/logout', { method: 'POST', headers: { ...JSON_HEADERS, Cookie: cookie, 'X-CSRF-Token': csrfToken }, body: '{}' });
    assert.equal(logout.status, 200);
    assert.match(logout.headers['set-cookie']![0]!, /Max-Age=0/);
    assert.equal((await request(port, '/api/artists', { headers: { Cookie: cookie } })).status, 401, 'the old cookie is dead');
  });

  test('a login from another origin or site, or not as JSON, is refused (login CSRF)', async () => {
    const cases: [Record<string, string>, number][] = [
      [{ ...JSON_HEADERS, Origin: 'http://attacker.example' }, 403],
      [{ ...JSON_HEADERS, 'Sec-Fetch-Site': 'cross-site' }, 403],
      [{ ...JSON_HEADERS, 'Sec-Fetch-Site': 'same-site' }, 403],
      [{ 'Content-Type': 'text/plain' }, 415],
      [{ 'Content-Type': 'application/x-www-form-urlencoded' }, 415],
    ];
    for (const [headers, status] of cases) {
      const res = await request(port, '/api/login', { method: 'POST', headers, body: credentials });
      assert.equal(res.status, status, JSON.stringify(headers));
      assert.equal(res.headers['set-cookie'], undefined);
    }
    const sameOrigin = await request(port, '/api/login', { method: 'POST', headers: { ...JSON_HEADERS, Origin: `http://127.0.0.1:${port}`, 'Sec-Fetch-Site': 'same-origin' }, body: credentials });
    assert.equal(sameOrigin.status, 200);
  });

  test('wrong passwords: 401 LOGIN_FAILED; bodies too large refused', async () => {
    const big = await request(port, '/api/login', { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify({ name: 'x', password: 'y'.repeat(20_000) }) });
    assert.equal(big.status, 413);
    for (let i = 0; i < 3; i++) {
      const res = await request(port, '/api/login', { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify({ name: 'listener', password: `guess ${i}` }) });
      assert.equal(res.status, 401);
      assert.equal(errorCode(res), 'LOGIN_FAILED');
    }
  });
});

describe('web logins and the shared login throttle (real accounts)', () => {
  test('failures count in the one throttle shared with v2 and Subsonic (by address and by name); no second, web-only limit refuses the right password', async () => {
    const dataDir = await harness.tempDir('as-web-accounts-');
    const database = harness.adopt(ServerDatabase.open(dataDir));
    const secret = await loadServerSecret(dataDir);
    const store = new SqliteAccountStore(database, secret);
    await store.add({ name: 'ann', role: 'listener', scram: deriveScramCredential('pencil-secret', { iterations: 4096 }), created: new Date().toISOString() });
    // A short wait, so that six failures take milliseconds; the doubling is the real one.
    const throttle = new LoginThrottle({ baseDelayMs: 1, maxDelayMs: 50 });
    const authenticator = new Authenticator({ store, serverSecret: secret, throttle, iterations: 4096 });
    const library = await harness.openLibrary(await harness.sampleLibrary());
    const { port: webPort } = await harness.start(library, { auth: accountsWebAuthenticator(authenticator), authenticator });
    const attempt = (password: string) => request(webPort, '/api/login', { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify({ name: 'ann', password }) });
    for (let i = 0; i < 6; i++) assert.equal((await attempt(`guess ${i}`)).status, 401);
    assert.ok(throttle.delayFor('127.0.0.1', 'nobody') > 0, 'the web failures slow this address on every interface');
    assert.ok(throttle.delayFor('192.0.2.7', 'ann') > 0, 'and this name from any address');
    const right = await attempt('pencil-secret');
    assert.equal(right.status, 200, `after the throttle's wait the right password logs in: ${right.body.toString()}`);
    assert.equal(throttle.delayFor('192.0.2.7', 'ann'), 0, "a success clears the name's failures (the address's stay: the throttle's rule)");
  });
});

describe('web interface without accounts', () => {
  test('no login is asked: the API and files answer at once', async () => {
    const library = await harness.openLibrary(await harness.sampleLibrary());
    const { port } = await harness.start(library);
    assert.deepEqual(JSON.parse((await request(port, '/api/session')).body.toString()), { loginRequired: false, user: null, csrfToken: null });
    assert.equal((await request(port, '/api/artists')).status, 200);
    const cross = await request(port, '/api/logout', { method: 'POST', headers: { ...JSON_HEADERS, Origin: 'http://attacker.example' }, body: '{}' });
    assert.equal(cross.status, 403, 'state-changing requests from another origin are refused even so');
  });
});

describe('HTTPS (a real openssl-made certificate)', () => {
  test('the session cookie is Secure under TLS, and files are served over it', async () => {
    const dir = await harness.tempDir();
    const certFile = path.join(dir, 'cert.pem');
    const keyFile = path.join(dir, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    const library = await harness.openLibrary(await harness.sampleLibrary());
    const { port, server } = await harness.start(library, { auth: new TestAuthenticatorWithFixedAccount(), tls: { certFile, keyFile } });
    assert.equal(server.secure, true);
    const login = await request(port, '/api/login', { method: 'POST', headers: { ...JSON_HEADERS, Origin: `https://127.0.0.1:${port}` }, body: credentials, tls: true });
    assert.equal(login.status, 200);
    assert.match(login.headers['set-cookie']![0]!, /; HttpOnly; SameSite=Strict; Max-Age=\d+; Secure$/);
    const id = library.store.track('Singles/Short Beep.wav')!.id;
    const res = await request(port, `/files/${id}`, { headers: { Cookie: cookieOf(login), Range: 'bytes=0-3' }, tls: true });
    assert.equal(res.status, 206);
    assert.equal(res.body.toString('latin1'), 'RIFF');
    const http = await request(port, '/api/session').catch((err: Error) => err);
    assert.ok(http instanceof Error || http.status === 400, 'plain HTTP on the TLS port gets nothing useful');
  });

  test('an unreadable certificate is a USAGE error naming the flags', async () => {
    const library = await harness.openLibrary(await harness.sampleLibrary());
    await assert.rejects(harness.start(library, { tls: { certFile: '/nonexistent/cert.pem', keyFile: '/nonexistent/key.pem' } }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'USAGE');
      assert.match(err.message, /--tls-cert and --tls-key/);
      return true;
    });
  });
});
