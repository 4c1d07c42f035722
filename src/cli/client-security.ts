import fs from 'node:fs/promises';
import { TlsTrust, loginWithScram, type ClientConnectionOptions } from '../client/index.js';
import { AudioStreamError } from '../protocol/index.js';
import { askYesNo, readFirstLine, readPassword } from './password-input.js';
import { clientStateDir } from './xdg-dirs.js';

export interface ClientSecurityFlags {
  host: string;
  port: number;
  tls?: boolean;
  ca?: string;
  trustNewServer?: boolean;
  user?: string;
  passwordFile?: string;
  interactive: boolean;
}

/**
 * TLS and login options for the client's connection from its flags. The password comes from
 * AS_PASSWORD, `--password-file`, or the terminal (asked once, before the shell starts, and
 * kept for reconnections); never from the command line.
 */
export async function clientSecurityOptions(flags: ClientSecurityFlags): Promise<Pick<ClientConnectionOptions, 'tls' | 'login'>> {
  const options: Pick<ClientConnectionOptions, 'tls' | 'login'> = {};
  if (flags.ca !== undefined || flags.trustNewServer) flags.tls = true;
  if (flags.tls) {
    let ca: Buffer | undefined;
    if (flags.ca !== undefined) {
      try {
        ca = await fs.readFile(flags.ca);
      } catch (err) {
        throw new AudioStreamError('USAGE', `cannot read --ca ${flags.ca}: ${(err as NodeJS.ErrnoException).code ?? err}`);
      }
    }
    const trust = new TlsTrust({
      host: flags.host,
      port: flags.port,
      ...(ca ? { ca } : {}),
      stateDir: clientStateDir(),
      newServer: flags.trustNewServer ? 'accept' : flags.interactive ? 'ask' : 'refuse',
      ask: (question) => askYesNo(question),
      notice: (line) => process.stderr.write(`${line}\n`),
    });
    options.tls = { connectOptions: trust.connectOptions(), verify: (socket) => trust.verify(socket) };
  }
  if (flags.user !== undefined) {
    const password = await obtainPassword(flags);
    const credentials = { username: flags.user, password };
    options.login = (exchange) => loginWithScram(exchange, credentials);
  }
  return options;
}

async function obtainPassword(flags: ClientSecurityFlags): Promise<string> {
  const fromEnv = process.env.AS_PASSWORD;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  if (flags.passwordFile !== undefined) {
    let handle;
    try {
      handle = await fs.open(flags.passwordFile, 'r');
    } catch (err) {
      throw new AudioStreamError('USAGE', `cannot read --password-file ${flags.passwordFile}: ${(err as NodeJS.ErrnoException).code ?? err}`);
    }
    try {
      const password = await readFirstLine(handle.createReadStream({ autoClose: false }));
      if (password === '') throw new AudioStreamError('USAGE', `--password-file ${flags.passwordFile} is empty`);
      return password;
    } finally {
      await handle.close();
    }
  }
  if (!process.stdin.isTTY) throw new AudioStreamError('USAGE', `no password for ${flags.user}: set AS_PASSWORD or pass --password-file FILE (standard input carries the commands)`);
  return readPassword(`password for ${flags.user}: `);
}
