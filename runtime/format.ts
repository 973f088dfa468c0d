/**
 * Number formatting that matches the original C output byte for byte.
 *
 * `formatG9` is glibc's `%.9g`: 9 significant digits, enough to round-trip a
 * float32. JS's toPrecision cannot be used: it rounds exact decimal ties up
 * where glibc rounds them to even (1.001953125 → C "1.00195312"), and writes
 * exponents differently ("e-5" against "e-05"). So the exact decimal
 * expansion of the double is built with BigInt and rounded half-to-even.
 * Non-finite values print as `inf`, `-inf`, `nan` (SPEC §2).
 */
const view = new DataView(new ArrayBuffer(8));

/** Exact decimal digits and exponent of a finite non-zero |x|: x = 0.d1d2... × 10^(exp+1). */
function exactDecimal(x: number): { digits: string; exp: number } {
  view.setFloat64(0, x);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const biased = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let e2: number;
  if (biased === 0) {
    e2 = -1074;
  } else {
    mant |= 1n << 52n;
    e2 = biased - 1075;
  }
  if (e2 >= 0) {
    const digits = (mant << BigInt(e2)).toString();
    return { digits, exp: digits.length - 1 };
  }
  const digits = (mant * 5n ** BigInt(-e2)).toString();
  return { digits, exp: digits.length - 1 + e2 };
}

/**
 * Fast path for the common case: scale x so its first `precision` digits
 * form an integer part, and round. Scaling by a power of ten in double is
 * off by at most a few parts in 10^16, far less than the distance to a
 * rounding boundary unless the value is within 1e-6 of a tie; those few
 * values (and out-of-range exponents) take the exact BigInt path, which
 * rounds exact ties to even as glibc does. Returns null when unsure.
 */
const POW10 = Array.from({ length: 641 }, (_, i) => 10 ** (i - 320));
const pow10 = (k: number): number => POW10[k + 320]!;

function shortDigits(x: number, precision: number): { digits: string; exp: number } | null {
  if (precision > 15) return null;
  let exp = Math.floor(Math.log10(x));
  if (!(exp > -290 && exp < 290)) return null;
  let scaled = x * pow10(precision - 1 - exp);
  const lo = pow10(precision - 1);
  const hi = pow10(precision);
  if (scaled < lo) {
    exp -= 1;
    scaled = x * pow10(precision - 1 - exp);
  } else if (scaled >= hi) {
    exp += 1;
    scaled = x * pow10(precision - 1 - exp);
  }
  const frac = scaled - Math.floor(scaled);
  if (Math.abs(frac - 0.5) < 1e-6) return null;
  let n = Math.round(scaled);
  if (n >= hi) {
    n /= 10;
    exp += 1;
  }
  return { digits: String(n), exp };
}

function stripZeros(s: string): string {
  if (s.indexOf('.') < 0) return s;
  let end = s.length;
  while (s.charCodeAt(end - 1) === 48) end--;
  if (s.charCodeAt(end - 1) === 46) end--;
  return s.slice(0, end);
}

export function formatG(x: number, precision = 9): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const sign = x < 0 ? '-' : '';
  const fast = shortDigits(Math.abs(x), precision);
  let digits: string;
  let exp: number;
  if (fast) {
    ({ digits, exp } = fast);
  } else {
    ({ digits, exp } = exactDecimal(Math.abs(x)));
  }
  if (digits.length > precision) {
    const keep = digits.slice(0, precision);
    const rest = digits.slice(precision);
    const first = rest.charCodeAt(0) - 48;
    const tail = /[1-9]/.test(rest.slice(1));
    const lastOdd = (keep.charCodeAt(precision - 1) - 48) % 2 === 1;
    const up = first > 5 || (first === 5 && (tail || lastOdd));
    if (up) {
      const n = (BigInt(keep) + 1n).toString();
      if (n.length > precision) {
        digits = n.slice(0, precision);
        exp += 1;
      } else {
        digits = n;
      }
    } else {
      digits = keep;
    }
  }
  digits = digits.padEnd(precision, '0');
  if (exp < -4 || exp >= precision) {
    const mantissa = stripZeros(`${digits[0]}.${digits.slice(1)}`);
    const e = Math.abs(exp).toString().padStart(2, '0');
    return `${sign}${mantissa}e${exp < 0 ? '-' : '+'}${e}`;
  }
  if (exp >= 0) {
    return sign + stripZeros(`${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`);
  }
  return sign + stripZeros(`0.${'0'.repeat(-exp - 1)}${digits}`);
}

export const formatG9 = (x: number): string => formatG(x, 9);

/**
 * Parse a number the way the golden files and our CSVs print them:
 * accepts `inf`, `-inf`, `nan`, `-nan` (parseFloat would return NaN for inf).
 */
export function parseCNumber(s: string): number {
  switch (s) {
    case 'inf':
    case '+inf':
      return Infinity;
    case '-inf':
      return -Infinity;
    case 'nan':
    case '-nan':
      return NaN;
    default: {
      const v = Number(s);
      if (s.trim() === '' || Number.isNaN(v)) throw new RangeError(`not a number: "${s}"`);
      return v;
    }
  }
}
