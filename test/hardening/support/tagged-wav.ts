/**
 * A real, minimal PCM WAV file with a RIFF LIST/INFO title, built by hand (test-only, no
 * project code), so a test can tell by its tags and its bytes which file was read.
 *
 * Layout: `RIFF` <size> `WAVE`, a 16-byte `fmt ` chunk (PCM, mono, 8 kHz, 8-bit), a
 * `LIST` `INFO` chunk holding `INAM` (the title, NUL-terminated, padded to even), and a
 * `data` chunk with `samples`. Chunk sizes are 32-bit little-endian, excluding the header.
 */
export function taggedWav(title: string, samples: Buffer): Buffer {
  const fmt = Buffer.alloc(16);
  fmt.writeUInt16LE(1, 0); // PCM
  fmt.writeUInt16LE(1, 2); // channels
  fmt.writeUInt32LE(8000, 4); // sample rate
  fmt.writeUInt32LE(8000, 8); // bytes per second
  fmt.writeUInt16LE(1, 12); // block align
  fmt.writeUInt16LE(8, 14); // bits per sample
  const name = Buffer.from(`${title}\0`, 'utf8');
  const info = Buffer.concat([Buffer.from('INFO'), chunk('INAM', name)]);
  const body = Buffer.concat([Buffer.from('WAVE'), chunk('fmt ', fmt), chunk('LIST', info), chunk('data', samples)]);
  return Buffer.concat([Buffer.from('RIFF'), u32le(body.length), body]);
}

/** A chunk: 4-byte id, 32-bit LE size, the bytes, and a pad byte if the size is odd. */
export function chunk(id: string, bytes: Buffer): Buffer {
  return Buffer.concat([Buffer.from(id, 'latin1'), u32le(bytes.length), bytes, bytes.length % 2 ? Buffer.alloc(1) : Buffer.alloc(0)]);
}

export function u32le(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}
