import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import {
  apiKeyHash,
  makeApiKey,
  ACCOUNTS_COMPONENT,
  ACCOUNTS_MIGRATIONS,
  SqliteAccountStore,
  checkAccountName,
  importAccountsFile,
  recordAccountsMark,
  loadServerSecret,
  parseRole,
  type AccountStore,
} from '../accounts/index.js';
import { ServerDatabase } from '../library/index.js';
import { USERDATA_COMPONENT, USERDATA_MIGRATIONS, UserDataStore } from '../library/user-data-store.js';
import { AudioStreamError, deriveScramCredential } from '../protocol/index.js';
import { readPassword } from './password-input.js';
import { serverDataDir } from './xdg-dirs.js';

export const USER_HELP = `Usage: as-server user add NAME [--role admin|listener] [--app-password]
       as-server user passwd NAME [--app-password | --no-app-password] [--role ROLE]
       as-server user remove NAME
       as-server user apikey NAME [--revoke]
       as-server user list
Options for every command:
  -l, --library DIR      the library whose accounts these are (default ./library)
      --data DIR         the server's data directory (default: one per library under
                         $XDG_DATA_HOME/audiostream)

The password is read from the terminal without echo, or as the first line of standard
input (printf '%s\\n' "$PW" | as-server user add ann). Never give it on the command line.
Once any account exists, the server asks v2 clients to log in (see docs/SECURITY.md).
--app-password makes a second, random password for Subsonic apps, stored recoverably.
apikey prints a new API key for Subsonic apps that log in with one (OpenSubsonic's
apiKey), replacing the user's older key; only its hash is stored, so it is shown once.
apikey --revoke removes it; user list shows who has one.
`;

/**
 * The accounts of the server whose data directory is `dataDir`, in its database, with the
 * server secret (its own 0600 file) that seals app passwords. An accounts.json left by an
 * older version is imported the first time (one line through `log`).
 */
export async function openAccountStore(database: ServerDatabase, dataDir: string, log: (line: string) => void): Promise<{ store: SqliteAccountStore; secret: Buffer }> {
  const secret = await loadServerSecret(dataDir);
  const store = new SqliteAccountStore(database, secret);
  await importAccountsFile(store, dataDir, log);
  return { store, secret };
}

function makeAppPassword(): string {
  return randomBytes(18).toString('base64url');
}

/** `as-server user ...`: prints what it did to stdout; errors are USAGE or ACCOUNTS_FAILED. */
export async function runUserCommand(argv: string[], out: NodeJS.WritableStream = process.stdout): Promise<void> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    out.write(USER_HELP);
    return;
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      allowPositionals: true,
      strict: true,
      options: {
        library: { type: 'string', short: 'l' },
        data: { type: 'string' },
        role: { type: 'string' },
        'app-password': { type: 'boolean' },
        'no-app-password': { type: 'boolean' },
        revoke: { type: 'boolean' },
      },
    });
  } catch (err) {
    throw new AudioStreamError('USAGE', `${(err as Error).message} (see as-server user --help)`);
  }
  const args = parsed.values;
  const dataDir = serverDataDir(args.library ?? 'library', args.data);
  const log = (line: string): void => void process.stderr.write(`as-server user: ${line}\n`);
  // The server's own database file, also while the server runs: WAL lets both use it, and
  // the server reads accounts from it on every login.
  const database = ServerDatabase.open(dataDir, { components: { [ACCOUNTS_COMPONENT]: ACCOUNTS_MIGRATIONS, [USERDATA_COMPONENT]: USERDATA_MIGRATIONS }, onSetAside: log });
  try {
    const { store } = await openAccountStore(database, dataDir, log);
    await runOn(store, command, parsed.positionals, args, out);
    // What the user recorded through the Subsonic API goes with the account.
    if (command === 'remove') new UserDataStore(database).forgetUser(checkAccountName(parsed.positionals[0]!));
    if (command === 'add' || command === 'remove') await recordAccountsMark(store, dataDir);
  } finally {
    database.close();
  }
}

async function runOn(
  store: AccountStore,
  command: string,
  positional: string[],
  args: { role?: string; 'app-password'?: boolean; 'no-app-password'?: boolean; revoke?: boolean },
  out: NodeJS.WritableStream,
): Promise<void> {
  const name = (): string => {
    if (positional.length !== 1) throw new AudioStreamError('USAGE', `user ${command} takes one NAME (see as-server user --help)`);
    return checkAccountName(positional[0]!);
  };
  switch (command) {
    case 'add':
      return addUser(store, name(), args, out);
    case 'passwd':
      return changePassword(store, name(), args, out);
    case 'remove': {
      const who = name();
      if (!(await store.remove(who))) throw new AudioStreamError('ACCOUNTS_FAILED', `there is no user "${who}" (see user list)`);
      out.write(`removed user ${who}${(await store.hasAccounts()) ? '' : ' (no accounts left: the server no longer asks for logins)'}\n`);
      return;
    }
    case 'apikey': {
      const who = name();
      if (args.revoke) {
        if (!(await store.find(who))) throw new AudioStreamError('ACCOUNTS_FAILED', `there is no user "${who}" (see user list)`);
        out.write((await store.removeApiKey(who)) ? `revoked the API key of ${who}\n` : `${who} had no API key\n`);
        return;
      }
      const key = makeApiKey();
      await store.setApiKeyHash(who, apiKeyHash(key));
      out.write(`API key for ${who} (for Subsonic apps; shown once, replaces any older one): ${key}\n`);
      return;
    }
    case 'list': {
      if (positional.length > 0) throw new AudioStreamError('USAGE', 'user list takes no NAME');
      const users = await store.list();
      if (users.length === 0) out.write('no accounts: the server lets everyone in (see docs/SECURITY.md)\n');
      for (const u of users) out.write(`${u.name}\t${u.role}${u.hasAppPassword ? '\tapp-password' : ''}${u.hasApiKey ? '\tapi-key' : ''}\n`);
      return;
    }
    default:
      throw new AudioStreamError('USAGE', `unknown user command "${command}": add, passwd, remove, apikey or list`);
  }
}

async function addUser(store: AccountStore, name: string, args: { role?: string; 'app-password'?: boolean }, out: NodeJS.WritableStream): Promise<void> {
  const role = parseRole(args.role ?? 'listener');
  if (await store.find(name)) throw new AudioStreamError('ACCOUNTS_FAILED', `there is already a user "${name}" (change the password with user passwd)`);
  const password = await askNewPassword(name);
  const appPassword = args['app-password'] ? makeAppPassword() : undefined;
  const first = !(await store.hasAccounts());
  await store.add({ name, role, scram: deriveScramCredential(password), created: new Date().toISOString(), ...(appPassword ? { appPassword } : {}) });
  out.write(`added user ${name} (${role})${first ? ': the server now asks v2 clients to log in, and serves v1 only to --allow-v1-from addresses' : ''}\n`);
  if (appPassword) out.write(`app password for ${name} (for Subsonic apps; shown once): ${appPassword}\n`);
}

async function changePassword(store: AccountStore, name: string, args: { role?: string; 'app-password'?: boolean; 'no-app-password'?: boolean }, out: NodeJS.WritableStream): Promise<void> {
  if (!(await store.find(name))) throw new AudioStreamError('ACCOUNTS_FAILED', `there is no user "${name}" (see user list)`);
  const role = args.role === undefined ? undefined : parseRole(args.role);
  const password = await askNewPassword(name);
  const appPassword = args['app-password'] ? makeAppPassword() : undefined;
  await store.update(name, { scram: deriveScramCredential(password), ...(role ? { role } : {}), ...(appPassword ? { appPassword } : {}), ...(args['no-app-password'] ? { removeAppPassword: true } : {}) });
  out.write(`changed the password of ${name}\n`);
  if (appPassword) out.write(`app password for ${name} (for Subsonic apps; shown once): ${appPassword}\n`);
}

async function askNewPassword(name: string): Promise<string> {
  const password = await readPassword(`new password for ${name}: `);
  if (process.stdin.isTTY) {
    const again = await readPassword('the same again: ');
    if (again !== password) throw new AudioStreamError('USAGE', 'the two passwords differ; nothing was changed');
  }
  return password;
}
