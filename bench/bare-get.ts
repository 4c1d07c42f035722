/**
 * Scenario 3's baseline, run as a child like as-client: `node bare-get.js PORT INDEX FILE
 * [--sha256]`. A bare socket reader that saves one STREAM reply the way a careful client
 * must (a temporary name, every byte written with backpressure, fdatasync, rename), with
 * none of the client's layers: no shell, no LIST, no Readable between socket and file.
 * With --sha256 it also hashes every byte on the way, as the client does to verify a v2
 * transfer, and prints the hash.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';

const [portArg, indexArg, finalPath, hashFlag] = process.argv.slice(2);
if (!portArg || !indexArg || !finalPath) {
  process.stderr.write('usage: bare-get PORT INDEX FILE [--sha256]\n');
  process.exit(2);
}
const hash = hashFlag === '--sha256' ? createHash('sha256') : undefined;
const temporaryPath = `${finalPath}.part`;
const fd = fs.openSync(temporaryPath, 'w');
const out = fs.createWriteStream('', { fd, autoClose: false, highWaterMark: 1024 * 1024 });

const request = Buffer.alloc(12);
request.write('STREAM\r\n', 0, 'latin1');
request.writeUInt32BE(Number(indexArg), 8);

let header = Buffer.alloc(0);
let size = -1;
let received = 0;

const fail = (why: string): never => {
  process.stderr.write(`bare-get: ${why}\n`);
  process.exit(1);
};

const socket = net.connect({ host: '127.0.0.1', port: Number(portArg), noDelay: true }, () => socket.write(request));
socket.on('error', (err) => fail(err.message));
socket.on('close', () => {
  if (size < 0 || received < size) fail(`connection closed after ${received} of ${size} bytes`);
});
out.on('drain', () => socket.resume());
out.on('error', (err) => fail(err.message));
socket.on('data', (chunk: Buffer) => {
  let body = chunk;
  if (size < 0) {
    header = Buffer.concat([header, chunk]);
    if (header.length < 4) return;
    size = header.readUInt32BE(0);
    body = header.subarray(4);
  }
  received += body.length;
  if (received > size) fail(`${received} bytes received, ${size} announced`);
  if (body.length > 0 && !out.write(body)) socket.pause();
  hash?.update(body);
  if (received === size) {
    socket.destroy();
    out.end(() => {
      fs.fdatasyncSync(fd);
      fs.closeSync(fd);
      fs.renameSync(temporaryPath, finalPath);
      process.stdout.write(`saved ${received} bytes${hash ? `, sha256 ${hash.digest('hex')}` : ''}\n`);
    });
  }
});
