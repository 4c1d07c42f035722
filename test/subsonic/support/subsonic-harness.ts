/**
 * Test support for the Subsonic API: a real server on the sample library with real accounts
 * (the database-backed store, Authenticator, LoginThrottle), the real client library `subsonic-api`
 * recording every raw answer, and validators: JSON against the OpenSubsonic OpenAPI schemas
 * (ajv, from the shared reference copy), XML against the Subsonic XSD (xmllint --schema).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promises as fsp, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import AjvModule from 'ajv';
import { SubsonicAPI } from 'subsonic-api';
import { Authenticator, LoginThrottle, SqliteAccountStore, loadServerSecret, type LoginThrottleOptions } from '../../../src/accounts/index.js';
import { ServerDatabase } from '../../../src/library/index.js';
import { accountsWebAuthenticator } from '../../../src/http/index.js';
import type { Library } from '../../../src/library/index.js';
import { deriveScramCredential } from '../../../src/protocol/index.js';
import { TEST_HOST, WebHarness } from '../../http/support/web-harness.js';

export const REFERENCE = '/work/shared/reference';
const OPENAPI_DIR = path.join(REFERENCE, 'opensubsonic/openapi');
const XSD = path.join(REFERENCE, 'subsonic-xsd/subsonic-rest-api.xsd');
const TEST_ITERATIONS = 4096;

export const USER = 'listener';
export const LOGIN_PASSWORD = 'correct horse battery';
export const APP_PASSWORD = 'app-secret-1234';

export interface SubsonicServer {
  port: number;
  root: string;
  library: Library;
  throttle: LoginThrottle;
  authenticator: Authenticator;
  base: string;
}

export async function startSubsonicServer(harness: WebHarness, options: { throttle?: LoginThrottleOptions; accounts?: boolean; prepare?: (root: string) => Promise<void> } = {}): Promise<SubsonicServer> {
  const root = await harness.sampleLibrary();
  await options.prepare?.(root);
  const library = await harness.openLibrary(root);
  const dataDir = await harness.tempDir('as-subsonic-data-');
  const secret = await loadServerSecret(dataDir);
  const database = harness.adopt(ServerDatabase.open(dataDir));
  const store = new SqliteAccountStore(database, secret);
  const throttle = new LoginThrottle(options.throttle ?? { baseDelayMs: 0 });
  const authenticator = new Authenticator({ store, serverSecret: secret, throttle, iterations: TEST_ITERATIONS });
  if (options.accounts !== false) {
    await store.add({ name: USER, role: 'listener', scram: deriveScramCredential(LOGIN_PASSWORD, { iterations: TEST_ITERATIONS }), appPassword: APP_PASSWORD, created: new Date().toISOString() });
    await store.add({ name: 'noapp', role: 'listener', scram: deriveScramCredential(LOGIN_PASSWORD, { iterations: TEST_ITERATIONS }), created: new Date().toISOString() });
  }
  const { port } = await harness.start(library, { auth: accountsWebAuthenticator(authenticator), authenticator });
  return { port, root, library, throttle, authenticator, base: `http://${TEST_HOST}:${port}` };
}

/** A raw answer the client received. */
export interface Recorded {
  endpoint: string;
  url: URL;
  status: number;
  contentType: string;
  body: Buffer;
}

/** The real client, logging in by token (md5(app password + salt)), every answer recorded. */
export function subsonicClient(server: SubsonicServer, recorded: Recorded[], options: { post?: boolean; user?: string; password?: string; onAnswer?: (answer: Recorded) => Promise<void> } = {}): SubsonicAPI {
  const recordingFetch: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    const body = Buffer.from(await response.arrayBuffer());
    let url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    if (init?.method === 'POST' && typeof init.body === 'string') url = new URL(`${url.href}?${init.body}`);
    const answer: Recorded = { endpoint: url.pathname.replace(/^\/rest\//, '').replace(/\.view$/, ''), url, status: response.status, contentType: response.headers.get('content-type') ?? '', body };
    recorded.push(answer);
    await options.onAnswer?.(answer);
    return new Response(body.length === 0 && [204, 304].includes(response.status) ? null : body, { status: response.status, headers: response.headers });
  };
  return new SubsonicAPI({ url: server.base, auth: { username: options.user ?? USER, password: options.password ?? APP_PASSWORD }, fetch: recordingFetch, ...(options.post ? { post: true } : {}) });
}

/** GET /rest/NAME with these parameters, answer as text. */
export async function rest(server: SubsonicServer, name: string, params: Record<string, string>, init: RequestInit = {}): Promise<{ status: number; contentType: string; text: string; headers: Headers }> {
  const url = new URL(`${server.base}/rest/${name}`);
  for (const [key, value] of Object.entries(params)) url.searchParams.append(key, value);
  const response = await fetch(url, init);
  return { status: response.status, contentType: response.headers.get('content-type') ?? '', text: await response.text(), headers: response.headers };
}

export const TOKEN_AUTH = (): Record<string, string> => {
  const salt = 'c19b2d';
  return { u: USER, t: md5(APP_PASSWORD + salt), s: salt, v: '1.16.1', c: 'test' };
};

export function md5(text: string): string {
  return createHashHex('md5', text);
}
import { createHash } from 'node:crypto';
function createHashHex(algorithm: string, text: string): string {
  return createHash(algorithm).update(text, 'utf8').digest('hex');
}

// --- JSON: the OpenSubsonic OpenAPI schemas -------------------------------------------

type ValidateFn = ((data: unknown) => boolean) & { errors?: unknown };
// ajv is CommonJS: under NodeNext its class is the `default` of the imported module.
const Ajv = AjvModule.default;
let ajv: InstanceType<typeof Ajv> | undefined;
const ID_BASE = 'https://opensubsonic.invalid/openapi/';

function schemas(): InstanceType<typeof Ajv> {
  if (ajv) return ajv;
  // strict off: the files are OpenAPI 3.0 schemas (nullable, example, deprecated keywords).
  ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.json') && full !== path.join(OPENAPI_DIR, 'openapi.json')) {
        const rel = path.relative(OPENAPI_DIR, full);
        const schema = JSON.parse(readFileSync(full, 'utf8')) as Record<string, unknown>;
        ajv!.addSchema(schema, ID_BASE + rel);
      }
    }
  };
  walk(OPENAPI_DIR);
  return ajv;
}

/** The response schema the OpenAPI description gives for an endpoint. */
function responseSchemaOf(endpoint: string): ValidateFn {
  type Response = { $ref?: string; content?: { 'application/json': { schema: { $ref: string } } } };
  const operationFile = `${ID_BASE}endpoints/${endpoint}.json`;
  const operation = JSON.parse(readFileSync(path.join(OPENAPI_DIR, 'endpoints', `${endpoint}.json`), 'utf8')) as { get: { responses: { '200': Response } } };
  let response = operation.get.responses['200'];
  let responseFile = operationFile;
  // A shared response (EmptySubsonicResponse for ping) is a file of its own.
  if (response.$ref) {
    responseFile = new URL(response.$ref, operationFile).href;
    response = JSON.parse(readFileSync(path.join(OPENAPI_DIR, responseFile.slice(ID_BASE.length)), 'utf8')) as Response;
  }
  const url = new URL(response.content!['application/json'].schema.$ref, responseFile).href;
  const validate = schemas().getSchema(url);
  assert.ok(validate, `no schema at ${url}`);
  return validate as ValidateFn;
}

/** Asserts a JSON answer is valid for its endpoint's OpenAPI schema; returns the parsed envelope. */
export function assertValidJson(endpoint: string, text: string): Record<string, unknown> {
  const value = JSON.parse(text) as Record<string, unknown>;
  const validate = responseSchemaOf(endpoint);
  assert.ok(validate(value), `${endpoint}: JSON not valid for the OpenAPI schema: ${JSON.stringify(validate.errors).slice(0, 1500)}\n${text.slice(0, 500)}`);
  return value['subsonic-response'] as Record<string, unknown>;
}

// --- XML: the Subsonic XSD ------------------------------------------------------------

const execFileAsync = promisify(execFile);

/**
 * Asserts an XML answer is valid for the Subsonic XSD. The XSD predates OpenSubsonic, so the
 * three attributes OpenSubsonic adds to the envelope (type, serverVersion, openSubsonic) are
 * taken off first; everything else must be exactly as the XSD says.
 */
export async function assertValidXml(harness: WebHarness, text: string): Promise<void> {
  assert.match(text, /^<\?xml version="1\.0" encoding="UTF-8"\?><subsonic-response xmlns="http:\/\/subsonic\.org\/restapi" status="(ok|failed)" version="1\.16\.1" type="audiostream" serverVersion="[^"]+" openSubsonic="true"/);
  const classic = text.replace(/ type="audiostream" serverVersion="[^"]+" openSubsonic="true"/, '');
  const file = path.join(await harness.tempDir('as-subsonic-xml-'), 'response.xml');
  await fsp.writeFile(file, classic);
  try {
    await execFileAsync('xmllint', ['--noout', '--schema', XSD, file]);
  } catch (err) {
    assert.fail(`XML not valid for the XSD: ${(err as { stderr?: string }).stderr ?? err}\n${text.slice(0, 800)}`);
  }
}
