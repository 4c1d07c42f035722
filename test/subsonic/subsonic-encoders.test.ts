/**
 * One response shape, two renderings: the XML and JSON of the same tree, byte for byte, so a
 * drift in either encoder fails here; tag text that XML cannot carry is made safe.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encodeError, encodeResponse, SubsonicError, SubsonicErrorCode } from '../../src/subsonic/index.js';

const ALBUM = {
  name: 'album',
  body: { id: 'al-1', name: 'A & B <"live">', songCount: 1, duration: 3, created: '2026-01-01T00:00:00.000Z', song: [{ id: 'tr-1', isDir: false, title: 'x\ty' }] },
};

describe('Subsonic encoders', () => {
  test('XML: attributes for fields, elements for objects and lists, in order; JSON: the same tree under subsonic-response', () => {
    assert.equal(
      encodeResponse('xml', '9.9.9', ALBUM),
      '<?xml version="1.0" encoding="UTF-8"?><subsonic-response xmlns="http://subsonic.org/restapi" status="ok" version="1.16.1" type="audiostream" serverVersion="9.9.9" openSubsonic="true">' +
        '<album id="al-1" name="A &amp; B &lt;&quot;live&quot;&gt;" songCount="1" duration="3" created="2026-01-01T00:00:00.000Z"><song id="tr-1" isDir="false" title="x&#9;y"/></album></subsonic-response>',
    );
    assert.deepEqual(JSON.parse(encodeResponse('json', '9.9.9', ALBUM)), {
      'subsonic-response': { status: 'ok', version: '1.16.1', type: 'audiostream', serverVersion: '9.9.9', openSubsonic: true, album: ALBUM.body },
    });
  });

  test('text content, primitive lists and undefined fields', () => {
    const xml = encodeResponse('xml', '1.0.0', { name: 'genres', body: { genre: [{ songCount: 2, albumCount: 1, value: 'Rock & Roll' }] } });
    assert.match(xml, /<genres><genre songCount="2" albumCount="1">Rock &amp; Roll<\/genre><\/genres>/);
    const extensions = encodeResponse('xml', '1.0.0', { name: 'openSubsonicExtensions', body: [{ name: 'formPost', versions: [1, 2] }] });
    assert.match(extensions, /<openSubsonicExtensions name="formPost"><versions>1<\/versions><versions>2<\/versions><\/openSubsonicExtensions>/);
    assert.doesNotMatch(encodeResponse('xml', '1.0.0', { name: 'song', body: { id: 'tr-1', album: undefined } }), /album=/);
  });

  test('characters XML 1.0 cannot carry (control characters, lone surrogates) are dropped from XML, escaped in JSON', () => {
    const body = { name: 'song', body: { id: 'tr-1', isDir: false, title: 'a\u0001b\uD800c' } };
    assert.match(encodeResponse('xml', '1.0.0', body), / title="abc"/);
    assert.equal(JSON.parse(encodeResponse('json', '1.0.0', body))['subsonic-response'].song.title, 'a\u0001b\uD800c');
  });

  test('an error: status failed, the code and message', () => {
    const error = new SubsonicError(SubsonicErrorCode.NOT_FOUND, 'album not found');
    assert.match(encodeError('xml', '1.0.0', error), /status="failed".*<error code="70" message="album not found"\/><\/subsonic-response>$/);
    assert.deepEqual(JSON.parse(encodeError('json', '1.0.0', error))['subsonic-response'].error, { code: 70, message: 'album not found' });
  });
});
