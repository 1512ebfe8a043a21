// Per-layer weight statistics: how many distinct values each weight tensor really takes, the bit
// width that implies, sparsity, and memory as stored vs as quantized (the compression ratio).
import { KilnError } from '../diag/index.ts';
import { lookupOp } from '../exec/registry.ts';
import { producers, type Graph, type Node } from '../ir/graph.ts';
import { isFloat, numel, toNumbers, type DType, type Tensor } from '../ir/tensor.ts';
import { WEIGHT_LAYOUT } from '../lower/ops.ts';

/** Which input holds the weights, per op. */
export const WEIGHT_INPUT: Record<string, number> = {
  Conv: 1, ConvInteger: 1, QLinearConv: 3, Gemm: 1, MatMul: 1, MatMulInteger: 1, QLinearMatMul: 3,
};

export type WeightKind = 'constant' | 'bipolar' | 'binary' | 'ternary' | 'int' | 'float';

export interface LayerWeights {
  node: string;
  op: string;
  /** The initializer the weights are stored in. */
  tensor: string;
  shape: number[];
  storedDType: DType;
  elements: number;
  /** Distinct values of the effective weights (after any constant quantizer on the path). */
  levels: number;
  kind: WeightKind;
  /** Implied bits per weight. */
  bits: number;
  /** Fraction of weights that are exactly zero. */
  sparsity: number;
  storedBits: number;
  quantizedBits: number;
}

export const STORED_BITS: Record<DType, number> = {
  float32: 32, float64: 64, float16: 16, bfloat16: 16, int8: 8, uint8: 8, int16: 16, uint16: 16,
  int32: 32, uint32: 32, int64: 64, uint64: 64, bool: 8, string: 0,
};

/** Largest distinct-level count still counted as a quantized (integer-grid) tensor. */
const MAX_LEVELS = 1 << 16;

interface ConstEval {
  value: Tensor;
  /** The biggest initializer the value is computed from (where the weights are stored). */
  root: string;
}

/** Evaluates the constant cone producing `name` (through quantizers, transposes, …), if constant. */
export function evalConstant(g: Graph, name: string, cache = new Map<string, ConstEval | null>(), prod = producers(g)): ConstEval | undefined {
  if (cache.has(name)) return cache.get(name) ?? undefined;
  const init = g.initializers.get(name);
  if (init) return { value: init, root: name };
  cache.set(name, null); // guards against cycles
  const n: Node | undefined = prod.get(name);
  const impl = n && lookupOp(n);
  if (!n || !impl) return undefined;
  const ins: (ConstEval | undefined)[] = n.inputs.map((i) => (i === '' ? undefined : evalConstant(g, i, cache, prod)));
  if (n.inputs.some((i, k) => i !== '' && !ins[k])) return undefined;
  let outs: Tensor[];
  try {
    outs = impl(n, ins.map((i) => i?.value), { opset: g.opsets[''] ?? 13 });
  } catch (e) {
    if (e instanceof KilnError) return undefined;
    throw e;
  }
  const root = ins.filter((i): i is ConstEval => !!i).sort((a, b) => numel(g.initializers.get(b.root)!.shape) - numel(g.initializers.get(a.root)!.shape))[0]?.root;
  if (!root) return undefined;
  const result = { value: outs[n.outputs.indexOf(name)], root };
  cache.set(name, result);
  return result;
}

/** Kind and implied bit width of a set of distinct sorted values (one grid for the whole tensor). */
export function classifyLevels(levels: number[], storedDType: DType): { kind: WeightKind; bits: number } {
  const k = levels.length;
  if (k <= 1) return { kind: 'constant', bits: 1 };
  if (k === 2) {
    if (levels[0] === -levels[1]) return { kind: 'bipolar', bits: 1 };
    if (levels[0] === 0 || levels[1] === 0) return { kind: 'binary', bits: 1 };
  }
  if (k === 3 && levels[1] === 0 && levels[0] === -levels[2]) return { kind: 'ternary', bits: 2 };
  if (k <= MAX_LEVELS && onGrid(levels)) return { kind: 'int', bits: bitsFor(k) };
  return { kind: isFloat(storedDType) ? 'float' : 'int', bits: STORED_BITS[storedDType] };
}

const bitsFor = (levels: number) => Math.max(1, Math.ceil(Math.log2(levels)));

/** Channels shorter than this say nothing about a quantization grid (any 2 values form one). */
const MIN_CHANNEL = 16;

/**
 * Per-channel quantization (QDQ per-axis, Quant with a per-channel scale): every output channel is
 * on its own uniform grid. Returns the bits of the widest channel, or undefined when some is not.
 */
function perChannelBits(vals: number[], shape: number[], axis: number): number | undefined {
  const c = shape[axis];
  if (c === undefined || c < 2) return undefined;
  const inner = numel(shape.slice(axis + 1));
  const per = vals.length / c;
  if (per < MIN_CHANNEL) return undefined;
  const sets = Array.from({ length: c }, () => new Set<number>());
  vals.forEach((v, i) => sets[Math.floor(i / inner) % c].add(v));
  let worst = 1;
  for (const set of sets) {
    if (set.size > MAX_LEVELS) return undefined;
    const levels = [...set].sort((a, b) => a - b);
    if (levels.length > 1 && !onGrid(levels)) return undefined;
    worst = Math.max(worst, levels.length);
  }
  return bitsFor(worst);
}

/**
 * Whether all values are lo + j·step for integers j (a uniform quantization grid). The step is
 * the smallest gap divided by a small k (codes need not be adjacent: gaps of 2 and 3 steps give a
 * smallest gap of 2), then refined over the whole span to wash out float32 rounding.
 */
function onGrid(sorted: number[]): boolean {
  let gap = Infinity;
  for (let i = 1; i < sorted.length; i++) gap = Math.min(gap, sorted[i] - sorted[i - 1]);
  if (!(gap > 0) || !Number.isFinite(gap)) return false;
  const lo = sorted[0];
  const span = sorted[sorted.length - 1] - lo;
  const fits = (step: number, tol: number) => sorted.every((v) => {
    const j = (v - lo) / step;
    return Math.abs(j - Math.round(j)) < tol;
  });
  for (let k = 1; k <= 8; k++) {
    const rough = gap / k;
    if (span / rough > MAX_LEVELS || !fits(rough, 0.02)) continue;
    return fits(span / Math.round(span / rough), 1e-3);
  }
  return false;
}

/** The output-channel axis of a layer's weight tensor. */
function channelAxis(n: Node, rank: number, weightInput: number): number {
  if (n.op === 'Gemm') return n.attrs.transB?.kind === 'int' && n.attrs.transB.v === 1 ? 0 : 1;
  if (n.op.includes('MatMul')) return weightInput === 0 ? rank - 2 : rank - 1;
  return 0; // Conv family: [out, in/group, k…] (channels_last OHWI too)
}

/** The quantizer a weight comes out of, looking through transposes and reshapes. */
function quantizerOf(name: string, prod: Map<string, Node>): Node | undefined {
  let n = prod.get(name);
  while (n && WEIGHT_LAYOUT.has(n.op)) n = prod.get(n.inputs[0]);
  return n && ['DequantizeLinear', 'Quant', 'IntQuant', 'BipolarQuant'].includes(n.op) ? n : undefined;
}

function layerStats(g: Graph, n: Node, cache: Map<string, ConstEval | null>, prod: Map<string, Node>): LayerWeights | undefined {
  let idx = WEIGHT_INPUT[n.op];
  if (idx === undefined) return undefined;
  let ev = n.inputs[idx] ? evalConstant(g, n.inputs[idx], cache, prod) : undefined;
  // MatMul may carry its constant operand on the left.
  if (!ev && n.op === 'MatMul' && n.inputs[0]) {
    idx = 0;
    ev = evalConstant(g, n.inputs[0], cache, prod);
  }
  if (!ev || ev.value.dtype === 'string') return undefined;
  const vals = toNumbers(ev.value);
  const levels = [...new Set(vals)].sort((a, b) => a - b);
  const stored = g.initializers.get(ev.root)!;
  let { kind, bits } = classifyLevels(levels, stored.dtype);
  // Behind a DequantizeLinear the integer codes tell the width (per-axis scales spread the values).
  const q = quantizerOf(n.inputs[idx], prod);
  if (q?.op === 'DequantizeLinear') {
    const codes = evalConstant(g, q.inputs[0], cache, prod);
    if (codes) {
      const c = classifyLevels([...new Set(toNumbers(codes.value))].sort((a, b) => a - b), codes.value.dtype);
      if (c.bits < bits) ({ kind, bits } = c);
    }
  }
  if (kind === 'float') {
    const pc = perChannelBits(vals, ev.value.shape, channelAxis(n, ev.value.shape.length, idx));
    if (pc !== undefined) ({ kind, bits } = { kind: 'int', bits: pc });
  }
  const elements = vals.length;
  return {
    node: n.name, op: n.op, tensor: ev.root, shape: ev.value.shape, storedDType: stored.dtype, elements,
    levels: levels.length, kind, bits, sparsity: elements ? vals.filter((v) => v === 0).length / elements : 0,
    storedBits: elements * STORED_BITS[stored.dtype], quantizedBits: elements * bits,
  };
}

export interface WeightSummary {
  layers: LayerWeights[];
  storedBits: number;
  quantizedBits: number;
  /** Compression ratio Cr = stored / quantized (1 for a float model). */
  compressionRatio: number;
}

export function weightStats(g: Graph): WeightSummary {
  const cache = new Map<string, ConstEval | null>();
  const prod = producers(g);
  const layers = g.nodes.map((n) => layerStats(g, n, cache, prod)).filter((l): l is LayerWeights => !!l);
  const storedBits = layers.reduce((a, l) => a + l.storedBits, 0);
  const quantizedBits = layers.reduce((a, l) => a + l.quantizedBits, 0);
  return { layers, storedBits, quantizedBits, compressionRatio: quantizedBits ? storedBits / quantizedBits : 1 };
}
