import fs from 'node:fs';
import net from 'node:net';

/**
 * The bench's baseline server: the least work Node can do to answer a protocol-v1
 * STREAM (`STREAM\r\n` + u32 BE index → u32 BE size + the bytes). Node has no sendfile, so
 * the nearest thing is large positioned reads into two buffers that are reused (no
 * allocation, no page faults after the first chunk), each written to the socket and read
 * into again once its write has completed; plain callbacks, no streams, no promises.
 * It answers nothing else (no LIST), and checks nothing a real server must.
 *
 * The chunk size was measured on the bench machine (1 GiB, loopback, two sessions, median
 * MB/s and server CPU per GiB): 256 KiB 2385/2825 at 300/340 ms, 1 MiB 2874/3292 at
 * 240/280 ms, 4 MiB 2829/4175 at 210/220 ms (the least CPU); 8 and 16 MiB were slower in an
 * early trial, and `createReadStream({ highWaterMark: 1 MiB }).pipe(socket)` reached ~3000.
 */
export const BASELINE_CHUNK_SIZE = 4 * 1024 * 1024;

const REQUEST_BYTES = 12; // "STREAM\r\n" + u32
const STREAM_LINE = Buffer.from('STREAM\r\n', 'latin1');

export function createBaselineServer(files: readonly string[], chunkSize = BASELINE_CHUNK_SIZE): net.Server {
  return net.createServer((socket) => {
    socket.setNoDelay(true);
    socket.on('error', () => {});
    let pending: Buffer = Buffer.alloc(0);
    let busy = false;
    const next = (): void => {
      if (busy || pending.length < REQUEST_BYTES) return;
      if (!pending.subarray(0, STREAM_LINE.length).equals(STREAM_LINE)) {
        socket.destroy();
        return;
      }
      const index = pending.readUInt32BE(STREAM_LINE.length);
      pending = pending.subarray(REQUEST_BYTES);
      const file = files[index];
      if (file === undefined) {
        socket.destroy();
        return;
      }
      busy = true;
      sendFile(socket, file, chunkSize, () => {
        busy = false;
        next();
      });
    };
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      next();
    });
  });
}

function sendFile(socket: net.Socket, path: string, chunkSize: number, done: () => void): void {
  fs.open(path, 'r', (err, fd) => {
    if (err) return void socket.destroy();
    fs.fstat(fd, (err, stats) => {
      if (err) {
        fs.close(fd, () => {});
        return void socket.destroy();
      }
      const size = stats.size;
      const header = Buffer.alloc(4);
      header.writeUInt32BE(size, 0);
      socket.write(header);
      const chunk = Math.max(1, Math.min(chunkSize, size));
      const free = [Buffer.allocUnsafeSlow(chunk), Buffer.allocUnsafeSlow(chunk)];
      let position = 0;
      let reading = false;
      let writing = 0;
      let finished = false;
      const finish = (ok: boolean): void => {
        if (finished) return;
        finished = true;
        fs.close(fd, () => {});
        if (ok) done();
        else socket.destroy();
      };
      const pump = (): void => {
        if (finished) return;
        if (position >= size) {
          if (writing === 0) finish(true);
          return;
        }
        if (reading || free.length === 0 || socket.destroyed) return;
        const buf = free.pop()!;
        reading = true;
        fs.read(fd, buf, 0, Math.min(chunk, size - position), position, (err, n) => {
          reading = false;
          if (err || n === 0) return finish(false);
          position += n;
          writing++;
          socket.write(n === buf.length ? buf : buf.subarray(0, n), (err) => {
            writing--;
            if (err) return finish(false);
            free.push(buf);
            pump();
          });
          pump();
        });
      };
      pump();
    });
  });
}
