/**
 * The page carries its first data (src/http/page-boot.ts): the session and, when the visitor
 * may browse, the first page of artists, in a `<script type="application/json">` data block,
 * so the first screenful needs no API round trip. Real server, real library and database.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { TestAuthenticatorWithFixedAccount, WebHarness, request, type Exchange } from './support/web-harness.js';

const harness = new WebHarness();
after(() => harness.cleanup());

const BOOT = /<script type="application\/json" id="boot">([^<]*)<\/script>/;

function bootOf(res: Exchange): { session: Record<string, unknown>; artists?: unknown } {
  const html = res.body.toString('utf8');
  const match = BOOT.exec(html);
  assert.ok(match, 'the page carries a JSON data block with id "boot"');
  return JSON.parse(match[1]!);
}

describe('the page with its first data inside', () => {
  test('no accounts: the session and the first 100 artists, as the API gives them; never cached', async () => {
    const library = await harness.openLibrary(await harness.sampleLibrary());
    const { port } = await harness.start(library);
    const page = await request(port, '/');
    assert.equal(page.status, 200);
    assert.equal(page.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(page.headers['cache-control'], 'no-store');
    assert.equal(page.headers.etag, undefined, 'the page differs by visitor: no validator');
    const boot = bootOf(page);
    assert.deepEqual(boot.session, JSON.parse((await request(port, '/api/session')).body.toString()));
    assert.deepEqual(boot.artists, JSON.parse((await request(port, '/api/artists?offset=0&limit=100')).body.toString()));
    const head = await request(port, '/', { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
  });

  test('with accounts: no artists before a login; after it, the user, the same CSRF token as /api/session, and the artists', async () => {
    const library = await harness.openLibrary(await harness.sampleLibrary());
    const { port } = await harness.start(library, { auth: new TestAuthenticatorWithFixedAccount() });
    const anonymous = bootOf(await request(port, '/'));
    assert.deepEqual(anonymous, { session: { loginRequired: true, user: null, csrfToken: null } });
    const login = await request(port, '/api/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: TestAuthenticatorWithFixedAccount.NAME, password: TestAuthenticatorWithFixedAccount.PASSWORD }),
    });
    const cookie = login.headers['set-cookie']![0]!.split(';')[0]!;
    const boot = bootOf(await request(port, '/', { headers: { Cookie: cookie } }));
    const session = JSON.parse((await request(port, '/api/session', { headers: { Cookie: cookie } })).body.toString());
    assert.deepEqual(boot.session, session);
    assert.equal(typeof session.csrfToken, 'string');
    assert.equal((boot.artists as { items: unknown[] }).items.length, 4);
  });

  test('a tag that reads as HTML cannot end the data block or add markup', async () => {
    const library = await harness.openLibrary(await harness.sampleLibrary());
    const hostile = '</script><script>alert(1)</script><!--';
    const entry = library.current.byPath('Singles/Short Beep.wav')!;
    library.store.putTags(entry, { title: 'Beep', artist: hostile, album: 'x' });
    library.store.flushTags();
    const { port } = await harness.start(library);
    const html = (await request(port, '/')).body.toString('utf8');
    assert.equal(html.split('<script').length - 1, 2, 'the module script and the data block, nothing more');
    assert.ok(!html.includes(hostile));
    const names = (bootOf(await request(port, '/')).artists as { items: { name: string }[] }).items.map((a) => a.name);
    assert.ok(names.includes(hostile), `artists: ${JSON.stringify(names)}`);
  });
});
