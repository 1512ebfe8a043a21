// Post-training quantization (no retraining): weights per channel or per tensor, activations per
// tensor, any width from 2 to 16 bits, symmetric or asymmetric, activation ranges calibrated on user
// data (min-max, percentile or MSE), with bias correction (Nagel et al. 2019: the quantization error's
// mean effect (W_q − W)·E[x] is subtracted from the bias).
//
// Written form (read by kiln and onnxruntime alike; see docs/compression.md):
//  - weights: integer codes as an int8 (≤ 8 bits) or int16 initializer → DequantizeLinear (per-axis
//    scale for per-channel);
//  - activations: QuantizeLinear → Clip(code range) → DequantizeLinear ("QCDQ", the layout Brevitas
//    and the zoo's 4-bit models use) with an 8-bit container; exactly 8 bits drops the Clip. 9–15
//    bits clip in float before a 16-bit QuantizeLinear (onnxruntime has no int16 Clip);
//  - 16-bit containers need QuantizeLinear/DequantizeLinear-21, so the model's opset is raised to 21.
//  - biases stay float32 but are snapped onto the accumulator grid s_in·s_w.
// Scales are powers of two by default ('pow2'): products of codes are then exact in float32, so the
// float MAC equals the integer one in any summation order — kiln, onnxruntime and the generated
// hardware agree bit for bit. 'float' scales use the whole code range (slightly more accurate) at the
// price of float rounding differences between executors.
import { fail } from '../diag/index.ts';
import { type Graph, type Node } from '../ir/graph.ts';
import { makeTensor, type DType } from '../ir/tensor.ts';
import { floatMacInputs } from '../lower/rules/float-activations.ts';
import { calibrate, channelMeans, type TensorStats } from './calibrate.ts';
import { biasOf, checkInteger, freshName, getMatrix, setBias, tidyAfterEdit, weightLayers, type WeightLayer } from './layers.ts';

export type CalibrationMethod = 'minmax' | 'percentile' | 'mse';

export interface QuantizeOptions {
  /** Weight bits, 2–16. */
  weightBits: number;
  /** Activation bits, 2–16; null leaves activations float. Default: weightBits. */
  actBits?: number | null;
  perChannel?: boolean;
  symmetric?: boolean;
  method?: CalibrationMethod;
  /** Percentile of |x| kept by 'percentile' (default 99.99). */
  percentile?: number;
  biasCorrection?: boolean;
  scales?: 'pow2' | 'float';
  /** Input vectors (one inference each); needed for activations and bias correction. */
  calibration?: Float32Array[];
}

export interface QuantizeReport { weights: { layer: string; bits: number; scales: number }[]; activations: { tensor: string; bits: number; scale: number; zeroPoint: number }[] }

interface Grid { scale: number; zero: number; qmin: number; qmax: number }

const pow2Up = (x: number) => 2 ** Math.ceil(Math.log2(x));

function mse(values: ArrayLike<number>, g: Grid): number {
  let e = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const q = Math.min(g.qmax, Math.max(g.qmin, Math.round(v / g.scale) + g.zero));
    e += (v - (q - g.zero) * g.scale) ** 2;
  }
  return e;
}

/** The scale candidates for a range r mapped onto `levels` steps, best (lowest MSE) picked when several. */
function chooseGrid(values: ArrayLike<number>, lo: number, hi: number, bits: number, signed: boolean, symmetric: boolean, narrow: boolean, opts: { method: CalibrationMethod; percentile: number; pow2: boolean }): Grid {
  const qmin = signed ? -(2 ** (bits - 1)) + (narrow ? 1 : 0) : 0;
  const qmax = signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1;
  const tiny = 2 ** -24;
  // The clipping range before any search: min-max or percentiles.
  let [a, b] = [Math.min(lo, 0), Math.max(hi, 0)];
  if (opts.method === 'percentile' && values.length > 0) {
    const sorted = Float64Array.from(values).sort();
    const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.round((p / 100) * (sorted.length - 1))))];
    if (symmetric) {
      const abs = Float64Array.from(values, Math.abs).sort();
      const m = abs[Math.min(abs.length - 1, Math.round((opts.percentile / 100) * (abs.length - 1)))];
      [a, b] = [signed ? -m : 0, m];
    } else [a, b] = [Math.min(0, at(100 - opts.percentile)), Math.max(0, at(opts.percentile))];
  }
  const make = (shrink: number): Grid => {
    if (symmetric) {
      const m = Math.max(Math.abs(a), Math.abs(b), tiny) * shrink;
      const s = m / qmax;
      return { scale: opts.pow2 ? pow2Up(s) : s, zero: 0, qmin, qmax };
    }
    const s0 = Math.max((b - a) * shrink, tiny) / (qmax - qmin);
    const s = opts.pow2 ? pow2Up(s0) : s0;
    const zero = Math.min(qmax, Math.max(qmin, Math.round(qmin - (a * shrink) / s)));
    return { scale: s, zero, qmin, qmax };
  };
  if (opts.method !== 'mse') return make(1);
  // MSE: shrink the range (halving steps for power-of-two scales, 1 % steps otherwise).
  const shrinks = opts.pow2 ? [1, 0.5, 0.25] : Array.from({ length: 71 }, (_, i) => 1 - i * 0.01);
  let best = make(1);
  let bestErr = mse(values, best);
  for (const f of shrinks.slice(1)) {
    const gr = make(f);
    const e = mse(values, gr);
    if (e < bestErr) { best = gr; bestErr = e; }
  }
  return best;
}

const container = (bits: number, signed: boolean): DType => (bits <= 8 ? (signed ? 'int8' : 'uint8') : signed ? 'int16' : 'uint16');

/** Quantizes g in place. */
export function quantize(g: Graph, opts: QuantizeOptions): QuantizeReport {
  checkInteger('weight bit width', opts.weightBits, 2, 16);
  const actBits = opts.actBits === undefined ? opts.weightBits : opts.actBits;
  if (actBits !== null) checkInteger('activation bit width', actBits, 2, 16);
  const symmetric = opts.symmetric ?? true;
  const perChannel = opts.perChannel ?? true;
  const pow2 = (opts.scales ?? 'pow2') === 'pow2';
  const method = opts.method ?? 'minmax';
  const percentile = opts.percentile ?? 99.99;
  if (!(percentile > 50 && percentile <= 100)) fail('BadArgument', `percentile must be in (50, 100], not ${percentile}`);
  const biasCorrection = opts.biasCorrection ?? true;
  const calib = opts.calibration ?? [];
  if ((actBits !== null || biasCorrection) && calib.length === 0) fail('BadArgument', 'quantizing activations or correcting biases needs calibration data (--calib x.npy)');

  const layers = weightLayers(g).filter((l) => !alreadyIntegers(g, l, opts.weightBits));
  const targets = actBits === null ? [] : floatMacInputs(g);
  const actTensors = [...new Set(targets.map((t) => t.tensor))];
  const stats: Map<string, TensorStats> = actTensors.length ? calibrate(g, calib, actTensors) : new Map();
  const means = biasCorrection ? layerInputMeans(g, layers, calib) : new Map<string, Float64Array>();
  const report: QuantizeReport = { weights: [], activations: [] };
  let wide = actBits !== null && actBits > 8;

  // Activation quantizers first: the bias grid needs each layer's input scale.
  const inputScale = new Map<string, number>();
  for (const tensor of actTensors) {
    const st = stats.get(tensor)!;
    const signed = symmetric ? st.lo < 0 : false;
    const grid = chooseGrid(st.sample, st.lo, st.hi, actBits!, signed, symmetric, false, { method, percentile, pow2 });
    const dq = insertActQuant(g, tensor, grid, actBits!, signed);
    for (const t of targets) if (t.tensor === tensor) { t.mac.inputs[0] = dq; inputScale.set(t.mac.name, grid.scale); }
    report.activations.push({ tensor, bits: actBits!, scale: grid.scale, zeroPoint: grid.zero });
  }

  for (const l of layers) {
    const m = getMatrix(g, l);
    const groups = perChannel ? l.rows : 1;
    const per = m.length / groups;
    const codes = new Int32Array(m.length);
    const scales: number[] = [];
    const zeros: number[] = [];
    const deq = new Float64Array(m.length);
    for (let c = 0; c < groups; c++) {
      const w = m.subarray(c * per, (c + 1) * per);
      let lo = Infinity, hi = -Infinity;
      for (const v of w) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
      // Symmetric weights use the narrow range ±(2^(b−1) − 1) so −w has a code too.
      const grid = chooseGrid(w, lo, hi, opts.weightBits, true, symmetric, symmetric, { method: 'mse', percentile, pow2 });
      const s32 = Math.fround(grid.scale);
      for (let i = 0; i < per; i++) {
        const q = Math.min(grid.qmax, Math.max(grid.qmin, Math.round(w[i] / s32) + grid.zero));
        codes[c * per + i] = q;
        deq[c * per + i] = Math.fround((q - grid.zero) * s32);
      }
      scales.push(s32);
      zeros.push(grid.zero);
    }
    const bias = biasOf(g, l);
    if (bias) {
      const b = Float64Array.from(bias);
      const mean = means.get(l.node.name);
      if (mean) {
        // Bias correction: E[(W_q − W)·x] per output, with x's per-channel means spread over the columns.
        const perMean = l.cols / mean.length;
        for (let o = 0; o < l.rows; o++) {
          let d = 0;
          for (let c = 0; c < l.cols; c++) d += (deq[o * l.cols + c] - m[o * l.cols + c]) * mean[Math.floor(c / perMean)];
          b[o] -= d;
        }
      }
      const sIn = inputScale.get(l.node.name);
      if (sIn !== undefined && l.node.op !== 'MatMul') {
        for (let o = 0; o < l.rows; o++) {
          const step = sIn * scales[perChannel ? o : 0];
          b[o] = Math.round(b[o] / step) * step;
        }
      }
      setBias(g, l, b);
    }
    writeWeightQuant(g, l, codes, scales, zeros, opts.weightBits, perChannel);
    wide ||= opts.weightBits > 8;
    report.weights.push({ layer: l.node.name, bits: opts.weightBits, scales: scales.length });
  }
  if (wide) g.opsets[''] = Math.max(g.opsets[''] ?? 13, 21);
  tidyAfterEdit(g);
  return report;
}

/** Weights that already are small integers (binarized, ternarized) need no quantizer. */
function alreadyIntegers(g: Graph, l: WeightLayer, bits: number): boolean {
  const lim = 2 ** (bits - 1) - 1;
  const w = g.initializers.get(l.weight)!.data as Float32Array;
  return w.every((v) => Number.isInteger(v) && Math.abs(v) <= lim);
}

/** Mean of each input channel of every layer (float model), for bias correction. */
function layerInputMeans(g: Graph, layers: WeightLayer[], calib: Float32Array[]): Map<string, Float64Array> {
  const channels = new Map<string, number>();
  for (const l of layers) {
    const w = g.initializers.get(l.weight)!;
    channels.set(l.node.inputs[0], l.node.op === 'Conv' ? w.shape[1] : l.cols);
  }
  const byTensor = channelMeans(g, calib, [...channels.keys()], channels);
  return new Map(layers.flatMap((l) => (byTensor.has(l.node.inputs[0]) ? [[l.node.name, byTensor.get(l.node.inputs[0])!] as [string, Float64Array]] : [])));
}

function insertActQuant(g: Graph, tensor: string, grid: Grid, bits: number, signed: boolean): string {
  const dtype = container(bits, signed);
  const s = freshName(g, `${tensor}_scale`);
  g.initializers.set(s, makeTensor('float32', [], [grid.scale]));
  const z = freshName(g, `${tensor}_zero_point`);
  g.initializers.set(z, makeTensor(dtype, [], [grid.zero]));
  const nodes: Node[] = [];
  let x = tensor;
  const full = bits === 8 || bits === 16;
  if (!full && bits > 8) {
    // 9–15 bits: clip the float to the code range, then a 16-bit QuantizeLinear.
    const lo = freshName(g, `${tensor}_clip_lo`);
    const hi = freshName(g, `${tensor}_clip_hi`);
    g.initializers.set(lo, makeTensor('float32', [], [(grid.qmin - grid.zero) * grid.scale]));
    g.initializers.set(hi, makeTensor('float32', [], [(grid.qmax - grid.zero) * grid.scale]));
    const y = freshName(g, `${tensor}_clipped`);
    nodes.push({ name: freshName(g, `${tensor}_clip`), op: 'Clip', domain: '', inputs: [x, lo, hi], outputs: [y], attrs: {} });
    x = y;
  }
  let q = freshName(g, `${tensor}_q`);
  nodes.push({ name: freshName(g, `${tensor}_quantize`), op: 'QuantizeLinear', domain: '', inputs: [x, s, z], outputs: [q], attrs: {} });
  if (!full && bits < 8) {
    const lo = freshName(g, `${tensor}_qmin`);
    const hi = freshName(g, `${tensor}_qmax`);
    g.initializers.set(lo, makeTensor(dtype, [], [grid.qmin]));
    g.initializers.set(hi, makeTensor(dtype, [], [grid.qmax]));
    const y = freshName(g, `${tensor}_qclip`);
    nodes.push({ name: freshName(g, `${tensor}_code_clip`), op: 'Clip', domain: '', inputs: [q, lo, hi], outputs: [y], attrs: {} });
    q = y;
  }
  const dq = freshName(g, `${tensor}_dq`);
  nodes.push({ name: freshName(g, `${tensor}_dequantize`), op: 'DequantizeLinear', domain: '', inputs: [q, s, z], outputs: [dq], attrs: {} });
  // Before the first node that reads the tensor (graph inputs and producers come earlier).
  const first = g.nodes.findIndex((n) => n.inputs.includes(tensor));
  g.nodes.splice(first, 0, ...nodes);
  return dq;
}

function writeWeightQuant(g: Graph, l: WeightLayer, codes: Int32Array, scales: number[], zeros: number[], bits: number, perChannel: boolean): void {
  const w = g.initializers.get(l.weight)!;
  const dtype = container(bits, true);
  // Codes in the stored layout (transpose back for [in, out] weights).
  const stored = new Int32Array(codes.length);
  if (l.layout === 'oi') stored.set(codes);
  else for (let i = 0; i < l.cols; i++) for (let o = 0; o < l.rows; o++) stored[i * l.rows + o] = codes[o * l.cols + i];
  const q = freshName(g, `${l.weight}_codes`);
  g.initializers.set(q, makeTensor(dtype, w.shape, stored));
  const s = freshName(g, `${l.weight}_scale`);
  g.initializers.set(s, makeTensor('float32', perChannel ? [scales.length] : [], scales));
  const z = freshName(g, `${l.weight}_zero_point`);
  g.initializers.set(z, makeTensor(dtype, perChannel ? [zeros.length] : [], zeros));
  const out = freshName(g, `${l.weight}_dq`);
  const attrs: Node['attrs'] = perChannel ? { axis: { kind: 'int', v: l.channelAxis } } : {};
  g.nodes.splice(g.nodes.indexOf(l.node), 0, { name: freshName(g, `${l.weight}_dequantize`), op: 'DequantizeLinear', domain: '', inputs: [q, s, z], outputs: [out], attrs });
  l.node.inputs[1] = out;
}
