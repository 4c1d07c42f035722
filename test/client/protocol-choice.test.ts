/**
 * `as-client --protocol auto|v1|v2`: v1 and v2 skip the probe; a wrong value is a usage
 * error. Against our real server and the starter-code v1 server double.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ClientConnection } from '../../src/client/index.js';
import { isAudioStreamError } from '../../src/protocol/index.js';
import { startStarterCodeV1Server, type StarterCodeV1Server } from '../doubles/starter-code-v1-server.js';
import { makeTempDir, removeDir, sha256File } from './support/files.js';
import { startServer, type RunningServer } from './support/loopback-server.js';
import { SAMPLE_LIBRARY } from './support/paths.js';
import { clientArgs, describeRun, runClient } from './support/run-client.js';

let work: string;
let ours: RunningServer;
let starter: StarterCodeV1Server;
before(async () => {
  work = await makeTempDir('protocol-choice');
  ours = await startServer(SAMPLE_LIBRARY);
  starter = await startStarterCodeV1Server({ root: SAMPLE_LIBRARY });
});
after(async () => {
  await ours?.close();
  await starter?.close();
  await removeDir(work);
});

describe('as-client --protocol', () => {
  test('v1 against the starter-code v1 server double: no HELLO at all, and get works', { timeout: 20_000 }, async () => {
    const before = starter.console.length;
    const run = await runClient([...clientArgs(starter.port, path.join(work, 'v1-starter'), 'true'), '--protocol', 'v1'], 'list\nget 0\n');
    assert.equal(run.code, 0, describeRun(run));
    assert.deepEqual(starter.console.slice(before), ['LIST', 'STREAM 0'], 'no HELLO was sent');
    assert.equal(await sha256File(path.join(work, 'v1-starter', starter.files[0]!)), await sha256File(path.join(SAMPLE_LIBRARY, starter.files[0]!)));
  });

  test('v1 against our server: the v1 listing (paths, no tags) and a whole-file get', { timeout: 20_000 }, async () => {
    const run = await runClient([...clientArgs(ours.port, path.join(work, 'v1-ours'), 'true'), '--protocol', 'v1'], 'list\nget 4\n');
    assert.equal(run.code, 0, describeRun(run));
    assert.match(run.stdout, /^4  Singles\/Short Beep\.wav$/m, 'v1 shows paths');
    assert.match(run.stdout, /^saved Singles\/Short Beep\.wav \((?!.*verified).*\)$/m, 'not verified: v1 has no hashes');
  });

  test('v2 against our server: tags listed and the get verified', { timeout: 20_000 }, async () => {
    const run = await runClient([...clientArgs(ours.port, path.join(work, 'v2-ours'), 'true'), '--protocol', 'v2'], 'get 4\n');
    assert.equal(run.code, 0, describeRun(run));
    assert.match(run.stdout, /^saved Singles\/Short Beep\.wav \(.*, verified\)$/m);
  });

  test('a value other than auto, v1 or v2: one usage line and exit status 2', { timeout: 20_000 }, async () => {
    const run = await runClient([...clientArgs(ours.port, path.join(work, 'bad'), 'true'), '--protocol', 'v3'], 'list\n');
    assert.equal(run.code, 2, describeRun(run));
    assert.equal(run.stderr, 'as-client: --protocol must be auto, v1, v2, not "v3"\n');
  });

  test('ClientConnection protocol v2 against a server that only speaks v1: TIMEOUT that says to try auto', { timeout: 20_000 }, async () => {
    const connection = new ClientConnection({ host: '127.0.0.1', port: starter.port, protocol: 'v2', idleTimeoutMs: 500 });
    try {
      await assert.rejects(connection.list(), (err) => isAudioStreamError(err, 'TIMEOUT') && /may speak only protocol v1 \(try --protocol auto\)/.test((err as Error).message));
    } finally {
      connection.close();
    }
  });
});
