/**
 * The width and height of a PNG or JPEG from its header, without decoding it: enough to know
 * that an image is already small enough and must not be scaled (never up). Undefined for
 * anything else or a header that does not parse.
 */
export function imageDimensions(body: Buffer): { width: number; height: number } | undefined {
  // PNG: signature, then the IHDR chunk: width and height as 32-bit big-endian.
  if (body.length >= 24 && body.readUInt32BE(0) === 0x89504e47 && body.toString('latin1', 12, 16) === 'IHDR') {
    return { width: body.readUInt32BE(16), height: body.readUInt32BE(20) };
  }
  // JPEG: walk the markers to the first start-of-frame (SOF0-SOF15 but DHT, JPG, DAC).
  if (body.length >= 4 && body[0] === 0xff && body[1] === 0xd8) {
    let at = 2;
    for (let markers = 0; at + 9 < body.length && markers < 1000; markers++) {
      if (body[at] !== 0xff) return undefined;
      const marker = body[at + 1]!;
      if (marker === 0xff) {
        at++; // fill byte
        continue;
      }
      const length = body.readUInt16BE(at + 2);
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
        return { height: body.readUInt16BE(at + 5), width: body.readUInt16BE(at + 7) };
      }
      if (length < 2) return undefined;
      at += 2 + length;
    }
  }
  return undefined;
}
