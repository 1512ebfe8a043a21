// What the host does on either side of the hardware: float input → integer codes (InputQuantizer)
// and output codes → floats (OutputAffine). See src/ir/dataflow.ts for the contract.
import { range } from '../ir/datatype.ts';
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
