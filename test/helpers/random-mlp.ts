// Seeded random quantized QONNX MLPs for differential tests (streamlining, dataflow executor, RTL).
// Each case is a real ONNX-level Graph the reference executor runs: Quant / BipolarQuant on the
// input, on the weights (MatMul or Gemm, per-tensor or per-output-channel power-of-two scales,
// sparsity) and on every hidden activation (1–8 bits, signed or not, narrow or not), with biases,
// BatchNorm (negative gammas included), scale Mul, Relu in between, and a float (affine) or
// quantized output. Weight and activation scales feeding a MAC are powers of two, so the float
// MatMul is exact and the lowering must match the executor bit for bit; BatchNorm, bias and Mul
// constants are arbitrary floats (they end up inside thresholds, evaluated exactly).
import { emptyGraph, type AttrValue, type Graph, type Node } from '../../src/ir/graph.ts';
import { makeTensor, type Tensor } from '../../src/ir/tensor.ts';
import { mulberry32 as rng } from '../../src/util/random.ts';

/** The seeded generator the tests share (src/util/random.ts). */
export { rng };

export interface RandomMlp {
  graph: Graph;
  /** Float input vectors covering the input quantizer's range. */
  inputs: Float32Array[];
  /** One line: the architecture, for failure messages. */
  description: string;
}

export interface RandomMlpOptions {
  /** Number of input vectors to generate (default 20). */
  vectors?: number;
  /** Largest layer width (default 24). */
  maxWidth?: number;
}

const QDOMAIN = 'qonnx.custom_op.general';

export function randomMlp(seed: number, opts: RandomMlpOptions = {}): RandomMlp {
  const r = rng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)];
  const maxW = opts.maxWidth ?? 24;
  const g = emptyGraph(`random_mlp_${seed}`);
  g.opsets = { '': 13, [QDOMAIN]: 1 };
  let uid = 0;
  const fresh = (base: string) => `${base}_${uid++}`;
  const constant = (base: string, t: Tensor): string => {
    const n = fresh(base);
    g.initializers.set(n, t);
    return n;
  };
  const scalar = (base: string, v: number) => constant(base, makeTensor('float32', [], [v]));
  const node = (op: string, inputs: string[], attrs: Record<string, AttrValue> = {}, domain = ''): string => {
    const out = fresh(op.toLowerCase());
    g.nodes.push({ name: fresh(`${op}_n`), op, domain, inputs, outputs: [out], attrs } as Node);
    return out;
  };
  const intAttr = (v: number): AttrValue => ({ kind: 'int', v });
  const desc: string[] = [];

  /** A random activation / input quantizer; returns its output tensor. */
  type Q = { kind: 'bipolar' } | { kind: 'int'; bits: number; signed: boolean; narrow: boolean; scale: number };
  const randomQuant = (allowUnsigned: boolean): Q => {
    if (r() < 0.15) return { kind: 'bipolar' };
    const signed = !allowUnsigned || r() < 0.5;
    const bits = int(signed ? 2 : 1, 8);
    return { kind: 'int', bits, signed, narrow: signed && r() < 0.3, scale: 2 ** int(-6, 1) };
  };
  const applyQuant = (x: string, q: Q): string => {
    if (q.kind === 'bipolar') return node('BipolarQuant', [x, scalar('s', 1)], {}, QDOMAIN);
    // IntQuant is the newer QONNX name of the same op.
    return node(r() < 0.2 ? 'IntQuant' : 'Quant', [x, scalar('s', q.scale), scalar('z', 0), scalar('b', q.bits)],
      { signed: intAttr(q.signed ? 1 : 0), narrow: intAttr(q.narrow ? 1 : 0), rounding_mode: { kind: 'string', v: 'ROUND' } }, QDOMAIN);
  };
  const qname = (q: Q) => (q.kind === 'bipolar' ? 'bipolar' : `${q.signed ? 'i' : 'u'}${q.bits}${q.narrow ? 'n' : ''}`);

  const depth = int(1, 4);
  const widths = [int(2, maxW)];
  for (let i = 0; i < depth; i++) widths.push(i === depth - 1 ? int(1, 10) : int(1, maxW));
  g.inputs = [{ name: 'x', dtype: 'float32', shape: [1, widths[0]] }];
  let cur = 'x';
  // Optional constant input scaling before the input quantizer (folded into the host quantizer).
  if (r() < 0.3) {
    cur = node('Mul', [cur, scalar('in_mul', 2 ** int(-2, 2))]);
    desc.push('in·2^k');
  }
  const inQ = randomQuant(true);
  cur = applyQuant(cur, inQ);
  desc.push(`in ${widths[0]} ${qname(inQ)}`);
  const quantizedOutput = r() < 0.5;
  for (let l = 0; l < depth; l++) {
    const K = widths[l];
    const N = widths[l + 1];
    const last = l === depth - 1;
    // Weights: float values quantized in-graph.
    const bipolarW = r() < 0.2;
    const wBits = int(2, 8);
    const perChannel = r() < 0.5;
    const sparsity = r() < 0.4 ? r() * 0.9 : 0;
    const gemm = r() < 0.5;
    const wShape = gemm ? [N, K] : [K, N];
    const wf = new Float32Array(N * K).map(() => (r() < sparsity ? 0 : (r() * 2 - 1) * 2));
    const w = constant('w', makeTensor('float32', wShape, wf));
    let wq: string;
    if (bipolarW) wq = node('BipolarQuant', [w, scalar('s', 2 ** int(-3, 0))], {}, QDOMAIN);
    else {
      const sc = perChannel
        ? constant('ws', makeTensor('float32', gemm ? [N, 1] : [1, N], Array.from({ length: N }, () => 2 ** int(-4, 0))))
        : scalar('ws', 2 ** int(-4, 0));
      wq = node('Quant', [w, sc, scalar('z', 0), scalar('b', wBits)],
        { signed: intAttr(1), narrow: intAttr(r() < 0.5 ? 1 : 0), rounding_mode: { kind: 'string', v: 'ROUND' } }, QDOMAIN);
    }
    const bias = () => constant('bias', makeTensor('float32', [N], Array.from({ length: N }, () => (r() * 2 - 1) * 4)));
    if (gemm) cur = node('Gemm', r() < 0.7 ? [cur, wq, bias()] : [cur, wq], { transB: intAttr(1) });
    else {
      cur = node('MatMul', [cur, wq]);
      if (r() < 0.6) cur = node('Add', [cur, bias()]);
    }
    const parts = [`${gemm ? 'gemm' : 'matmul'} ${K}→${N} w:${bipolarW ? 'bipolar' : `i${wBits}`}${perChannel && !bipolarW ? '/ch' : ''}${sparsity ? ` sp${sparsity.toFixed(2)}` : ''}`];
    if (r() < 0.5) {
      const vec = (f: () => number) => constant('bn', makeTensor('float32', [N], Array.from({ length: N }, f)));
      cur = node('BatchNormalization', [cur, vec(() => (r() < 0.2 ? -1 : 1) * (0.2 + r() * 2)), vec(() => r() * 2 - 1), vec(() => r() * 4 - 2), vec(() => 0.1 + r() * 3)], { epsilon: { kind: 'float', v: 1e-5 } });
      parts.push('bn');
    }
    if (r() < 0.3) {
      cur = node('Mul', [cur, scalar('m', (r() < 0.2 ? -1 : 1) * (0.1 + r() * 2))]);
      parts.push('mul');
    } else if (r() < 0.15) {
      cur = node('Div', [cur, scalar('d', 0.3 + r() * 3)]);
      parts.push('div');
    }
    if (last && !quantizedOutput) {
      desc.push(parts.join(' '));
      break;
    }
    if (r() < 0.1) {
      // ONNX Sign as the activation: three levels −1/0/+1.
      cur = node('Sign', [cur]);
      parts.push('sign');
      desc.push(parts.join(' '));
      continue;
    }
    const q = randomQuant(true);
    // The output quantizer feeds no MAC, so its scale may be any float (exercises Requant).
    if (last && q.kind === 'int' && r() < 0.6) q.scale = Math.fround(q.scale * (0.55 + r() * 0.9));
    if ((q.kind === 'int' && !q.signed) || r() < 0.2) {
      cur = node('Relu', [cur]);
      parts.push('relu');
    }
    cur = applyQuant(cur, q);
    parts.push(qname(q));
    desc.push(parts.join(' '));
  }
  g.outputs = [{ name: cur, dtype: 'float32', shape: [1, widths[depth]] }];
  // Inputs spread over the input quantizer's range (and a little beyond, to exercise clipping).
  const span = inQ.kind === 'bipolar' ? 1 : inQ.scale * 2 ** (inQ.bits - (inQ.signed ? 1 : 0)) * 1.2;
  const lo = inQ.kind === 'int' && !inQ.signed ? -0.1 * span : -span;
  const inputs = Array.from({ length: opts.vectors ?? 20 }, () => Float32Array.from({ length: widths[0] }, () => lo + r() * (span - lo)));
  if (desc[0] === 'in·2^k') {
    // The input Mul scales by 2^k: undo it so the quantizer still sees its range.
    const k = g.initializers.get(g.nodes[0].inputs[1])!.data[0] as number;
    for (const x of inputs) for (let i = 0; i < x.length; i++) x[i] = Math.fround(x[i] / k);
  }
  return { graph: g, inputs, description: `seed ${seed}: ${desc.join(' | ')}` };
}
