import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ACCOUNTS_COMPONENT, ACCOUNTS_MIGRATIONS, SqliteAccountStore, loadServerSecret } from '../../src/accounts/index.js';
import { ServerDatabase } from '../../src/library/index.js';
import { ClientConnection, loginWithScram } from '../../src/client/index.js';
import { deriveScramCredential } from '../../src/protocol/index.js';
import { BenchServer } from '../harness/bench-server.js';
import type { BenchContext, ScenarioResult } from '../harness/context.js';
import { GiB, benchTempDir, libraryOfOne } from '../harness/fixtures.js';
import { readProcSample } from '../harness/proc.js';
import type { Scope } from '../harness/scope.js';
import { readStream } from '../harness/socket-readers.js';
import { fmtRate, interleaved, mbPerSecond, median } from '../harness/stats.js';

const RUNS = 9;
const LOGINS = 30;

/**
 * Scenario 10: the cost of security. One 1 GiB STREAM over TLS against plain TCP on the same
 * server and port (throughput, server CPU), and a SCRAM-SHA-256 login on loopback (round
 * trips and time, with the default 100,000 iterations).
 */
export async function tlsAndLogin(ctx: BenchContext, scope: Scope): Promise<ScenarioResult> {
  const { root } = libraryOfOne('one-big', 'big-1GiB.flac', GiB);
  const dir = path.join(benchTempDir(), 'tls');
  fs.mkdirSync(dir, { recursive: true });
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  if (!fs.existsSync(cert)) {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '30', '-subj', '/CN=bench', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  }
  const server = await BenchServer.start(scope, { kind: 'ours', root, tlsCertFile: cert, tlsKeyFile: key });
  const tlsOptions = { ca: fs.readFileSync(cert) };
  const once = async (secure: boolean) => {
    const cpuBefore = readProcSample(server.pid)?.cpuMs ?? 0;
    const r = await readStream(server.port, 0, { timeoutMs: 120_000, signal: scope.signal, ...(secure ? { tls: tlsOptions } : {}) });
    const cpuMs = (readProcSample(server.pid)?.cpuMs ?? 0) - cpuBefore;
    if (r.bytes !== GiB) throw new Error(`STREAM over ${secure ? 'TLS' : 'TCP'}: ${r.bytes} bytes of ${GiB}`);
    return { ms: r.ms, mbs: mbPerSecond(r.bytes, r.ms), serverCpuMs: cpuMs };
  };
  await once(true);
  await once(false);
  const runs = ctx.runs(RUNS);
  ctx.log(`1 GiB STREAM over TLS and plain TCP: ${runs} runs each, interleaved`);
  const { a: secure, b: plain } = await interleaved(runs, () => once(true), () => once(false));
  const ratio = median(secure.map((r, i) => r.mbs / plain[i]!.mbs));

  // Logins: a server with one account.
  const dataDir = path.join(dir, `data-${process.pid}`);
  const secret = await loadServerSecret(dataDir);
  const database = ServerDatabase.open(dataDir, { components: { [ACCOUNTS_COMPONENT]: ACCOUNTS_MIGRATIONS } });
  const store = new SqliteAccountStore(database, secret);
  if (!(await store.find('bench'))) await store.add({ name: 'bench', role: 'listener', scram: deriveScramCredential('bench password'), created: new Date().toISOString() });
  database.close();
  const authServer = await BenchServer.start(scope, { kind: 'ours', root, dataDir });
  const connectMs = async (login: boolean): Promise<number> => {
    const c = new ClientConnection({ host: '127.0.0.1', port: authServer.port, ...(login ? { login: (exchange) => loginWithScram(exchange, { username: 'bench', password: 'bench password' }) } : {}) });
    const started = performance.now();
    await c.connect();
    const ms = performance.now() - started;
    c.close();
    return ms;
  };
  await connectMs(true);
  const logins = ctx.runs(LOGINS);
  ctx.log(`${logins} logins`);
  const { a: withLogin, b: helloOnly } = await interleaved(logins, () => connectMs(true), () => connectMs(false));
  const loginMs = median(withLogin);
  const helloMs = median(helloOnly);
  const cpu = (rs: { serverCpuMs: number }[]) => median(rs.map((r) => r.serverCpuMs));
  return {
    rows: [
      {
        id: '10a',
        scenario: 'STREAM 1 GiB over TLS against plain TCP (throughput)',
        ours: fmtRate(median(secure.map((r) => r.mbs))),
        oursValue: median(secure.map((r) => r.mbs)),
        baseline: fmtRate(median(plain.map((r) => r.mbs))),
        baselineValue: median(plain.map((r) => r.mbs)),
        ratio,
        // A figure, not a target: on two cores both ends' AES-GCM share them with everything else.
        target: 'figure',
        pass: null,
        unit: 'MB/s',
        samples: { tls: secure, plain },
      },
      {
        id: '10b',
        scenario: 'STREAM 1 GiB over TLS against plain TCP: server CPU time',
        ours: `${cpu(secure).toFixed(0)} ms`,
        oursValue: cpu(secure),
        baseline: `${cpu(plain).toFixed(0)} ms`,
        baselineValue: cpu(plain),
        ratio: cpu(plain) / cpu(secure),
        target: 'figure',
        pass: null,
        unit: 'ms',
      },
      {
        id: '10c',
        scenario: 'connect + HELLO + SCRAM login (2 round trips after HELLO) against connect + HELLO',
        ours: `${loginMs.toFixed(1)} ms`,
        oursValue: loginMs,
        baseline: `${helloMs.toFixed(1)} ms`,
        baselineValue: helloMs,
        ratio: helloMs / loginMs,
        target: 'figure',
        pass: null,
        unit: 'ms',
        samples: { login: withLogin, hello: helloOnly },
      },
    ],
    notes: [
      'TLS: self-signed P-256 certificate, TLS 1.3 (AES-GCM); the reader verifies it against the certificate itself.',
      `Login: ${LOGINS} tries; the client's PBKDF2 of 100,000 iterations is most of the time, the server only computes HMACs.`,
    ],
  };
}
