// The host side of a compiled design: float inputs → integer input codes (the manifest's inputQuant)
// and output codes → float outputs (outputAffine), as documented in src/ir/dataflow.ts.
// Channel of element i = i mod (number of scales): one scale = per-tensor.
import { fail } from '../diag/index.ts';
import { range } from '../ir/datatype.ts';
import type { InputQuantizer, OutputAffine } from '../ir/dataflow.ts';
import { roundHalfEven } from '../exec/kernels/round.ts';

const f32 = Math.fround;

/**
 * code = clamp(roundHalfEven(x / scale + zeroPoint)) in float32 arithmetic, like ONNX QuantizeLinear.
 * BIPOLAR has no zero: code = +1 when x / scale + zeroPoint ≥ 0, else −1 (sign with sign(0) = +1).
 */
export function quantizeInput(q: InputQuantizer, x: ArrayLike<number>): number[] {
  if (q.scale.length === 0 || q.scale.length !== q.zeroPoint.length) {
    fail('BadInputFile', `input quantizer needs as many scales as zero points (${q.scale.length} vs ${q.zeroPoint.length})`);
  }
  const [lo, hi] = range(q.qtype);
  const n = q.scale.length;
  const out = new Array<number>(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = f32(f32(f32(x[i]) / f32(q.scale[i % n])) + q.zeroPoint[i % n]);
    if (Number.isNaN(v)) fail('InputMismatch', `input element ${i} is NaN`);
    out[i] = q.qtype.kind === 'BIPOLAR' ? (v >= 0 ? 1 : -1) : Math.min(hi, Math.max(lo, roundHalfEven(v)));
  }
  return out;
}

/** y[i] = scale[c]·code[i] + offset[c] (float32). */
export function applyOutputAffine(a: OutputAffine, codes: ArrayLike<number>): number[] {
  const n = a.scale.length;
  const out = new Array<number>(codes.length);
  for (let i = 0; i < codes.length; i++) out[i] = f32(f32(a.scale[i % n] * codes[i]) + a.offset[i % n]);
  return out;
}
