import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { ACCOUNTS_COMPONENT, ACCOUNTS_MIGRATIONS } from '../accounts/index.js';
import { USERDATA_COMPONENT, USERDATA_MIGRATIONS } from '../library/user-data-store.js';
import { DEFAULT_RESCAN_INTERVAL_MS, Library, openLibraryDatabase, type ServerDatabase } from '../library/index.js';
import { AudioStreamError, DEFAULT_MAX_REQUEST_LINE, DEFAULT_PORT } from '../protocol/index.js';
import {
  AudioServer,
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  createLogger,
} from '../server/index.js';
import { DEFAULT_HTTP_HOST, DEFAULT_HTTP_PORT, SqliteSessionStore, WEB_SESSIONS_COMPONENT, WEB_SESSIONS_MIGRATIONS, WebServer, accountsWebAuthenticator } from '../http/index.js';
import { exitWithError, parseCommandLine, parsePort, parseSeconds } from './args.js';
import { loadServerSecurity } from './server-security.js';
import { USER_HELP, runUserCommand } from './user-command.js';
import { serverDataDir } from './xdg-dirs.js';

const HELP = `Usage: as-server [options]
       as-server user add|passwd|remove|list ...   (accounts; as-server user --help)

Serves the audio files (.wav .mp3 .flac .ogg .m4a) under a directory over TCP.

Options:
  -p, --port PORT        port to listen on (default ${DEFAULT_PORT}; 0 picks a free one)
  -l, --library DIR      directory to serve (default ./library)
      --host ADDRESS     address to bind (default: all interfaces)
      --rescan SECONDS   rescan the library this often (default ${DEFAULT_RESCAN_INTERVAL_MS / 1000}; 0 = never)
      --data DIR         the server's data directory: library database, accounts, secret
                         (default: one folder per library under $XDG_DATA_HOME/audiostream,
                         ~/.local/share/audiostream)
      --rescan-now       scan before serving and read every file's tags again
      --max-request-line BYTES
                         longest request line accepted (default ${DEFAULT_MAX_REQUEST_LINE})
      --idle-timeout SECONDS
                         close connections silent this long (default ${DEFAULT_IDLE_TIMEOUT_MS / 1000}; 0 = never)
      --request-timeout SECONDS
                         a request begun must arrive whole within (default ${DEFAULT_REQUEST_TIMEOUT_MS / 1000}; 0 = no limit)
      --max-connections N
                         connections open at once (default ${DEFAULT_MAX_CONNECTIONS})
      --max-connections-per-address N
                         connections open at once from one address (default ${DEFAULT_MAX_CONNECTIONS_PER_ADDRESS})
      --tls-cert FILE    serve TLS too, on the same port (PEM certificate chain)
      --tls-key FILE     the certificate's private key (PEM)
      --require-tls      refuse v2 in plain text on that port (logins and listings only
                         over TLS); plain v1 only to --allow-v1-from, accounts or not
      --allow-v1-from CIDR...
                         once accounts exist, serve v1 (which cannot log in) only to these
                         addresses (default 127.0.0.0/8 ::1; "none" for nowhere)
      --http-port PORT   port of the web player and its API (default ${DEFAULT_HTTP_PORT}; 0 = off)
      --http-host ADDRESS
                         address the web port binds (default ${DEFAULT_HTTP_HOST}: this machine only)
  -q, --quiet            log warnings only, not each connection and request
  -h, --help             show this help

Stop it with q + Enter, Ctrl-C or SIGTERM. SIGHUP rescans fully (every file's tags read again).
`;

async function main(): Promise<void> {
  if (process.argv[2] === 'user') {
    await runUserCommand(process.argv.slice(3));
    return;
  }
  const args = parseCommandLine(process.argv.slice(2), {
    data: { type: 'string' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    'allow-v1-from': { type: 'string', multiple: true },
    'require-tls': { type: 'boolean' },
    port: { type: 'string', short: 'p' },
    library: { type: 'string', short: 'l' },
    host: { type: 'string' },
    rescan: { type: 'string' },
    'rescan-now': { type: 'boolean' },
    'max-request-line': { type: 'string' },
    'idle-timeout': { type: 'string' },
    'request-timeout': { type: 'string' },
    'max-connections': { type: 'string' },
    'max-connections-per-address': { type: 'string' },
    'http-port': { type: 'string' },
    'http-host': { type: 'string' },
    quiet: { type: 'boolean', short: 'q' },
    help: { type: 'boolean', short: 'h' },
  });
  if (args.help) {
    process.stdout.write(`${HELP}\n${USER_HELP}`);
    return;
  }
  const port = parsePort(args.port, DEFAULT_PORT);
  const root = args.library ?? 'library';
  const rescanIntervalMs = parseSeconds(args.rescan, DEFAULT_RESCAN_INTERVAL_MS / 1000, '--rescan') * 1000;
  const maxRequestLine = args['max-request-line'] === undefined ? DEFAULT_MAX_REQUEST_LINE : Number(args['max-request-line']);
  if (!Number.isInteger(maxRequestLine) || maxRequestLine < 16) {
    throw new AudioStreamError('USAGE', '--max-request-line must be a whole number of at least 16');
  }
  const idleTimeoutMs = parseSeconds(args['idle-timeout'], DEFAULT_IDLE_TIMEOUT_MS / 1000, '--idle-timeout') * 1000;
  const requestTimeoutMs = parseSeconds(args['request-timeout'], DEFAULT_REQUEST_TIMEOUT_MS / 1000, '--request-timeout') * 1000;
  const maxConnections = parseCount(args['max-connections'], DEFAULT_MAX_CONNECTIONS, '--max-connections');
  const maxConnectionsPerAddress = parseCount(args['max-connections-per-address'], DEFAULT_MAX_CONNECTIONS_PER_ADDRESS, '--max-connections-per-address');
  const log = createLogger({ quiet: args.quiet ?? false });
  const httpPort = parsePort(args['http-port'], DEFAULT_HTTP_PORT);
  const httpHost = args['http-host'] ?? DEFAULT_HTTP_HOST;
  if ((args['tls-cert'] === undefined) !== (args['tls-key'] === undefined)) {
    throw new AudioStreamError('USAGE', '--tls-cert and --tls-key go together: pass both, or neither');
  }
  if (args['require-tls'] && args['tls-cert'] === undefined) {
    throw new AudioStreamError('USAGE', '--require-tls needs a certificate: pass --tls-cert FILE and --tls-key FILE too');
  }
  const tls = args['tls-cert'] !== undefined ? { certFile: args['tls-cert'], keyFile: args['tls-key']! } : undefined;

  // Signals are handled from the very start, so a stop during start-up is clean too.
  let stopping = false;
  let library: Library | undefined;
  let server: AudioServer | undefined;
  let database: ServerDatabase | undefined;
  let web: WebServer | undefined;
  const stop = async (why: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.warn(`as-server: stopping (${why})`);
    library?.close();
    await Promise.all([server?.close(), web?.close()]);
    database?.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGHUP', () => {
    if (!library) return;
    log.warn('as-server: SIGHUP: full rescan (every file read again)');
    library.rescanFully().catch((err) => log.warn(`rescan failed: ${(err as Error).message ?? err}`));
  });

  const dataDir = serverDataDir(root, args.data);
  const openDatabase = (realRoot: string): ServerDatabase => {
    if (isInside(dataDir, realRoot)) {
      throw new AudioStreamError('USAGE', `--data ${dataDir} is inside the library: the server never writes into the music folder; pass a directory outside it`);
    }
    // One handle for the library, the accounts, the user data (Subsonic's stars,
    // playlists...) and the web sessions, all migrated at open.
    database = openLibraryDatabase(dataDir, {
      onSetAside: (message) => log.warn(message),
      onIntegrityCheck: (message) => log.warn(message),
      components: {
        [ACCOUNTS_COMPONENT]: ACCOUNTS_MIGRATIONS,
        [USERDATA_COMPONENT]: USERDATA_MIGRATIONS,
        [WEB_SESSIONS_COMPONENT]: WEB_SESSIONS_MIGRATIONS,
      },
    });
    return database;
  };

  library = await Library.open(root, {
    rescanIntervalMs,
    onSkip: (path, reason) => log.warn(`skipped ${JSON.stringify(path)}: ${reason}`),
    onChange: (index, previous) => log.info(`library rescanned: ${index.size} files (was ${previous.size})`),
    onScanError: (err) => log.warn(`rescan failed: ${(err as Error).message ?? err}`),
    onTagError: (err) => log.warn(`tags: ${err.message}`),
    database: openDatabase,
    rescanNow: args['rescan-now'] ?? false,
    onScanStart: ({ full }) => log.info(`scan started${full ? ' (full: every file read again)' : ''}`),
    onScanEnd: (scan) =>
      log.warn(
        `scan ended in ${(scan.ms / 1000).toFixed(2)} s: ${scan.files} files, ${scan.added} new, ${scan.changed} changed, ${scan.renamed} renamed, ${scan.removed} removed`,
      ),
    onTagPassEnd: (pass) => log.warn(`tags read from ${pass.files} file${pass.files === 1 ? '' : 's'} in ${(pass.ms / 1000).toFixed(2)} s`),
    onWatchError: (err) => log.warn(`cannot watch the library (${(err as NodeJS.ErrnoException).code ?? err}): changes show at the next periodic rescan`),
  });
  if (!database) throw new Error('the library opened no database');
  const security = await loadServerSecurity({ database, dataDir, log: (line) => log.warn(`as-server: ${line}`), tlsCert: args['tls-cert'], tlsKey: args['tls-key'], allowV1From: args['allow-v1-from'], requireTls: args['require-tls'] ?? false });
  server = new AudioServer({ library, log, maxRequestLine, idleTimeoutMs, requestTimeoutMs, maxConnections, maxConnectionsPerAddress, ...security.serverOptions });
  let address;
  try {
    address = await server.listen(port, args.host);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new AudioStreamError('USAGE', `port ${port} is already in use: stop the other server or pass -p PORT`);
    if (code === 'EACCES') throw new AudioStreamError('USAGE', `no permission to listen on port ${port}: use a port above 1023`);
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new AudioStreamError('USAGE', `cannot bind to host "${args.host}": not an address of this machine`);
    throw err;
  }
  web = await startWeb();
  const where = address.family === 'IPv6' ? `[${address.address}]:${address.port}` : `${address.address}:${address.port}`;
  const count = library.current.size;
  log.warn(`as-server: serving ${count} file${count === 1 ? '' : 's'} from ${root} on ${where} (database ${database?.file})${process.stdin.isTTY ? ' (q + Enter to stop)' : ''}`);
  for (const line of await security.describe()) log.warn(`as-server: ${line}`);

  async function startWeb(): Promise<WebServer | undefined> {
    if (httpPort === 0) return undefined;
    const webServer = new WebServer({
      library: library!,
      log,
      auth: accountsWebAuthenticator(security.authenticator),
      authenticator: security.authenticator,
      // In the database: a restart logs no one out.
      sessions: new SqliteSessionStore(database!),
      ...(tls ? { tls } : {}),
    });
    let webAddress;
    try {
      webAddress = await webServer.listen(httpPort, httpHost);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // The default web port taken (another as-server on this machine) costs the web page,
      // not the TCP service; a port asked for explicitly must be had.
      if (code === 'EADDRINUSE' && args['http-port'] === undefined) {
        log.warn(`as-server: web port ${httpPort} is already in use: no web player (pass --http-port PORT, or 0 to turn it off)`);
        return undefined;
      }
      if (code === 'EADDRINUSE') throw new AudioStreamError('USAGE', `web port ${httpPort} is already in use: stop the other server or pass --http-port PORT`);
      if (code === 'EACCES') throw new AudioStreamError('USAGE', `no permission to listen on web port ${httpPort}: use a port above 1023`);
      if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new AudioStreamError('USAGE', `cannot bind the web port to "${httpHost}": not an address of this machine`);
      throw err;
    }
    const host = webAddress.family === 'IPv6' ? `[${webAddress.address}]` : webAddress.address;
    log.warn(`as-server: web player on ${webServer.secure ? 'https' : 'http'}://${host}:${webAddress.port}/`);
    if (!isLoopback(webAddress.address) && !(await security.authenticator.store.hasAccounts())) {
      log.warn('as-server: the web port is reachable from other machines and no login is required (no accounts yet: as-server user add NAME)');
    }
    return webServer;
  }

  // `q` + Enter stops; end of input does not (a service runs with stdin from /dev/null).
  const input = readline.createInterface({ input: process.stdin, terminal: false });
  input.on('line', (line) => {
    if (line.trim().toLowerCase() === 'q') void stop('q');
  });
  input.on('close', () => {});
}

function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}

/** True when `dir` (resolved through any links that exist) is `root` or below it. */
function isInside(dir: string, root: string): boolean {
  let real = path.resolve(dir);
  // The data directory may not exist yet: resolve its deepest existing ancestor.
  for (let probe = real, rest = ''; ; ) {
    try {
      real = path.join(fs.realpathSync(probe), rest);
      break;
    } catch {
      const parent = path.dirname(probe);
      if (parent === probe) break;
      rest = path.join(path.basename(probe), rest);
      probe = parent;
    }
  }
  return real === root || real.startsWith(root + path.sep);
}

function parseCount(value: string | undefined, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1) throw new AudioStreamError('USAGE', `${what} must be a whole number of at least 1, not "${value}"`);
  return n;
}

main().catch((err) => exitWithError('as-server', err));
