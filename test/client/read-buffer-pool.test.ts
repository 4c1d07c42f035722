import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { ReadBufferPool } from '../../src/client/read-buffer-pool.js';

test('a chunk that is all of its read goes back to the pool and is handed out again', () => {
  const pool = new ReadBufferPool(1024, 4);
  const buffer = pool.take();
  assert.equal(buffer.length, 1024);
  const chunk = pool.read(buffer, 700);
  assert.equal(chunk.length, 700);
  pool.release(chunk);
  assert.equal(pool.take().buffer, buffer.buffer, 'the same memory is reused');
});

test('a part of a read (it may share its buffer with a header or trailer) is never recycled, nor is a chunk released twice', () => {
  const pool = new ReadBufferPool(1024, 4);
  const buffer = pool.take();
  const chunk = pool.read(buffer, 700);
  pool.release(chunk.subarray(10)); // a body that began after a header line
  pool.release(chunk.subarray(0, 600)); // a body followed by a trailer
  assert.notEqual(pool.take().buffer, buffer.buffer, 'parts are left to the garbage collector');

  const other = pool.take();
  const whole = pool.read(other, 1024);
  pool.release(whole);
  pool.release(whole);
  const first = pool.take();
  const second = pool.take();
  assert.equal(first.buffer, other.buffer);
  assert.notEqual(second.buffer, other.buffer, 'a double release does not hand the buffer out twice');
});

test('buffers the pool never issued, and releases beyond its bound, are ignored', () => {
  const pool = new ReadBufferPool(1024, 1);
  pool.release(Buffer.alloc(1024));
  const a = pool.read(pool.take(), 1024);
  const b = pool.read(pool.take(), 1024);
  pool.release(a);
  pool.release(b); // the pool keeps at most one
  assert.equal(pool.take().buffer, a.buffer);
  assert.notEqual(pool.take().buffer, b.buffer);
});

test('as net onread buffers over a real socket: every byte arrives in order, with buffers recycled between reads', { timeout: 10_000 }, async () => {
  const pool = new ReadBufferPool(4096, 2);
  const payload = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 7 + (i >> 12)) & 0xff;
  const server = net.createServer((socket) => socket.end(payload));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const received: Buffer[] = [];
  const distinct = new Set<ArrayBufferLike>();
  await new Promise<void>((resolve, reject) => {
    const socket = net.connect({
      host: '127.0.0.1',
      port,
      onread: {
        buffer: () => pool.take(),
        callback: (length, buffer) => {
          const chunk = pool.read(buffer as Buffer, length);
          distinct.add(chunk.buffer);
          received.push(Buffer.from(chunk)); // a copy is kept; the read buffer goes back
          pool.release(chunk);
          return true;
        },
      },
    });
    socket.on('end', resolve);
    socket.on('error', reject);
  });
  server.close();
  assert.ok(Buffer.concat(received).equals(payload), 'the bytes arrive whole and in order');
  assert.ok(received.length > 10, `many reads (${received.length})`);
  assert.ok(distinct.size <= 3, `${distinct.size} buffers served ${received.length} reads`);
});
