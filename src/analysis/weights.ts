// Per-layer weight statistics: how many distinct values each weight tensor really takes, the bit
// width that implies, sparsity, and memory as stored vs as quantized (the compression ratio).
import { KilnError } from '../diag/index.ts';
import { lookupOp } from '../exec/registry.ts';
import { producers, type Graph, type Node } from '../ir/graph.ts';
import { isFloat, numel, toNumbers, type DType, type Tensor } from '../ir/tensor.ts';

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

/** Kind and implied bit width of a set of distinct sorted values. */
export function classifyLevels(levels: number[], storedDType: DType): { kind: WeightKind; bits: number } {
  const k = levels.length;
  if (k <= 1) return { kind: 'constant', bits: 1 };
  if (k === 2) {
    if (levels[0] === -levels[1]) return { kind: 'bipolar', bits: 1 };
    if (levels[0] === 0 || levels[1] === 0) return { kind: 'binary', bits: 1 };
  }
  if (k === 3 && levels[1] === 0 && levels[0] === -levels[2]) return { kind: 'ternary', bits: 2 };
  if (k <= MAX_LEVELS && onGrid(levels)) return { kind: 'int', bits: Math.max(1, Math.ceil(Math.log2(k))) };
  return { kind: isFloat(storedDType) ? 'float' : 'int', bits: STORED_BITS[storedDType] };
}

/** Whether all values are lo + j·step for integers j (a uniform quantization grid). */
function onGrid(sorted: number[]): boolean {
  let step = Infinity;
  for (let i = 1; i < sorted.length; i++) step = Math.min(step, sorted[i] - sorted[i - 1]);
  if (!(step > 0) || !Number.isFinite(step)) return false;
  const lo = sorted[0];
  return sorted.every((v) => {
    const j = (v - lo) / step;
    return Math.abs(j - Math.round(j)) < 1e-3;
  });
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
  const { kind, bits } = classifyLevels(levels, stored.dtype);
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
