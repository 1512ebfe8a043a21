// Activation statistics for post-training quantization: per observed tensor the range, a value
// sample (for percentile and MSE calibration) and per-channel means (for bias correction). The runs
// themselves are src/lower/rules/float-activations.ts's `observeTensors` (one calibration loop in kiln).
import { fail } from '../diag/index.ts';
import { runtimeInputs, type Graph } from '../ir/graph.ts';
import { numel, toNumbers, type Tensor } from '../ir/tensor.ts';
import { observeTensors } from '../lower/rules/float-activations.ts';

export interface TensorStats {
  lo: number;
  hi: number;
  /** Up to SAMPLE_CAP values, in observation order. */
  sample: Float32Array;
}

const SAMPLE_CAP = 1 << 20;

/**
 * Splits a stacked file [N, …] into per-inference vectors for the model's first input. The file
 * must be float32 and each of its N rows must hold exactly as many values as the input (a [N, 784]
 * file may feed a [1, 1, 28, 28] input); anything else is KLN1012.
 */
export function splitSamples(g: Graph, t: Tensor, what: string): Float32Array[] {
  const decl = runtimeInputs(g)[0];
  const shape = (decl.shape ?? []).map((d) => (typeof d === 'number' ? d : 1));
  const per = numel(shape);
  const n = t.shape[0] ?? 0;
  const rowElems = numel(t.shape.slice(1));
  if (t.dtype !== 'float32' || t.shape.length < 2 || rowElems !== per || n < 1) {
    fail('InputMismatch', `${what} must be float32 [N, ${shape.slice(1).join(', ')}] (N samples for input '${decl.name}' of shape [${shape.join(', ')}]), not ${t.dtype} [${t.shape.join(', ')}]`);
  }
  const data = t.data instanceof Float32Array ? t.data : Float32Array.from(toNumbers(t));
  return Array.from({ length: n }, (_, i) => data.subarray(i * per, (i + 1) * per));
}

/** Runs the calibration vectors through g and gathers statistics of the named tensors. */
export function calibrate(g: Graph, calibration: Float32Array[], tensors: string[]): Map<string, TensorStats> {
  const acc = new Map<string, { lo: number; hi: number; sample: number[] }>();
  observeTensors(g, calibration, tensors, (name, values) => {
    let a = acc.get(name);
    if (!a) acc.set(name, (a = { lo: Infinity, hi: -Infinity, sample: [] }));
    for (const v of values) {
      if (v < a.lo) a.lo = v;
      if (v > a.hi) a.hi = v;
      if (a.sample.length < SAMPLE_CAP) a.sample.push(v);
    }
  });
  const out = new Map<string, TensorStats>();
  for (const [name, a] of acc) out.set(name, { lo: a.lo, hi: a.hi, sample: Float32Array.from(a.sample) });
  return out;
}

/** Mean of each channel (axis 1) of the named tensors over the calibration vectors. */
export function channelMeans(g: Graph, calibration: Float32Array[], tensors: string[], channels: Map<string, number>): Map<string, Float64Array> {
  const sums = new Map<string, Float64Array>();
  observeTensors(g, calibration, tensors, (name, values) => {
    const c = channels.get(name)!;
    let s = sums.get(name);
    if (!s) sums.set(name, (s = new Float64Array(c)));
    // Values are [1, C, …spatial] (or [1, C]): channel k owns a contiguous block.
    const inner = values.length / c;
    for (let k = 0; k < c; k++) {
      let t = 0;
      for (let i = 0; i < inner; i++) t += values[k * inner + i];
      s[k] += t / inner;
    }
  });
  for (const s of sums.values()) for (let k = 0; k < s.length; k++) s[k] /= calibration.length;
  return sums;
}
