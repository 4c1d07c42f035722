/**
 * Test double: a server that speaks only protocol v1, as the original C server does. It
 * answers LIST and STREAM and silently ignores every other request line (HELLO AS/2
 * included). It is the scripted v1 double (written by hand from the protocol description,
 * independent of src/) serving real files whole, so it checks our client against the
 * protocol rather than against our own server code.
 */
import { readFileSync } from 'node:fs';
import { startScriptedServer, type ScriptedServer } from '../client/support/server-doubles.js';

export type V1OnlyServer = ScriptedServer;

/** `files` in index order: [relative path, absolute path on disk] (small files: read once, up front). */
export function startV1OnlyServer(files: readonly [string, string][]): Promise<V1OnlyServer> {
  return startScriptedServer({
    paths: files.map(([relative]) => relative),
    streams: new Map(files.map(([, absolute], index) => [index, { kind: 'complete' as const, body: readFileSync(absolute) }])),
  });
}
