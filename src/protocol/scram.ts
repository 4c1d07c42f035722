/**
 * SCRAM-SHA-256 (RFC 5802, RFC 7677) as two socket-free state machines: {@link ScramClient}
 * and {@link ScramServer}. They take and return the SASL messages as strings; how the
 * messages travel (docs/PROTOCOL.md, "Login") is the connection's business.
 *
 * The server keeps only StoredKey and ServerKey (with the salt and iteration count), never the
 * password or anything it could log in with; the client proves it knows the password without
 * sending it, and checks the server's signature, so a server that does not hold the user's keys
 * cannot pass itself off as the real one. Every attribute is checked (order, syntax, length,
 * nonce) before it is used, as PostgreSQL's auth-scram.c does.
 *
 * Not supported (refused as malformed): channel binding (`p=` GS2 flag), authorization
 * identities (`a=`), mandatory extensions (`m=`).
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { AudioStreamError } from './errors.js';

export const SCRAM_MECHANISM = 'SCRAM-SHA-256';
/** RFC 7677 asks for at least 4096; fewer lets a hostile server make the password cheap to guess. */
export const SCRAM_MIN_ITERATIONS = 4096;
/** A hostile server could make a client spin for minutes; 1,000,000 is about 0.4 s here. */
export const SCRAM_MAX_ITERATIONS = 1_000_000;
/** What new credentials use: about 40 ms of the client's CPU per login on a 2020s core. */
export const SCRAM_DEFAULT_ITERATIONS = 100_000;
/** Any one SASL message; real ones are under 300 bytes. */
export const SCRAM_MAX_MESSAGE = 1024;
/** A user name, in characters, after `=2C`/`=3D` unescaping. */
export const SCRAM_MAX_USERNAME = 64;
/** Nonce lengths (printable characters) each side accepts from the other. */
const MIN_NONCE = 16;
const MAX_NONCE = 128;
/** Salt lengths (bytes) a client accepts. */
const MIN_SALT = 8;
const MAX_SALT = 64;
/** The GS2 header we send and accept: no channel binding, no authorization identity. */
const GS2_HEADER = 'n,,';

/** What a server stores for one user. All keys are 32 bytes (SHA-256). */
export interface ScramCredential {
  salt: Buffer;
  iterations: number;
  storedKey: Buffer;
  serverKey: Buffer;
}

function malformed(message: string): AudioStreamError {
  return new AudioStreamError('AUTH_MALFORMED', `malformed SCRAM message: ${message}`);
}

function hmac(key: Buffer, text: string | Buffer): Buffer {
  return createHmac('sha256', key).update(text).digest();
}

function sha256(bytes: Buffer): Buffer {
  return createHash('sha256').update(bytes).digest();
}

function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.alloc(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

/** Equal-length buffers compared in constant time; unequal lengths are simply unequal. */
export function constantTimeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The password as SCRAM hashes it. RFC 5802 asks for SASLprep (RFC 4013); NFKC is its
 * normalisation step, which is what makes one password typed two ways the same. The
 * prohibited-character tables are not applied (PostgreSQL also falls back to the raw bytes).
 */
export function normalizePassword(password: string): Buffer {
  return Buffer.from(password.normalize('NFKC'), 'utf8');
}

/** SaltedPassword = Hi(password, salt, i), Hi being PBKDF2-HMAC-SHA-256. */
function saltedPassword(password: string, salt: Buffer, iterations: number): Buffer {
  return pbkdf2Sync(normalizePassword(password), salt, iterations, 32, 'sha256');
}

/** The keys a server stores for a password: what `as-server user add` computes. */
export function deriveScramCredential(password: string, options: { salt?: Buffer; iterations?: number } = {}): ScramCredential {
  const salt = options.salt ?? randomBytes(16);
  const iterations = options.iterations ?? SCRAM_DEFAULT_ITERATIONS;
  if (!Number.isInteger(iterations) || iterations < SCRAM_MIN_ITERATIONS || iterations > SCRAM_MAX_ITERATIONS) {
    throw new AudioStreamError('USAGE', `SCRAM iterations must be from ${SCRAM_MIN_ITERATIONS} to ${SCRAM_MAX_ITERATIONS}`);
  }
  const salted = saltedPassword(password, salt, iterations);
  return {
    salt,
    iterations,
    storedKey: sha256(hmac(salted, 'Client Key')),
    serverKey: hmac(salted, 'Server Key'),
  };
}

/** A fresh nonce: 18 random bytes in base64, 24 printable characters with no comma. */
export function makeNonce(): string {
  return randomBytes(18).toString('base64');
}

/** saslname: `,` and `=` travel as `=2C` and `=3D`. */
function escapeName(name: string): string {
  return name.replace(/=/g, '=3D').replace(/,/g, '=2C');
}

function unescapeName(text: string): string {
  if (/=(?!2C|3D)/.test(text)) throw malformed('a user name has "=" not followed by 2C or 3D');
  return text.replace(/=2C/g, ',').replace(/=3D/g, '=');
}

/** A user name both sides accept: 1-64 characters, no control characters. */
export function checkUsername(name: string): string {
  if (name.length === 0 || [...name].length > SCRAM_MAX_USERNAME) throw malformed(`a user name must have 1 to ${SCRAM_MAX_USERNAME} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(name)) throw malformed('a user name has a control character');
  if (name.includes('\ufffd')) throw malformed('a user name is not valid UTF-8');
  return name;
}

/** Printable ASCII except the comma (RFC 5802 `printable`). */
function checkNonce(nonce: string, what: string): string {
  if (nonce.length < MIN_NONCE || nonce.length > MAX_NONCE) throw malformed(`the ${what} nonce must have ${MIN_NONCE} to ${MAX_NONCE} characters`);
  if (!/^[\x21-\x2b\x2d-\x7e]+$/.test(nonce)) throw malformed(`the ${what} nonce has a character outside printable ASCII`);
  return nonce;
}

/** Strict base64 (RFC 4648 with padding): Buffer.from would silently skip bad characters. */
function decodeBase64(text: string, what: string): Buffer {
  if (text.length === 0 || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) throw malformed(`${what} is not base64`);
  const bytes = Buffer.from(text, 'base64');
  if (bytes.toString('base64') !== text) throw malformed(`${what} is not canonical base64`);
  return bytes;
}

/**
 * Splits a message into its attributes, which must be exactly `names` in that order
 * (RFC 5802 fixes the order). A message with any extra attribute is refused.
 */
function attributes(message: string, names: string[], what: string): string[] {
  if (message.length > SCRAM_MAX_MESSAGE) throw malformed(`the ${what} is longer than ${SCRAM_MAX_MESSAGE} characters`);
  const parts = message.split(',');
  if (parts.length !== names.length) throw malformed(`the ${what} must have ${names.length} attributes (${names.join(', ')}), it has ${parts.length}`);
  return parts.map((part, i) => {
    const name = names[i]!;
    if (part.length < 2 || part[0] !== name || part[1] !== '=') throw malformed(`attribute ${i + 1} of the ${what} must be "${name}="`);
    return part.slice(2);
  });
}

function checkPrintableMessage(message: string, what: string): void {
  if (message.length > SCRAM_MAX_MESSAGE) throw malformed(`the ${what} is longer than ${SCRAM_MAX_MESSAGE} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(message)) throw malformed(`the ${what} has a control character`);
}

type ClientState = 'start' | 'sent-first' | 'sent-final' | 'done' | 'failed';

/**
 * The client's side: `first()`, then `final(serverFirst)`, then `verify(serverFinal)`.
 * Each step may be taken once, in order; anything else throws AUTH_MALFORMED and the
 * exchange is over. `verify` throws SERVER_NOT_VERIFIED if the server's signature is wrong
 * (a server that does not hold this user's keys) and AUTH_FAILED if the server said no.
 */
export class ScramClient {
  private state: ClientState = 'start';
  private readonly username: string;
  private readonly password: string;
  private readonly nonce: string;
  private clientFirstBare = '';
  private expectedServerSignature: Buffer | undefined;

  constructor(options: { username: string; password: string; nonce?: string }) {
    this.username = checkUsername(options.username);
    this.password = options.password;
    this.nonce = checkNonce(options.nonce ?? makeNonce(), 'client');
  }

  private step(from: ClientState, to: ClientState): void {
    if (this.state !== from) {
      this.state = 'failed';
      throw malformed(`SCRAM step out of order (expected state ${from})`);
    }
    this.state = to;
  }

  /** client-first-message: `n,,n=<user>,r=<client nonce>`. */
  first(): string {
    this.step('start', 'sent-first');
    this.clientFirstBare = `n=${escapeName(this.username)},r=${this.nonce}`;
    return GS2_HEADER + this.clientFirstBare;
  }

  /** Takes server-first-message (`r=,s=,i=`) and returns client-final-message with the proof. */
  final(serverFirst: string): string {
    this.step('sent-first', 'sent-final');
    try {
      checkPrintableMessage(serverFirst, 'server-first-message');
      const [nonce, saltText, iterationText] = attributes(serverFirst, ['r', 's', 'i'], 'server-first-message') as [string, string, string];
      checkNonce(nonce, 'combined');
      // The server must extend our nonce, not replace it: otherwise this could be a replay.
      if (!nonce.startsWith(this.nonce) || nonce.length <= this.nonce.length) throw malformed('the server nonce does not extend the client nonce');
      const salt = decodeBase64(saltText, 'the salt');
      if (salt.length < MIN_SALT || salt.length > MAX_SALT) throw malformed(`the salt must have ${MIN_SALT} to ${MAX_SALT} bytes`);
      if (!/^[1-9][0-9]{0,9}$/.test(iterationText)) throw malformed('the iteration count is not a number');
      const iterations = Number(iterationText);
      if (iterations < SCRAM_MIN_ITERATIONS || iterations > SCRAM_MAX_ITERATIONS) {
        throw malformed(`the iteration count ${iterations} is outside ${SCRAM_MIN_ITERATIONS}-${SCRAM_MAX_ITERATIONS}`);
      }
      const withoutProof = `c=${Buffer.from(GS2_HEADER).toString('base64')},r=${nonce}`;
      const authMessage = `${this.clientFirstBare},${serverFirst},${withoutProof}`;
      const salted = saltedPassword(this.password, salt, iterations);
      const clientKey = hmac(salted, 'Client Key');
      const clientSignature = hmac(sha256(clientKey), authMessage);
      this.expectedServerSignature = hmac(hmac(salted, 'Server Key'), authMessage);
      return `${withoutProof},p=${xor(clientKey, clientSignature).toString('base64')}`;
    } catch (err) {
      this.state = 'failed';
      throw err;
    }
  }

  /** Takes server-final-message (`v=<signature>` or `e=<error>`); returns only if the server proved itself. */
  verify(serverFinal: string): void {
    this.step('sent-final', 'failed');
    checkPrintableMessage(serverFinal, 'server-final-message');
    if (serverFinal.startsWith('e=')) throw new AudioStreamError('AUTH_FAILED', 'login failed: wrong user name or password');
    const [signatureText] = attributes(serverFinal, ['v'], 'server-final-message') as [string];
    const signature = decodeBase64(signatureText, 'the server signature');
    if (!constantTimeEqual(signature, this.expectedServerSignature!)) {
      throw new AudioStreamError('SERVER_NOT_VERIFIED', 'the server could not prove it knows this account: it is not the server the account was made on (or the account was changed). Nothing more was sent to it');
    }
    this.state = 'done';
  }

  get done(): boolean {
    return this.state === 'done';
  }
}

/** What the server learns from client-first-message. */
export interface ScramClientFirst {
  username: string;
  clientNonce: string;
}

type ServerState = 'start' | 'got-first' | 'sent-first' | 'done' | 'failed';

/**
 * The server's side: `receiveFirst(clientFirst)` gives the user name; the caller looks up
 * that user's {@link ScramCredential} (or, for an unknown user, a made-up one, so the two
 * cases cannot be told apart) and calls `first(credential)`; then `receiveFinal(clientFinal)`
 * checks the proof. Steps are taken once, in order; a replayed or reordered message throws.
 */
export class ScramServer {
  private state: ServerState = 'start';
  private clientFirstBare = '';
  private clientNonce = '';
  private combinedNonce = '';
  private serverFirst = '';
  private credential: ScramCredential | undefined;
  private readonly serverNonce: string;

  constructor(options: { nonce?: string } = {}) {
    this.serverNonce = checkNonce(options.nonce ?? makeNonce(), 'server');
  }

  private step(from: ServerState, to: ServerState): void {
    if (this.state !== from) {
      this.state = 'failed';
      throw malformed(`SCRAM step out of order (expected state ${from})`);
    }
    this.state = to;
  }

  receiveFirst(clientFirst: string): ScramClientFirst {
    this.step('start', 'got-first');
    try {
      checkPrintableMessage(clientFirst, 'client-first-message');
      if (!clientFirst.startsWith(GS2_HEADER)) {
        throw malformed(clientFirst.startsWith('p=') ? 'channel binding is not supported' : clientFirst.startsWith('y,,') ? 'the GS2 header must be "n,,"' : 'the GS2 header must be "n,,"');
      }
      const bare = clientFirst.slice(GS2_HEADER.length);
      const [nameText, nonce] = attributes(bare, ['n', 'r'], 'client-first-message') as [string, string];
      const username = checkUsername(unescapeName(nameText));
      this.clientNonce = checkNonce(nonce, 'client');
      this.clientFirstBare = bare;
      return { username, clientNonce: this.clientNonce };
    } catch (err) {
      this.state = 'failed';
      throw err;
    }
  }

  /** server-first-message: `r=<client nonce + server nonce>,s=<salt>,i=<iterations>`. */
  first(credential: ScramCredential): string {
    this.step('got-first', 'sent-first');
    this.credential = credential;
    this.combinedNonce = this.clientNonce + this.serverNonce;
    this.serverFirst = `r=${this.combinedNonce},s=${credential.salt.toString('base64')},i=${credential.iterations}`;
    return this.serverFirst;
  }

  /**
   * Checks client-final-message. `ok` with server-final-message (`v=...`) to send when the
   * proof is right; `ok: false` with `e=invalid-proof` when not. Malformed input throws.
   */
  receiveFinal(clientFinal: string): { ok: true; serverFinal: string } | { ok: false; serverFinal: string } {
    this.step('sent-first', 'failed');
    checkPrintableMessage(clientFinal, 'client-final-message');
    const [binding, nonce, proofText] = attributes(clientFinal, ['c', 'r', 'p'], 'client-final-message') as [string, string, string];
    if (binding !== Buffer.from(GS2_HEADER).toString('base64')) throw malformed('the channel binding must repeat the GS2 header "n,,"');
    // A final message from another exchange carries another nonce: a replay.
    if (nonce !== this.combinedNonce) throw malformed('the nonce is not the one of this exchange');
    const proof = decodeBase64(proofText, 'the client proof');
    if (proof.length !== 32) throw malformed('the client proof must have 32 bytes');
    const credential = this.credential!;
    const withoutProof = clientFinal.slice(0, clientFinal.lastIndexOf(',p='));
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`;
    const clientKey = xor(proof, hmac(credential.storedKey, authMessage));
    if (!constantTimeEqual(sha256(clientKey), credential.storedKey)) return { ok: false, serverFinal: 'e=invalid-proof' };
    this.state = 'done';
    return { ok: true, serverFinal: `v=${hmac(credential.serverKey, authMessage).toString('base64')}` };
  }

  get done(): boolean {
    return this.state === 'done';
  }
}
