/**
 * Buffers the client's socket reads into (net's `onread`), recycled once a file body has
 * been written from them.
 *
 * By default Node allocates a fresh 64 KiB buffer for every read. For a 1 GiB download
 * that is 16,384 allocations, and although the garbage collector frees them promptly
 * the allocator keeps the memory: a bare reader's RSS reached 85–88 MB for a heap of 7 MB.
 * Reading into 256 KiB buffers that go back into a small pool after their bytes are on
 * disk kept it at 51 MB and cut the reads to a quarter (docs/BENCHMARKS.md).
 *
 * Recycling is opt-in and conservative: a buffer comes back only through `release`, only
 * if the chunk released is everything that was read into it (a read that also held a
 * reply header or trailer may still be referenced by a parser), and only once. Any other
 * buffer is simply left to the garbage collector, as Node's own would be.
 */
export class ReadBufferPool {
  private readonly size: number;
  private readonly maxFree: number;
  private readonly free: Buffer[] = [];
  /** Buffers handed to a read and filled: how many bytes it put there. */
  private readonly filled = new WeakMap<ArrayBuffer, number>();

  /**
   * @param size bytes per read (the most one read call can return)
   * @param maxFree buffers kept for reuse; any more released are dropped
   */
  constructor(size = 256 * 1024, maxFree = 16) {
    this.size = size;
    this.maxFree = maxFree;
  }

  /** For `onread.buffer`: the buffer the next read fills. */
  take(): Buffer {
    // Each its own ArrayBuffer (not a slice of Node's shared pool), so that
    // `chunk.buffer` identifies it.
    return this.free.pop() ?? Buffer.allocUnsafeSlow(this.size);
  }

  /** For `onread.callback`: a read put `length` bytes into `buffer`. Returns the chunk. */
  read(buffer: Buffer, length: number): Buffer {
    this.filled.set(buffer.buffer as ArrayBuffer, length);
    return buffer.subarray(0, length);
  }

  /**
   * The caller is done with `chunk` and nothing else refers to it. Its buffer is reused
   * if the chunk is all that was read into it; otherwise nothing happens.
   */
  release(chunk: Buffer): void {
    const arrayBuffer = chunk.buffer as ArrayBuffer;
    const length = this.filled.get(arrayBuffer);
    if (length === undefined || chunk.byteOffset !== 0 || chunk.length !== length || arrayBuffer.byteLength !== this.size) return;
    this.filled.delete(arrayBuffer);
    if (this.free.length < this.maxFree) this.free.push(Buffer.from(arrayBuffer));
  }
}
