// Quantized value types (FINN/QONNX style) that annotate tensors whose float values are really
// integers, ±1 or fixed point. They are what hardware layers are sized by.
import { fail } from '../diag/index.ts';

export type QType =
  | { kind: 'FLOAT32' }
  | { kind: 'INT'; bits: number; signed: boolean }
  | { kind: 'BIPOLAR' } // {-1, +1}, one bit: 0 ↦ -1, 1 ↦ +1
  | { kind: 'BINARY' } // {0, 1}
  | { kind: 'TERNARY' } // {-1, 0, +1}
  | { kind: 'FIXED'; width: number; frac: number }; // signed, value = code / 2^frac

export const FLOAT32: QType = { kind: 'FLOAT32' };
export const BIPOLAR: QType = { kind: 'BIPOLAR' };
export const BINARY: QType = { kind: 'BINARY' };
export const TERNARY: QType = { kind: 'TERNARY' };
export const int = (bits: number): QType => ({ kind: 'INT', bits, signed: true });
export const uint = (bits: number): QType => ({ kind: 'INT', bits, signed: false });
export const fixed = (width: number, frac: number): QType => ({ kind: 'FIXED', width, frac });

/** Bits needed to carry one value in hardware. */
export function bitWidth(t: QType): number {
  switch (t.kind) {
    case 'FLOAT32': return 32;
    case 'INT': return t.bits;
    case 'BIPOLAR': case 'BINARY': return 1;
    case 'TERNARY': return 2;
    case 'FIXED': return t.width;
  }
}

/** Smallest and largest representable value (in real units). */
export function range(t: QType): [number, number] {
  switch (t.kind) {
    case 'FLOAT32': return [-3.4028234663852886e38, 3.4028234663852886e38];
    case 'INT': return t.signed ? [-(2 ** (t.bits - 1)), 2 ** (t.bits - 1) - 1] : [0, 2 ** t.bits - 1];
    case 'BIPOLAR': return [-1, 1];
    case 'BINARY': return [0, 1];
    case 'TERNARY': return [-1, 1];
    case 'FIXED': return [-(2 ** (t.width - 1)) / 2 ** t.frac, (2 ** (t.width - 1) - 1) / 2 ** t.frac];
  }
}

export function isSigned(t: QType): boolean {
  return t.kind === 'FLOAT32' || t.kind === 'BIPOLAR' || t.kind === 'TERNARY' || t.kind === 'FIXED' || (t.kind === 'INT' && t.signed);
}

export function isIntegral(t: QType): boolean {
  return t.kind !== 'FLOAT32' && t.kind !== 'FIXED';
}

/** Whether v is a value of type t. */
export function allows(t: QType, v: number): boolean {
  const [lo, hi] = range(t);
  if (v < lo || v > hi) return false;
  switch (t.kind) {
    case 'FLOAT32': return true;
    case 'BIPOLAR': return v === -1 || v === 1;
    case 'FIXED': return Number.isInteger(v * 2 ** t.frac);
    default: return Number.isInteger(v);
  }
}

/** The smallest integer type holding every value in [lo, hi] (BIPOLAR/BINARY/TERNARY not chosen here). */
export function smallestIntFor(lo: number, hi: number): QType {
  if (lo >= 0) {
    let bits = 1;
    while (2 ** bits - 1 < hi) bits++;
    return uint(bits);
  }
  let bits = 2;
  while (-(2 ** (bits - 1)) > lo || 2 ** (bits - 1) - 1 < hi) bits++;
  return int(bits);
}

export function qtypeName(t: QType): string {
  switch (t.kind) {
    case 'FLOAT32': return 'FLOAT32';
    case 'INT': return `${t.signed ? 'INT' : 'UINT'}${t.bits}`;
    case 'FIXED': return `FIXED<${t.width},${t.frac}>`;
    default: return t.kind;
  }
}

export function parseQType(s: string): QType {
  const m = /^(U?)INT(\d+)$/.exec(s);
  if (m) {
    const bits = Number(m[2]);
    if (bits < 1 || bits > 64) fail('BadIrText', `integer type width must be 1..64, not ${bits} in '${s}'`);
    return { kind: 'INT', bits, signed: m[1] === '' };
  }
  const f = /^FIXED<(\d+),(-?\d+)>$/.exec(s);
  if (f) return fixed(Number(f[1]), Number(f[2]));
  if (s === 'FLOAT32' || s === 'BIPOLAR' || s === 'BINARY' || s === 'TERNARY') return { kind: s } as QType;
  fail('BadIrText', `unknown datatype '${s}' (expected FLOAT32, INTn, UINTn, BIPOLAR, BINARY, TERNARY or FIXED<w,f>)`);
}

export function sameQType(a: QType, b: QType): boolean {
  return qtypeName(a) === qtypeName(b);
}
