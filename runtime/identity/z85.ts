/**
 * Z85 (ZeroMQ RFC 32): the text form of CURVE keys. Four bytes, read
 * big-endian, become five characters of an 85-letter alphabet. Decoding is
 * validation: a character outside the alphabet, a length that is not a
 * multiple of 5, or a group worth 2^32 or more is refused.
 */

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#';

const DECODE: Int16Array = (() => {
  const t = new Int16Array(128).fill(-1);
  for (let i = 0; i < ALPHABET.length; i++) t[ALPHABET.charCodeAt(i)] = i;
  return t;
})();

export function z85Encode(bytes: Uint8Array): string {
  if (bytes.byteLength % 4 !== 0) throw new RangeError(`Z85 encodes a multiple of 4 bytes (got ${bytes.byteLength})`);
  let out = '';
  for (let i = 0; i < bytes.byteLength; i += 4) {
    let v = ((bytes[i]! << 24) | (bytes[i + 1]! << 16) | (bytes[i + 2]! << 8) | bytes[i + 3]!) >>> 0;
    const group = new Array<string>(5);
    for (let j = 4; j >= 0; j--) {
      group[j] = ALPHABET[v % 85]!;
      v = Math.floor(v / 85);
    }
    out += group.join('');
  }
  return out;
}

/** The bytes of a Z85 string, or `undefined` when it is not valid Z85. */
export function z85Decode(text: string): Uint8Array | undefined {
  if (text.length % 5 !== 0) return undefined;
  const out = new Uint8Array((text.length / 5) * 4);
  for (let i = 0, o = 0; i < text.length; i += 5, o += 4) {
    let v = 0;
    for (let j = 0; j < 5; j++) {
      const c = text.charCodeAt(i + j);
      const d = c < 128 ? DECODE[c]! : -1;
      if (d < 0) return undefined;
      v = v * 85 + d;
    }
    if (v > 0xffff_ffff) return undefined;
    out[o] = v >>> 24;
    out[o + 1] = (v >>> 16) & 0xff;
    out[o + 2] = (v >>> 8) & 0xff;
    out[o + 3] = v & 0xff;
  }
  return out;
}
