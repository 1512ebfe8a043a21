// What the host does on either side of the hardware: float input → integer codes (InputQuantizer)
// and output codes → floats (OutputAffine). See src/ir/dataflow.ts for the contract.
import { fail, KilnError } from '../diag/index.ts';
import { fixed, int, parseQType, qtypeName, range } from '../ir/datatype.ts';
import type { InputQuantizer, OutputAffine } from '../ir/dataflow.ts';

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Codes for one input vector. u = x/scale + zeroPoint is computed in float32 as ONNX's quantizers do
 * (one division, one addition, each rounded to float32); then by mode: round half to even and clamp
 * ('round'), ≥ 0 → +1 else −1 ('bipolar', BipolarQuant), or the sign −1/0/+1 ('sign', ONNX Sign).
 */
export function quantizeInput(q: InputQuantizer, x: ArrayLike<number>): number[] {
  const [tlo, thi] = range(q.qtype);
  const lo = q.clip?.[0] ?? tlo;
  const hi = q.clip?.[1] ?? thi;
  const out = new Array<number>(x.length);
  for (let i = 0; i < x.length; i++) {
    const s = q.scale.length === 1 ? q.scale[0] : q.scale[i % q.scale.length];
    const z = q.zeroPoint.length === 1 ? q.zeroPoint[0] : q.zeroPoint[i % q.zeroPoint.length];
    const u = Math.fround(Math.fround(Math.fround(x[i]) / s) + z);
    const mode = q.mode ?? 'round';
    if (mode === 'bipolar') out[i] = u >= 0 ? 1 : -1;
    else if (mode === 'sign') out[i] = u > 0 ? 1 : u < 0 ? -1 : 0;
    else out[i] = Math.min(hi, Math.max(lo, roundHalfEven(u)));
  }
  return q.order ? q.order.map((j) => out[j]) : out;
}

/** Floats from output codes: y[e] = scale[c]·code[e] + offset[c], c = e mod channels (float64), then `order`. */
export function applyOutputAffine(a: OutputAffine, codes: ArrayLike<number>): number[] {
  const out = new Array<number>(codes.length);
  for (let e = 0; e < codes.length; e++) {
    const c = e % a.scale.length;
    out[e] = a.scale[c] * codes[e] + a.offset[c];
  }
  return a.order ? a.order.map((j) => out[j]) : out;
}

// ---- the grid of a float input ----------------------------------------------------------------

/** A float input's fixed-point grid: signed `bits`-bit codes with `frac` fractional bits (lowering option floatInput). */
export interface FloatGrid { bits: number; frac: number }

/** Its name in kiln's datatype notation: INTn without fractional bits, else FIXED<bits,frac>. */
export const gridName = (g: FloatGrid): string => qtypeName(g.frac === 0 ? int(g.bits) : fixed(g.bits, g.frac));

/** `--input-type` → the grid: INTn or FIXED<w,f> (w-bit signed, f fractional bits); anything else is KLN1014. */
export function parseFloatGrid(text: string): FloatGrid {
  const bad = (): never => fail('BadArgument', `--input-type must be INTn or FIXED<w,f> (w-bit signed codes, f fractional bits; hls4ml's ap_fixed<16,6> is FIXED<16,10>), not '${text}'`);
  let t;
  try {
    t = parseQType(text.trim());
  } catch (e) {
    if (e instanceof KilnError) bad();
    throw e;
  }
  if (t.kind === 'FIXED' && t.width >= 2 && t.width <= 32) return { bits: t.width, frac: t.frac };
  if (t.kind === 'INT' && t.signed && t.bits >= 2 && t.bits <= 32) return { bits: t.bits, frac: 0 };
  return bad();
}

/** What the host does to a float input when kiln chose its grid, and the worst-case error it causes. */
export interface HostGrid {
  /** The grid (e.g. 'FIXED<16,10>') and its codes' datatype on the input stream. */
  grid: string;
  codes: string;
  /** Model-input step between codes, and the range of model inputs that are not clamped. */
  step: number;
  range: [number, number];
  /** Worst-case |input − its grid value| inside the range (half a step); inputs outside are clamped. */
  maxError: number;
}

/** The chosen grid of a host input quantizer, or undefined when the model quantizes its input itself (no error against the model). */
export function hostGrid(q: InputQuantizer | undefined): HostGrid | undefined {
  if (!q?.chosenGrid) return undefined;
  const [lo, hi] = range(q.qtype);
  const s = q.scale[0];
  const z = q.zeroPoint[0];
  const ends = [(lo - z) * s, (hi - z) * s].sort((a, b) => a - b) as [number, number];
  return { grid: q.chosenGrid, codes: qtypeName(q.qtype), step: Math.abs(s), range: ends, maxError: Math.abs(s) / 2 };
}

/** Largest |x − its grid value| over these inputs (the clamped ones included), and how many were clamped. */
export function hostInputError(q: InputQuantizer, rows: ArrayLike<number>[]): { maxError: number; clamped: number } {
  let maxError = 0;
  let clamped = 0;
  const [lo, hi] = range(q.qtype);
  for (const x of rows) {
    const codes = quantizeInput({ ...q, order: undefined }, x);
    for (let i = 0; i < x.length; i++) {
      const s = q.scale.length === 1 ? q.scale[0] : q.scale[i % q.scale.length];
      const z = q.zeroPoint.length === 1 ? q.zeroPoint[0] : q.zeroPoint[i % q.zeroPoint.length];
      if (codes[i] === lo || codes[i] === hi) {
        const u = x[i] / s + z;
        if (u < lo - 0.5 || u > hi + 0.5) clamped++;
      }
      maxError = Math.max(maxError, Math.abs(x[i] - (codes[i] - z) * s));
    }
  }
  return { maxError, clamped };
}

const g3 = (v: number): string => Number(v.toPrecision(3)).toString();

/** One line for `kiln compile` and `kiln sim`. */
export function describeHostGrid(h: HostGrid): string {
  return `host input: float, quantized by kiln to ${h.grid} (${h.codes} codes, step ${g3(h.step)}): worst-case input error ${g3(h.maxError)} inside [${Number(h.range[0].toPrecision(6))}, ${Number(h.range[1].toPrecision(6))}], clamped outside; choose the grid with --input-type`;
}
