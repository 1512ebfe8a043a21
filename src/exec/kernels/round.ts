// Rounding and float-format helpers with the exact semantics ONNX asks for.

/** Round half to even (numpy/ONNX Round; IEEE default rounding). */
export function roundHalfEven(x: number): number {
  if (!Number.isFinite(x)) return x;
  const r = Math.round(x); // half up
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Nearest float16 value (round half to even), returned as a number. */
export function toHalf(v: number): number {
  if (Number.isNaN(v)) return NaN;
  const a = Math.abs(v);
  if (a >= 65520) return v > 0 ? Infinity : -Infinity; // beyond the largest half (65504) after rounding
  if (a < 2 ** -25) return v < 0 || Object.is(v, -0) ? -0 : 0;
  // Quantum of the half grid at this magnitude: subnormal step 2^-24, else 2^(e-10).
  const e = Math.max(Math.floor(Math.log2(a)), -14);
  const q = 2 ** (e - 10);
  const r = roundHalfEven(Math.fround(v) / q) * q;
  return r;
}

/** Nearest bfloat16 value (round half to even on the float32 bits; NaN stays NaN). */
export function toBfloat16(v: number): number {
  f32[0] = v;
  if (Number.isNaN(f32[0])) return NaN;
  const x = u32[0];
  const lsb = (x >>> 16) & 1;
  u32[0] = ((x + 0x7fff + lsb) >>> 16) << 16;
  return f32[0];
}
