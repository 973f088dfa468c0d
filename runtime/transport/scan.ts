/**
 * A structural pass over MessagePack bytes before msgpackr sees them.
 *
 * msgpackr decodes recursively and trusts length prefixes as far as the
 * data goes; bytes from the network are untrusted, so this pass (iterative,
 * constant stack) checks first that the input is exactly one well-formed
 * value: every length fits in the bytes that remain, every container's item
 * count could fit (each item takes at least one byte), nesting stays within
 * `maxDepth`, map keys are strings, and there are no extension types
 * (timestamps, msgpackr records, `undefined`) and no reserved byte 0xc1.
 * Nothing is allocated per item, so a huge declared length costs nothing.
 */

export class ScanError extends Error {
  constructor(
    readonly offset: number,
    readonly reason: 'truncated' | 'malformed' | 'too-deep' | 'trailing',
    message: string,
  ) {
    super(message);
  }
}

export interface ScanResult {
  /** Whether any byte string (bin) occurs; decode copies them out of the frame. */
  readonly hasBytes: boolean;
  /** The outermost array's item count, or -1 when the value is not an array. */
  readonly topArrayLength: number;
}

/**
 * Check `bytes` holds exactly one MessagePack value. Container depth counts
 * from 1 for the outermost array or map.
 */
export function scanMsgpack(bytes: Uint8Array, maxDepth: number): ScanResult {
  const end = bytes.length;
  // remaining[d]: items still to read in the container at depth d; isMap[d]: whether it is a map
  // (its items alternate key, value and keys must be strings). Depth 0 is the top level: 1 item.
  const remaining: number[] = [1];
  const isMap: boolean[] = [false];
  let depth = 0;
  let pos = 0;
  let hasBytes = false;
  let topArrayLength = -1;

  const need = (n: number, at: number): void => {
    if (end - pos < n) throw new ScanError(at, 'truncated', `value at byte ${at} needs ${n} more bytes, ${end - pos} left`);
  };
  const u16 = (): number => {
    const v = (bytes[pos]! << 8) | bytes[pos + 1]!;
    pos += 2;
    return v;
  };
  const u32 = (): number => {
    const v = bytes[pos]! * 0x1000000 + ((bytes[pos + 1]! << 16) | (bytes[pos + 2]! << 8) | bytes[pos + 3]!);
    pos += 4;
    return v;
  };

  while (depth >= 0) {
    if (remaining[depth] === 0) {
      depth--;
      continue;
    }
    const isKey = isMap[depth] === true && remaining[depth]! % 2 === 0;
    remaining[depth]!--;
    const at = pos;
    need(1, at);
    const b = bytes[pos++]!;
    let str = false;
    let skip = 0; // payload bytes after the header
    let items = -1; // container: number of items (map: 2 per entry)
    let container: 'array' | 'map' | null = null;

    if (b <= 0x7f || b >= 0xe0 || b === 0xc0 || b === 0xc2 || b === 0xc3) {
      // fixint, negative fixint, nil, false, true
    } else if (b <= 0x8f) {
      container = 'map';
      items = (b & 0x0f) * 2;
    } else if (b <= 0x9f) {
      container = 'array';
      items = b & 0x0f;
    } else if (b <= 0xbf) {
      str = true;
      skip = b & 0x1f;
    } else {
      switch (b) {
        case 0xc4: // bin 8/16/32
          need(1, at);
          skip = bytes[pos++]!;
          hasBytes = true;
          break;
        case 0xc5:
          need(2, at);
          skip = u16();
          hasBytes = true;
          break;
        case 0xc6:
          need(4, at);
          skip = u32();
          hasBytes = true;
          break;
        case 0xca: // float32/64
          skip = 4;
          break;
        case 0xcb:
          skip = 8;
          break;
        case 0xcc: // uint8..64, int8..64
        case 0xd0:
          skip = 1;
          break;
        case 0xcd:
        case 0xd1:
          skip = 2;
          break;
        case 0xce:
        case 0xd2:
          skip = 4;
          break;
        case 0xcf:
        case 0xd3:
          skip = 8;
          break;
        case 0xd9: // str 8/16/32
          need(1, at);
          skip = bytes[pos++]!;
          str = true;
          break;
        case 0xda:
          need(2, at);
          skip = u16();
          str = true;
          break;
        case 0xdb:
          need(4, at);
          skip = u32();
          str = true;
          break;
        case 0xdc: // array 16/32
          need(2, at);
          items = u16();
          container = 'array';
          break;
        case 0xdd:
          need(4, at);
          items = u32();
          container = 'array';
          break;
        case 0xde: // map 16/32
          need(2, at);
          items = u16() * 2;
          container = 'map';
          break;
        case 0xdf:
          need(4, at);
          items = u32() * 2;
          container = 'map';
          break;
        default:
          // 0xc1 (never used), 0xc7-0xc9 and 0xd4-0xd8 (extensions)
          throw new ScanError(at, 'malformed', `byte 0x${b.toString(16)} at ${at} is ${b === 0xc1 ? 'reserved' : 'an extension type, which the wire does not use'}`);
      }
    }
    if (isKey && !str) throw new ScanError(at, 'malformed', `map key at byte ${at} must be a string`);
    if (container !== null) {
      if (items > end - pos) throw new ScanError(at, 'truncated', `${container} at byte ${at} declares ${container === 'map' ? items / 2 : items} entries but only ${end - pos} bytes remain`);
      if (depth === 0 && container === 'array') topArrayLength = items;
      if (depth + 1 > maxDepth) throw new ScanError(at, 'too-deep', `nesting at byte ${at} is deeper than ${maxDepth} levels`);
      depth++;
      remaining[depth] = items;
      isMap[depth] = container === 'map';
    } else {
      need(skip, at);
      pos += skip;
    }
  }
  if (pos !== end) throw new ScanError(pos, 'trailing', `${end - pos} bytes follow the value that ends at byte ${pos}`);
  return { hasBytes, topArrayLength };
}
