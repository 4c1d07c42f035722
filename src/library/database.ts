import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { AudioStreamError } from '../protocol/index.js';

/** The server's database file inside its data directory (`--data DIR`). */
export const DATABASE_FILE_NAME = 'library.sqlite';

/**
 * Beside the database, written after a clean close and removed at open: its presence says
 * the last run closed the file whole (WAL checkpointed and gone), so the O(database)
 * integrity check can be skipped. A run that dies (kill -9, a crash, power loss) leaves no
 * mark, and the next open checks every page.
 */
export const CLEAN_CLOSE_MARK_SUFFIX = '.closed-cleanly';

/**
 * Marks the file as ours in its header (`PRAGMA application_id`, bytes 68-71): "ASDB". A
 * SQLite file with any other id and tables in it belongs to something else and is never
 * written to.
 */
export const APPLICATION_ID = 0x41534442;

/**
 * The file's format version (`PRAGMA user_version`): how the migration bookkeeping itself is
 * kept. Each component's own schema has its version in `schema_versions`, so a module that
 * adds tables (accounts, say) migrates independently of the library's.
 */
export const FORMAT_VERSION = 1;

const CACHE_SIZE = 'cache_size = -4000';

/** One schema step of a component: `up` runs inside a transaction, once, in version order. */
export interface Migration {
  /** 1, 2, 3, ...: the schema version this step brings the component to. */
  readonly version: number;
  readonly description: string;
  up(db: Database.Database): void;
}

/** Why an existing file was moved aside instead of used. */
export type SetAsideReason = 'corrupt' | 'foreign' | 'newer';

export interface OpenDatabaseOptions {
  /** One line for the log when a file is moved aside (never silent). */
  onSetAside?: (message: string) => void;
  /** Migrations run at open, per component, inside the same recovery (default: none). */
  components?: Readonly<Record<string, readonly Migration[]>>;
  /** For tests: the clock used for the moved-aside file's date. */
  now?: () => Date;
  /**
   * One line for the log when the file was not closed cleanly last time and its every page
   * is checked (`PRAGMA quick_check`), with the outcome and how long it took.
   */
  onIntegrityCheck?: (message: string) => void;
}

/** A component's schema on disk is newer than this program knows: it must not be touched. */
class NewerSchemaError extends Error {}
/** The file is a database, but not ours. */
class ForeignDatabaseError extends Error {}
/** The file is a database with damaged pages. */
class DamagedDatabaseError extends Error {}

/** SQLite's codes for a file that is not a database or is damaged. */
const DAMAGED_CODES = /^SQLITE_(NOTADB|CORRUPT)/;

function unusableFile(err: unknown): boolean {
  if (err instanceof NewerSchemaError || err instanceof ForeignDatabaseError || err instanceof DamagedDatabaseError) return true;
  return err instanceof Database.SqliteError && DAMAGED_CODES.test(err.code);
}

/**
 * The server's SQLite database: one file in the data directory, in WAL mode (readers never
 * wait for the writer; a crash loses at most the transaction in flight), private to its
 * user (directory 0700, file 0600). Components own their tables and bring their schema up
 * to date with `migrate()`; the library's are in library-store.ts.
 */
export class ServerDatabase {
  readonly db: Database.Database;
  /** The database file, or ':memory:'. */
  readonly file: string;

  private constructor(db: Database.Database, file: string) {
    this.db = db;
    this.file = file;
  }

  /**
   * Opens (or creates) `<dataDir>/library.sqlite` and runs the components' migrations. A file
   * that is corrupt, truncated, not ours or from a newer version is renamed aside with a dated
   * name (reported through `onSetAside`) and a new one is made: the server always starts, and
   * nothing is wiped without a word.
   * @throws AudioStreamError DATABASE_UNAVAILABLE when the directory or file cannot be made.
   */
  static open(dataDir: string, options: OpenDatabaseOptions = {}): ServerDatabase {
    try {
      fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
      fs.chmodSync(dataDir, 0o700);
    } catch (err) {
      throw unavailable(`cannot create the data directory ${dataDir}`, err);
    }
    const file = path.join(dataDir, DATABASE_FILE_NAME);
    try {
      return ServerDatabase.openFile(file, options);
    } catch (err) {
      if (err instanceof AudioStreamError) throw err;
      // Only a file that is itself the problem is moved aside; a missing native module, a
      // full disk or a lock held elsewhere must not cost a good database.
      if (!unusableFile(err)) throw unavailable(`cannot open the database ${file}`, err);
      const reason: SetAsideReason = err instanceof NewerSchemaError ? 'newer' : err instanceof ForeignDatabaseError ? 'foreign' : 'corrupt';
      const aside = setAside(file, reason, (options.now ?? (() => new Date()))());
      const what = { corrupt: 'is damaged or not a database', foreign: 'belongs to another program', newer: 'was written by a newer version' }[reason];
      options.onSetAside?.(`database ${file} ${what} (${(err as Error).message}): moved to ${path.basename(aside)}, starting a new one (tags are read again)`);
      try {
        return ServerDatabase.openFile(file, options);
      } catch (again) {
        throw unavailable(`cannot create a new database at ${file}`, again);
      }
    }
  }

  /** A database in memory, for a library run without a data directory (tests, tools). */
  static inMemory(components: Readonly<Record<string, readonly Migration[]>> = {}): ServerDatabase {
    const database = new ServerDatabase(new Database(':memory:'), ':memory:');
    database.initialise();
    for (const [name, migrations] of Object.entries(components)) database.migrate(name, migrations);
    return database;
  }

  private static openFile(file: string, options: OpenDatabaseOptions): ServerDatabase {
    try {
      // Made 0600 before SQLite sees it; SQLite gives the -wal and -shm files the same mode.
      fs.closeSync(fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW, 0o600));
      fs.chmodSync(file, 0o600);
    } catch (err) {
      throw unavailable(`cannot create the database file ${file}`, err);
    }
    // The mark is taken away before anything else: whatever happens from here on (a crash
    // mid-open included), the next open finds none and checks.
    const closedCleanly = takeCleanCloseMark(file);
    checkLength(file);
    const db = new Database(file);
    try {
      db.pragma(CACHE_SIZE); // before the integrity check reads every page
      const database = new ServerDatabase(db, file);
      database.check(closedCleanly, options.onIntegrityCheck);
      database.checkComponents(options.components ?? {});
      database.initialise();
      for (const [name, migrations] of Object.entries(options.components ?? {})) database.migrate(name, migrations);
      return database;
    } catch (err) {
      db.close();
      throw err;
    }
  }

  /**
   * Fails on a file that is not a sound database of ours (before anything is written). Every
   * page is read only when the last run did not close the file cleanly: after a clean close
   * the file was whole (and its length was checked against its header just before).
   */
  private check(closedCleanly: boolean, onIntegrityCheck: ((message: string) => void) | undefined): void {
    // Reading the header fails with SQLITE_NOTADB on a file that is not SQLite at all.
    const applicationId = this.db.pragma('application_id', { simple: true }) as number;
    const userVersion = this.db.pragma('user_version', { simple: true }) as number;
    const tables = (this.db.prepare("SELECT count(*) AS n FROM sqlite_master").get() as { n: number }).n;
    if (applicationId !== APPLICATION_ID && (applicationId !== 0 || tables > 0 || userVersion !== 0)) {
      throw new ForeignDatabaseError(`application id ${applicationId}, ${tables} schema objects`);
    }
    if (userVersion > FORMAT_VERSION) throw new NewerSchemaError(`format version ${userVersion}, this program knows ${FORMAT_VERSION}`);
    if (closedCleanly || tables === 0) return;
    // A file left by a run that died may be damaged (a disk that lied about a flush, a
    // power loss): it often opens fine and fails on the pages it lacks, so every page is
    // looked at once now rather than failing mid-service.
    const started = performance.now();
    const problems = this.db.pragma('quick_check(1)', { simple: true });
    const ms = Math.round(performance.now() - started);
    onIntegrityCheck?.(`database ${this.file} was not closed cleanly: integrity check (quick_check) ${problems === 'ok' ? 'passed' : 'failed'} in ${ms} ms`);
    if (problems !== 'ok') throw new DamagedDatabaseError(`integrity check: ${String(problems)}`);
  }

  /** Fails, before anything is written, if a component's schema is newer than its migrations. */
  private checkComponents(components: Readonly<Record<string, readonly Migration[]>>): void {
    const exists = this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_versions'").get();
    if (!exists) return;
    for (const [name, migrations] of Object.entries(components)) {
      const current = this.schemaVersion(name);
      if (current > migrations.length) throw new NewerSchemaError(`${name} schema version ${current}, this program knows ${migrations.length}`);
    }
  }

  private initialise(): void {
    if (this.file !== ':memory:') {
      this.db.pragma('journal_mode = WAL');
      // With WAL, NORMAL keeps the database consistent through a crash or power loss; only
      // the last transactions before a power loss may be lost, which a rescan redoes.
      this.db.pragma('synchronous = NORMAL');
    }
    // better-sqlite3's default page cache is 16 MB, held for good once a listing or the
    // integrity check has filled it; 4 MB keeps the hot pages, the kernel's cache the rest.
    this.db.pragma(CACHE_SIZE);
    this.db.pragma('foreign_keys = ON');
    this.db.transaction(() => {
      this.db.pragma(`application_id = ${APPLICATION_ID}`);
      this.db.pragma(`user_version = ${FORMAT_VERSION}`);
      this.db.exec('CREATE TABLE IF NOT EXISTS schema_versions (component TEXT PRIMARY KEY, version INTEGER NOT NULL) STRICT');
    })();
  }

  /** A component's schema version (0: none of its tables exist yet). */
  schemaVersion(component: string): number {
    const row = this.db.prepare('SELECT version FROM schema_versions WHERE component = ?').get(component) as { version: number } | undefined;
    return row?.version ?? 0;
  }

  /**
   * Brings a component's tables up to date: every migration above its recorded version runs,
   * in order, each in a transaction with the version bump, so a crash leaves either the old
   * schema or the new one.
   * @throws Error when the file's schema is newer than any migration given (at open, this
   * sets the file aside).
   */
  migrate(component: string, migrations: readonly Migration[]): void {
    const sorted = [...migrations].sort((a, b) => a.version - b.version);
    sorted.forEach((m, i) => {
      if (m.version !== i + 1) throw new Error(`${component} migrations must be numbered 1, 2, 3, ... (found ${m.version} at position ${i + 1})`);
    });
    const current = this.schemaVersion(component);
    if (current > sorted.length) throw new NewerSchemaError(`${component} schema version ${current}, this program knows ${sorted.length}`);
    for (const migration of sorted.slice(current)) {
      this.db.transaction(() => {
        migration.up(this.db);
        this.db
          .prepare('INSERT INTO schema_versions (component, version) VALUES (?, ?) ON CONFLICT (component) DO UPDATE SET version = excluded.version')
          .run(component, migration.version);
      })();
    }
  }

  /**
   * Closes the file (SQLite checkpoints the WAL into it and removes the WAL) and then marks it
   * closed cleanly, so the next open can skip the full integrity check.
   */
  close(): void {
    if (!this.db.open) return;
    this.db.close();
    if (this.file === ':memory:') return;
    // Only a file without a WAL beside it is whole on its own; if the checkpoint could not
    // finish (another connection still had it open), no mark: the next open checks.
    if (fs.existsSync(this.file + '-wal')) return;
    try {
      fs.writeFileSync(this.file + CLEAN_CLOSE_MARK_SUFFIX, '', { mode: 0o600 });
    } catch {
      // Without the mark the next open merely checks every page.
    }
  }
}

/** True when the last run left its clean-close mark; the mark is removed either way. */
function takeCleanCloseMark(file: string): boolean {
  const mark = file + CLEAN_CLOSE_MARK_SUFFIX;
  try {
    fs.unlinkSync(mark);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw unavailable(`cannot remove ${mark}`, err);
  }
  // The removal must reach the disk before the file is written to: a power loss that
  // brought the mark back would skip the check of a file that was being written.
  try {
    const dir = fs.openSync(path.dirname(file), 'r');
    try {
      fs.fsyncSync(dir);
    } finally {
      fs.closeSync(dir);
    }
  } catch {
    return false; // not made durable: check the file as if the mark had not been there
  }
  return true;
}

/**
 * The cheap truncation check, made at every open: the header says how many pages the main
 * file holds (valid when its "version valid for" field matches the change counter), and a
 * file shorter than that lost its tail. A WAL may hold pages beyond that count, never fewer.
 */
function checkLength(file: string): void {
  let header: Buffer;
  let size: number;
  const fd = fs.openSync(file, 'r');
  try {
    size = fs.fstatSync(fd).size;
    header = Buffer.alloc(100);
    if (fs.readSync(fd, header, 0, 100, 0) < 100) return; // empty (new) or too short: SQLite itself refuses a short one
  } finally {
    fs.closeSync(fd);
  }
  if (!header.subarray(0, 16).equals(SQLITE_MAGIC)) return; // not SQLite: opening it says so
  const rawPageSize = header.readUInt16BE(16);
  const pageSize = rawPageSize === 1 ? 65536 : rawPageSize;
  const pages = header.readUInt32BE(28);
  const changeCounter = header.readUInt32BE(24);
  const validFor = header.readUInt32BE(92);
  if (validFor !== changeCounter || pages === 0) return;
  if (size < pages * pageSize) throw new DamagedDatabaseError(`the file is ${size} bytes, its header says ${pages} pages of ${pageSize} (truncated)`);
}

const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');

/** Renames the file and its WAL companions to `<name>.<reason>-<date>`; returns the new name. */
function setAside(file: string, reason: SetAsideReason, now: Date): string {
  const stamp = now.toISOString().replace(/[:.]/g, '-');
  let aside = `${file}.${reason}-${stamp}`;
  for (let n = 2; fs.existsSync(aside); n++) aside = `${file}.${reason}-${stamp}-${n}`;
  try {
    // The WAL holds committed pages not yet in the main file: it goes with it.
    for (const suffix of ['-wal', '-shm']) if (fs.existsSync(file + suffix)) fs.renameSync(file + suffix, aside + suffix);
    fs.renameSync(file, aside);
  } catch (err) {
    throw unavailable(`cannot move the unusable database ${file} aside`, err);
  }
  return aside;
}

function unavailable(what: string, err: unknown): AudioStreamError {
  const detail = (err as NodeJS.ErrnoException)?.code ?? (err as Error)?.message ?? String(err);
  return new AudioStreamError('DATABASE_UNAVAILABLE', `${what} (${detail}): check the permissions of --data DIR, or pass another`, { cause: err });
}
