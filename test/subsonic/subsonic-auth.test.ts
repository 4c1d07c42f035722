/**
 * Subsonic logins against real accounts (file-backed store, Authenticator): every scheme,
 * wrong credentials, conflicting and unsupported mechanisms, and failures counted in the
 * LoginThrottle every other interface uses. Errors are in the envelope with HTTP 200.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WebHarness } from '../http/support/web-harness.js';
import { APP_PASSWORD, assertValidJson, assertValidXml, LOGIN_PASSWORD, md5, rest, startSubsonicServer, subsonicClient, USER, type Recorded, type SubsonicServer } from './support/subsonic-harness.js';

const harness = new WebHarness();
after(() => harness.cleanup());

async function errorOf(server: SubsonicServer, params: Record<string, string>): Promise<number | undefined> {
  const answer = await rest(server, 'ping.view', { v: '1.16.1', c: 'test', f: 'json', ...params });
  assert.equal(answer.status, 200);
  const envelope = assertValidJson('ping', answer.text) as { status: string; error?: { code: number } };
  assert.equal(envelope.status, envelope.error ? 'failed' : 'ok');
  return envelope.error?.code;
}

describe('Subsonic logins with real accounts', () => {
  let server: SubsonicServer;

  before(async () => {
    server = await startSubsonicServer(harness);
  });

  test('u + p: the login password, plain and enc:HEX; the app password is not a p password', async () => {
    assert.equal(await errorOf(server, { u: USER, p: LOGIN_PASSWORD }), undefined);
    assert.equal(await errorOf(server, { u: USER, p: `enc:${Buffer.from(LOGIN_PASSWORD).toString('hex')}` }), undefined);
    assert.equal(await errorOf(server, { u: USER, p: `enc:${Buffer.from(LOGIN_PASSWORD).toString('hex').toUpperCase()}` }), undefined);
    assert.equal(await errorOf(server, { u: USER, p: 'wrong' }), 40);
    assert.equal(await errorOf(server, { u: USER, p: 'enc:zz' }), 40);
    assert.equal(await errorOf(server, { u: 'nobody', p: LOGIN_PASSWORD }), 40);
  });

  test('u + t + s: md5(app password + salt) logs in (the client library does this); md5(login password + salt) does not', async () => {
    const recorded: Recorded[] = [];
    const ping = await subsonicClient(server, recorded).ping();
    assert.equal(ping.status, 'ok');
    assert.ok(recorded[0]!.url.searchParams.has('t') && recorded[0]!.url.searchParams.has('s'), 'the client sent a token');
    assert.equal(await errorOf(server, { u: USER, t: md5(APP_PASSWORD + 'abc123'), s: 'abc123' }), undefined);
    assert.equal(await errorOf(server, { u: USER, t: md5(APP_PASSWORD + 'abc123').toUpperCase(), s: 'abc123' }), undefined);
    assert.equal(await errorOf(server, { u: USER, t: md5(APP_PASSWORD + 'abc123'), s: 'other' }), 40);
    assert.equal(await errorOf(server, { u: USER, t: md5(LOGIN_PASSWORD + 'abc123'), s: 'abc123' }), 40);
    assert.equal(await errorOf(server, { u: 'noapp', t: md5(LOGIN_PASSWORD + 'abc123'), s: 'abc123' }), 40, 'an account without an app password cannot use tokens');
    assert.equal(await errorOf(server, { u: 'nobody', t: md5('x' + 'abc123'), s: 'abc123' }), 40);
    assert.equal(await errorOf(server, { u: USER, t: 'not-hex', s: 'abc123' }), 40);
    const wrong = await subsonicClient(server, [], { password: 'guess' }).ping();
    assert.equal((wrong as { status: string }).status, 'failed');
  });

  test('missing and conflicting mechanisms, unknown API keys: 10, 43, 44; in XML too, valid for the XSD', async () => {
    assert.equal(await errorOf(server, {}), 10);
    assert.equal(await errorOf(server, { u: USER }), 10);
    assert.equal(await errorOf(server, { u: USER, t: md5(APP_PASSWORD + 'x') }), 10, 't without s');
    assert.equal(await errorOf(server, { p: LOGIN_PASSWORD }), 10);
    assert.equal(await errorOf(server, { u: USER, p: LOGIN_PASSWORD, t: md5(APP_PASSWORD + 'x'), s: 'x' }), 43);
    assert.equal(await errorOf(server, { apiKey: 'k', u: USER }), 43);
    assert.equal(await errorOf(server, { apiKey: 'k' }), 44, 'no account has this key');
    const xml = await rest(server, 'getArtists', { u: USER, p: 'wrong' });
    assert.equal(xml.status, 200);
    assert.match(xml.text, /status="failed".*<error code="40" message="wrong username or password/);
    await assertValidXml(harness, xml.text);
  });

  test('an endpoint that needs a login answers nothing of the library without one', async () => {
    const answer = await rest(server, 'getAlbumList2', { type: 'newest', f: 'json', u: USER, p: 'wrong' });
    assert.doesNotMatch(answer.text, /albumList2/);
    const stream = await rest(server, 'stream', { id: 'tr-1', u: USER, p: 'wrong' });
    assert.match(stream.contentType, /^text\/xml/);
    assert.match(stream.text, /<error code="40"/);
  });

  test('failures are counted in the shared LoginThrottle (the one TCP and web logins use); a success clears the account', async () => {
    const before = server.throttle.failuresFrom('127.0.0.1');
    assert.equal(await errorOf(server, { u: 'victim', p: 'guess1' }), 40);
    assert.equal(await errorOf(server, { u: 'victim', t: md5('guess2' + 's'), s: 's' }), 40);
    assert.equal(server.throttle.failuresFrom('127.0.0.1'), before + 2);
  });
});

describe('Subsonic logins share the throttle delay with the other interfaces', () => {
  test('after Subsonic failures a web-style password check for the same name waits (shared LoginThrottle)', async () => {
    const server = await startSubsonicServer(harness, { throttle: { baseDelayMs: 200, maxDelayMs: 400 } });
    assert.equal(await errorOf(server, { u: USER, p: 'guess' }), 40);
    // Another address, same account: the account's count is what delays it.
    assert.ok(server.throttle.delayFor('10.9.9.9', USER) > 0, 'the account is throttled for every interface');
    const started = Date.now();
    assert.ok(await server.authenticator.verifyPassword('10.9.9.9', USER, LOGIN_PASSWORD));
    assert.ok(Date.now() - started >= 150, 'the next login of that account, on any interface, was held');
  });

  test('without accounts the API is open, as the other interfaces are, but no other origin may read it (no CORS header)', async () => {
    const server = await startSubsonicServer(harness, { accounts: false });
    assert.equal(await errorOf(server, { u: 'anyone', p: 'anything' }), undefined);
    const answer = await rest(server, 'getArtists', { u: 'anyone', p: 'x' }, { headers: { Origin: 'https://evil.example' } });
    assert.equal(answer.headers.get('access-control-allow-origin'), null);
    assert.equal(answer.headers.get('cross-origin-resource-policy'), 'same-origin');
  });

  test('with accounts other origins may call the API (credentials are in every request, never in cookies)', async () => {
    const server = await startSubsonicServer(harness);
    const answer = await rest(server, 'ping', { u: USER, p: LOGIN_PASSWORD }, { headers: { Origin: 'https://app.example' } });
    assert.equal(answer.headers.get('access-control-allow-origin'), '*');
  });
});
