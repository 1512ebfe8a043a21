// Structured pruning (Li et al. 2017, "Pruning Filters for Efficient ConvNets"): in each layer the
// output channels (conv filters, FC neurons) with the smallest L1 norm are removed, together with
// their bias and BatchNorm entries and the matching input channels of the next layer — the network
// gets genuinely smaller (fewer MACs, smaller matrices), not just sparser. A layer is pruned only
// when its output reaches exactly one next layer through per-channel ops (Relu, BatchNorm, pooling,
// Flatten …); the last layer (the model's outputs) never is.
import { attrInt, consumers, staticShape, type Graph, type Node } from '../ir/graph.ts';
import { makeTensor, numel } from '../ir/tensor.ts';
import { runPipeline } from '../passes/runner.ts';
import { checkRange, getMatrix, tidyAfterEdit, weightLayers, type WeightLayer } from './layers.ts';

/** Ops that act on each channel separately (and keep channels on axis 1). */
const PER_CHANNEL = new Set(['Relu', 'BatchNormalization', 'MaxPool', 'AveragePool', 'Clip', 'LeakyRelu', 'Sigmoid', 'Tanh', 'Identity', 'Dropout']);

interface Chain { ops: Node[]; next: WeightLayer; flattenSpatial: number }

function chainToNext(g: Graph, l: WeightLayer, layers: WeightLayer[]): Chain | undefined {
  const cons = consumers(g);
  const ops: Node[] = [];
  let t = l.node.outputs[0];
  let spatial = 1;
  for (;;) {
    if (g.outputs.some((o) => o.name === t)) return undefined;
    const cs = cons.get(t) ?? [];
    if (cs.length !== 1) return undefined;
    const c = cs[0];
    const next = layers.find((x) => x.node === c);
    if (next) return c.inputs[0] === t ? { ops, next, flattenSpatial: spatial } : undefined;
    if (c.op === 'Flatten') {
      const s = staticShape(g, t);
      if (!s || s.length < 2 || attrInt(c, 'axis', 1) !== 1) return undefined;
      spatial = numel(s.slice(2));
    } else if (!PER_CHANNEL.has(c.op) || c.inputs[0] !== t) return undefined;
    ops.push(c);
    t = c.outputs[0];
  }
}

/** Keeps entries `keep` of axis `axis` of an initializer. */
function sliceAxis(g: Graph, name: string, axis: number, keep: number[]): void {
  const t = g.initializers.get(name)!;
  const shape = t.shape;
  const outer = numel(shape.slice(0, axis));
  const inner = numel(shape.slice(axis + 1));
  const n = shape[axis];
  const data = t.data as Float32Array;
  const out = new Float32Array(outer * keep.length * inner);
  let o = 0;
  for (let a = 0; a < outer; a++) for (const k of keep) for (let i = 0; i < inner; i++) out[o++] = data[(a * n + k) * inner + i];
  g.initializers.set(name, makeTensor(t.dtype as 'float32', [...shape.slice(0, axis), keep.length, ...shape.slice(axis + 1)], out));
}

export interface FilterPruned { layer: string; kept: number; of: number }

/** Removes `ratio` of the output channels of every prunable layer of g, in place. */
export function filterPrune(g: Graph, ratio: number): FilterPruned[] {
  checkRange('filter pruning ratio', ratio, 0, 1, true);
  runPipeline(g, ['infer-shapes']);
  const layers = weightLayers(g);
  const plans = layers.map((l) => ({ l, chain: chainToNext(g, l, layers) })).filter((p): p is { l: WeightLayer; chain: Chain } => !!p.chain);
  // Decide every layer's kept channels on the original weights first (Li et al. prune independently).
  const decided = plans.map(({ l, chain }) => {
    const m = getMatrix(g, l);
    const norms = Array.from({ length: l.rows }, (_, r) => m.subarray(r * l.cols, (r + 1) * l.cols).reduce((a, v) => a + Math.abs(v), 0));
    const remove = Math.min(l.rows - 1, Math.floor(ratio * l.rows));
    const order = norms.map((_, i) => i).sort((a, b) => norms[a] - norms[b] || a - b);
    const gone = new Set(order.slice(0, remove));
    return { l, chain, keep: norms.map((_, i) => i).filter((i) => !gone.has(i)) };
  });
  const result: FilterPruned[] = [];
  for (const { l, chain, keep } of decided) {
    if (keep.length === l.rows) continue;
    sliceAxis(g, l.weight, l.channelAxis, keep);
    if (l.bias) {
      // A bias is [rows] or [1, rows]: slice the axis that holds the channels.
      const shape = g.initializers.get(l.bias)!.shape;
      sliceAxis(g, l.bias, shape.indexOf(l.rows), keep);
    }
    for (const op of chain.ops) {
      if (op.op === 'BatchNormalization') for (const p of op.inputs.slice(1)) sliceAxis(g, p, 0, keep);
    }
    // The next layer's inputs: axis 1 of a Conv/Gemm-transB weight, axis 0 of an [in, out] one;
    // after a Flatten each channel is `flattenSpatial` consecutive inputs.
    const next = chain.next;
    const cols = chain.flattenSpatial === 1 ? keep : keep.flatMap((k) => Array.from({ length: chain.flattenSpatial }, (_, i) => k * chain.flattenSpatial + i));
    sliceAxis(g, next.weight, next.layout === 'oi' ? 1 : 0, cols);
    result.push({ layer: l.node.name, kept: keep.length, of: l.rows });
  }
  tidyAfterEdit(g);
  return result;
}
