import { X509Certificate } from 'node:crypto';
import fs from 'node:fs/promises';
import { Authenticator, LoginThrottle, checkAccountsMark } from '../accounts/index.js';
import type { ServerDatabase } from '../library/index.js';
import { AudioStreamError } from '../protocol/index.js';
import { AccessPolicy, DEFAULT_ALLOW_V1_FROM, createServerTlsContext, type AudioServerOptions } from '../server/index.js';
import { openAccountStore } from './user-command.js';

/**
 * The server's accounts (in its database, the handle the library uses too), policy and TLS
 * from its flags: `--allow-v1-from`, `--tls-cert`, `--tls-key`, `--require-tls`. Every file error is one USAGE
 * line naming the file.
 */
export async function loadServerSecurity(flags: {
  database: ServerDatabase;
  dataDir: string;
  log: (line: string) => void;
  tlsCert?: string;
  tlsKey?: string;
  allowV1From?: string[];
  requireTls?: boolean;
}): Promise<{
  serverOptions: Pick<AudioServerOptions, 'access' | 'tls' | 'requireTls'>;
  /** Every interface's logins go through this one (the web page's too). */
  authenticator: Authenticator;
  describe(): Promise<string[]>;
}> {
  let opened;
  try {
    opened = await openAccountStore(flags.database, flags.dataDir, flags.log);
    await checkAccountsMark(opened.store, flags.dataDir);
  } catch (err) {
    if (err instanceof AudioStreamError) throw err;
    throw new AudioStreamError('USAGE', `cannot use the data directory: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message} (pass --data DIR)`);
  }
  const allow = flags.allowV1From === undefined ? DEFAULT_ALLOW_V1_FROM : flags.allowV1From.flatMap((a) => a.split(/[\s,]+/)).filter((a) => a && a !== 'none');
  const authenticator = new Authenticator({ store: opened.store, serverSecret: opened.secret, throttle: new LoginThrottle() });
  const access = new AccessPolicy({ authenticator, allowV1From: allow });
  if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined)) throw new AudioStreamError('USAGE', '--tls-cert and --tls-key go together');
  let tls: ReturnType<typeof createServerTlsContext> | undefined;
  let fingerprint: string | undefined;
  if (flags.tlsCert !== undefined && flags.tlsKey !== undefined) {
    const read = async (file: string, what: string): Promise<Buffer> => {
      try {
        return await fs.readFile(file);
      } catch (err) {
        throw new AudioStreamError('USAGE', `cannot read the TLS ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`);
      }
    };
    const cert = await read(flags.tlsCert, 'certificate');
    const key = await read(flags.tlsKey, 'key');
    try {
      tls = createServerTlsContext(cert, key);
      fingerprint = new X509Certificate(cert).fingerprint256;
    } catch (err) {
      // OpenSSL's own words name the problem (wrong format, key does not match); they hold no key bytes.
      throw new AudioStreamError('USAGE', `the TLS certificate or key cannot be used: ${(err as Error).message}`);
    }
  }
  return {
    serverOptions: { access, ...(tls ? { tls } : {}), ...(tls && flags.requireTls ? { requireTls: access } : {}) },
    authenticator,
    describe: async () => {
      const lines: string[] = [];
      const users = await opened.store.list();
      lines.push(users.length === 0 ? 'no accounts: everyone who can reach the port is served (as-server user add NAME)' : `${users.length} account(s): v2 requires a login; v1 served only to ${access.v1AllowedText}`);
      if (fingerprint) lines.push(`TLS on the same port, certificate SHA-256 ${fingerprint}`);
      if (tls && flags.requireTls) lines.push(`TLS required: plain-text v2 is refused; plain v1 is served only to ${access.v1AllowedText}`);
      return lines;
    },
  };
}
