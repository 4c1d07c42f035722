// Only what --help and --version need is loaded up front: the client itself (connections,
// player, shell) is imported after them, which keeps `as-client --help` near a bare node start.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_PLAYER } from '../client/default-player.js';
import { DEFAULT_PORT } from '../protocol/constants.js';
import { AudioStreamError } from '../protocol/errors.js';
import { exitWithError, parseCommandLine, parsePort } from './args.js';

type ProtocolChoice = import('../client/index.js').ProtocolChoice;

const HELP = `Usage: as-client [options]

An interactive shell for an as-server: list its library, save files, play them.

Options:
  -a, --address HOST   server to connect to (default localhost)
  -p, --port PORT      server port (default ${DEFAULT_PORT})
  -l, --library DIR    where "get" saves files (default ./saved)
      --player "CMD"   player that reads audio on stdin
                       (default: AS_PLAYER, else "${DEFAULT_PLAYER}")
      --protocol P     auto (default: find out), v1 (a server of the original
                       design) or v2 (an audiostream server); v1 and v2 skip the probe
  -u, --user NAME      log in as NAME (password from AS_PASSWORD, --password-file,
                       or asked on the terminal)
      --password-file FILE
                       read the password from the first line of FILE
      --tls            connect with TLS; the certificate must be from a system CA
                       for this host, or (self-signed) pinned on first use
      --ca FILE        trust the CAs in FILE (PEM) instead (implies --tls)
      --trust-new-server
                       pin a self-signed certificate seen for the first time without
                       asking (implies --tls); a changed one still fails
  -h, --help           show this help
      --version        show the version

Commands (type help in the shell): list, find, info, get, play, add, queue, next,
prev, pause, resume, seek, vol, stop, status, stream, stream+, verify, help, quit.
Commands can also be piped in: printf 'list\\nget 0\\n' | as-client
`;

async function main(): Promise<void> {
  const args = parseCommandLine(process.argv.slice(2), {
    address: { type: 'string', short: 'a' },
    port: { type: 'string', short: 'p' },
    library: { type: 'string', short: 'l' },
    player: { type: 'string' },
    protocol: { type: 'string' },
    user: { type: 'string', short: 'u' },
    'password-file': { type: 'string' },
    tls: { type: 'boolean' },
    ca: { type: 'string' },
    'trust-new-server': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean' },
  });
  if (args.help) {
    process.stdout.write(HELP);
    return;
  }
  if (args.version) {
    // dist/src/cli/ → the package root.
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    process.stdout.write(`as-client ${pkg.version}\n`);
    return;
  }
  const [{ ClientConnection, LocalLibrary, PROTOCOL_CHOICES, ServerVersions, Shell, parsePlayerCommand }, { historyFile }, { ListingCache }, { clientSecurityOptions }, { clientCacheDir }] = await Promise.all([
    import('../client/index.js'),
    import('../client/shell-history.js'),
    import('../client/listing-cache.js'),
    import('./client-security.js'),
    import('./xdg-dirs.js'),
  ]);
  // An empty value is a mistake (an unset variable), never "the current directory" or "localhost".
  if (args.library === '') throw new AudioStreamError('USAGE', '-l needs a directory: -l DIR (it was empty)');
  if (args.address === '') throw new AudioStreamError('USAGE', '-a needs a host name or address: -a HOST (it was empty)');
  const player = parsePlayerCommand(args.player ?? process.env.AS_PLAYER ?? DEFAULT_PLAYER);
  const protocol = parseProtocol(args.protocol, PROTOCOL_CHOICES);
  const host = args.address ?? 'localhost';
  const port = parsePort(args.port, DEFAULT_PORT);
  const interactive = Boolean(process.stdin.isTTY && process.stdout.isTTY);
  const security = await clientSecurityOptions({
    host,
    port,
    tls: args.tls,
    ca: args.ca,
    trustNewServer: args['trust-new-server'],
    user: args.user,
    passwordFile: args['password-file'],
    interactive,
  });
  // One ServerVersions for both: the second connection need not probe for the protocol again.
  const connectionOptions = { host, port, protocol, versions: new ServerVersions(), ...security };
  const connection = new ClientConnection(connectionOptions);
  // The queue's tracks are fetched on a connection of their own (opened on the first play).
  const playbackConnection = new ClientConnection(connectionOptions);
  // Questions (a new certificate) and a wrong password come up now, before the shell reads input.
  if (security.tls || security.login) await connection.connect();
  const shell = new Shell({
    connection,
    library: new LocalLibrary(args.library ?? 'saved'),
    player,
    playbackConnection,
    input: process.stdin,
    output: process.stdout,
    errors: process.stderr,
    interactive,
    historyFile: historyFile(),
    listingCache: new ListingCache(path.join(clientCacheDir(), 'listings')),
  });
  process.exitCode = await shell.run();
}

function parseProtocol(value: string | undefined, PROTOCOL_CHOICES: readonly ProtocolChoice[]): ProtocolChoice {
  if (value === undefined) return 'auto';
  if (!(PROTOCOL_CHOICES as readonly string[]).includes(value)) {
    throw new AudioStreamError('USAGE', `--protocol must be ${PROTOCOL_CHOICES.join(', ')}, not "${value}"`);
  }
  return value as ProtocolChoice;
}

main().catch((err) => exitWithError('as-client', err));
