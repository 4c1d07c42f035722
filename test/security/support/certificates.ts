/**
 * Certificates made by the real openssl for TLS tests: a CA and certificates it signs
 * (valid for 127.0.0.1, for another name, expired), and self-signed ones.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface KeyPair {
  cert: Buffer;
  key: Buffer;
}

export interface TestCertificates {
  ca: Buffer;
  /** Signed by the CA for IP 127.0.0.1 and DNS localhost. */
  valid: KeyPair;
  /** Signed by the CA for elsewhere.example only. */
  otherName: KeyPair;
  /** Signed by the CA, for 127.0.0.1, but its validity ended yesterday. */
  expired: KeyPair;
  selfSignedA: KeyPair;
  selfSignedB: KeyPair;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  await run('openssl', args, { cwd, timeout: 20_000 });
}

export async function makeCertificates(dir: string): Promise<TestCertificates> {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  await openssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=audiostream test CA'], dir);
  const signed = async (name: string, san: string, days: string): Promise<KeyPair> => {
    await fs.writeFile(path.join(dir, `${name}.ext`), `subjectAltName=${san}\n`);
    await openssl(['req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`], dir);
    await openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', days, '-extfile', `${name}.ext`], dir);
    return { cert: await fs.readFile(path.join(dir, `${name}.pem`)), key: await fs.readFile(path.join(dir, `${name}.key`)) };
  };
  const selfSigned = async (name: string): Promise<KeyPair> => {
    await openssl(['req', '-x509', ...ec, '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${name}`, '-addext', 'subjectAltName=IP:127.0.0.1'], dir);
    return { cert: await fs.readFile(path.join(dir, `${name}.pem`)), key: await fs.readFile(path.join(dir, `${name}.key`)) };
  };
  return {
    ca: await fs.readFile(path.join(dir, 'ca.pem')),
    valid: await signed('valid', 'IP:127.0.0.1,DNS:localhost', '2'),
    otherName: await signed('other', 'DNS:elsewhere.example', '2'),
    // A negative day count puts notAfter before now: expired from the start.
    expired: await signed('expired', 'IP:127.0.0.1,DNS:localhost', '-1'),
    selfSignedA: await selfSigned('selfA'),
    selfSignedB: await selfSigned('selfB'),
  };
}
