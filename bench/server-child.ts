/**
 * A server for the bench, in its own process so that server and readers use both cores
 * as they would in real life. Started by bench/harness/bench-server.ts; see
 * harness/server-messages.ts for what passes over IPC.
 */
import type { Server } from 'node:net';
import { Library, ServerDatabase } from '../src/library/index.js';
import fs from 'node:fs';
import { Authenticator, SqliteAccountStore, loadServerSecret } from '../src/accounts/index.js';
import { AccessPolicy, AudioServer, createServerTlsContext } from '../src/server/index.js';
import { createBaselineServer } from './baseline-server.js';
import type { FromServerChild, ServerChildConfig, ToServerChild } from './harness/server-messages.js';

const config = JSON.parse(process.argv[2] ?? '{}') as ServerChildConfig;
const send = (message: FromServerChild): void => {
  process.send?.(message);
};
// The bench went away (even killed): so do we.
process.on('disconnect', () => process.exit(0));

let library: Library | undefined;
let ours: AudioServer | undefined;
let baseline: Server | undefined;

async function start(): Promise<void> {
  if (config.kind === 'ours') {
    const started = performance.now();
    library = await Library.open(config.root!, { rescanIntervalMs: 0 });
    const scanMs = performance.now() - started;
    const tls = config.tlsCertFile && config.tlsKeyFile ? createServerTlsContext(fs.readFileSync(config.tlsCertFile), fs.readFileSync(config.tlsKeyFile)) : undefined;
    let access: AccessPolicy | undefined;
    if (config.dataDir) {
      const secret = await loadServerSecret(config.dataDir);
      access = new AccessPolicy({ authenticator: new Authenticator({ store: new SqliteAccountStore(ServerDatabase.open(config.dataDir), secret), serverSecret: secret }) });
    }
    ours = new AudioServer({ library, ...(config.readChunkSize ? { readChunkSize: config.readChunkSize } : {}), ...(tls ? { tls } : {}), ...(access ? { access } : {}) });
    const address = await ours.listen(0, '127.0.0.1');
    send({ type: 'listening', port: address.port, scanMs, files: library.current.v1Entries.length });
  } else {
    baseline = createBaselineServer(config.files ?? [], config.chunkSize);
    await new Promise<void>((resolve) => baseline!.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, resolve));
    const address = baseline.address() as { port: number };
    send({ type: 'listening', port: address.port, scanMs: 0, files: config.files?.length ?? 0 });
  }
}

process.on('message', (message: ToServerChild) => {
  void (async () => {
    switch (message.type) {
      case 'rescan': {
        const before = library!.current;
        const started = performance.now();
        const after = await library!.rescan();
        send({ type: 'rescanned', ms: performance.now() - started, changed: after !== before, files: after.v1Entries.length });
        return;
      }
      case 'settle': {
        // The background tag pass that follows each scan (Library.open reads tags by default).
        const started = performance.now();
        await library!.tagsSettled();
        send({ type: 'settled', ms: performance.now() - started });
        return;
      }
      case 'connections': {
        // The baseline does not count: ask the kernel-facing server instead.
        const count = ours ? ours.connectionCount : await new Promise<number>((resolve) => baseline!.getConnections((_, n) => resolve(n)));
        send({ type: 'connections', count });
        return;
      }
      case 'stop': {
        library?.close();
        const closing = ours ? ours.close() : new Promise<void>((resolve) => baseline!.close(() => resolve()));
        // Baseline connections are not tracked: do not wait on them past a moment.
        await Promise.race([closing, new Promise((resolve) => setTimeout(resolve, 2000))]);
        process.exit(0); // also writes the --cpu-prof profile, if any
      }
    }
  })().catch((err) => send({ type: 'failed', message: String((err as Error)?.stack ?? err) }));
});

start().catch((err) => {
  send({ type: 'failed', message: String((err as Error)?.stack ?? err) });
  process.exit(1);
});
