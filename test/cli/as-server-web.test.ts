/**
 * as-server's web flags, on the real program: --http-port/--http-host start the web player
 * next to the TCP port (loopback by default), --http-port 0 turns it off, a port asked for
 * that is taken or a lone --tls-cert is a one-line USAGE error.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { ServerProcess, freePort } from '../library/support/server-process.js';
import { REPO_ROOT, SAMPLE_LIBRARY } from '../client/support/paths.js';
import { request } from '../http/support/web-harness.js';

const SERVER_BIN = path.join(REPO_ROOT, 'bin', 'as-server');
const scratch = await fsp.mkdtemp(path.join(os.tmpdir(), 'as-server-web-'));
const servers: ServerProcess[] = [];
after(async () => {
  for (const s of servers) await s.stop().catch(() => {});
  await fsp.rm(scratch, { recursive: true, force: true });
});

test('--http-port serves the player page and the API on 127.0.0.1 by default', { timeout: 30_000 }, async () => {
  const port = await freePort();
  const server = await ServerProcess.start(SAMPLE_LIBRARY, path.join(scratch, 'data-1'), '--http-port', String(port));
  servers.push(server);
  await server.waitForLog(new RegExp(`web player on http://127\\.0\\.0\\.1:${port}/`));
  const page = await request(port, '/');
  assert.equal(page.status, 200);
  assert.match(String(page.headers['content-security-policy']), /script-src 'self'/);
  assert.match(page.body.toString(), /<script type="module" src="\/assets\/app\.js">/);
  const session = JSON.parse((await request(port, '/api/session')).body.toString());
  assert.equal(session.loginRequired, false);
});

test('--http-port 0 turns the web port off', { timeout: 30_000 }, async () => {
  const server = await ServerProcess.start(SAMPLE_LIBRARY, path.join(scratch, 'data-2'), '--http-port', '0');
  servers.push(server);
  assert.doesNotMatch(server.log, /web player/);
});

test('a web port asked for that is taken, or --tls-cert without --tls-key: one line, exit 2', { timeout: 30_000 }, async () => {
  const holder = net.createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  const taken = (holder.address() as net.AddressInfo).port;
  try {
    const run = spawnSync(process.execPath, [SERVER_BIN, '-p', '0', '-l', SAMPLE_LIBRARY, '--data', path.join(scratch, 'data-3'), '--http-port', String(taken)], { encoding: 'utf8', input: '' });
    assert.equal(run.status, 2);
    assert.match(run.stderr, new RegExp(`as-server: web port ${taken} is already in use: stop the other server or pass --http-port PORT\\n$`));
  } finally {
    holder.close();
  }
  const lone = spawnSync(process.execPath, [SERVER_BIN, '-p', '0', '-l', SAMPLE_LIBRARY, '--tls-cert', '/x.pem'], { encoding: 'utf8', input: '' });
  assert.equal(lone.status, 2);
  assert.equal(lone.stderr, 'as-server: --tls-cert and --tls-key go together: pass both, or neither\n');
});
