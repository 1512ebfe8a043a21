// Constant folding: a node whose inputs are all constants is executed once and replaced by its
// outputs as initializers. Shape(x) of a statically shaped x is a constant too, so flatten
// subgraphs (Shape → Gather → Unsqueeze → Concat → Reshape's shape) fold away once shapes are known.
import { lookupOp } from '../exec/registry.ts';
import { staticShape, type Graph, type Node } from '../ir/graph.ts';
import { makeTensor, type Tensor } from '../ir/tensor.ts';
import type { Pass } from './pass.ts';

/**
 * Ops never folded: quantizers stay, so later passes still see which weights are quantized and to
 * what (as qonnx's FoldConstants keeps Quant/BipolarQuant); random ops are not constants.
 */
export const KEEP_OPS = new Set([
  'Quant', 'IntQuant', 'BipolarQuant', 'Trunc', 'QuantizeLinear', 'DequantizeLinear',
  'RandomNormal', 'RandomUniform', 'RandomNormalLike', 'RandomUniformLike', 'Multinomial', 'Bernoulli',
]);

/** The value of a Shape node whose input shape is fully known. */
function shapeValue(g: Graph, n: Node): Tensor | undefined {
  const s = staticShape(g, n.inputs[0]);
  if (!s) return undefined;
  const r = s.length;
  const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + r : v, 0), r);
  const start = clamp(n.attrs.start?.kind === 'int' ? n.attrs.start.v : 0);
  const end = clamp(n.attrs.end?.kind === 'int' ? n.attrs.end.v : r);
  const dims = s.slice(start, Math.max(start, end));
  return makeTensor('int64', [dims.length], dims);
}

function foldable(g: Graph, n: Node): boolean {
  if (KEEP_OPS.has(n.op) || lookupOp(n) === undefined) return false;
  const ins = n.inputs.filter((i) => i !== '');
  return ins.length > 0 && ins.every((i) => g.initializers.has(i));
}

export const foldConstants: Pass = {
  name: 'fold-constants',
  run(g: Graph): boolean {
    let changed = false;
    const opset = g.opsets[''] ?? 13;
    const kept: Node[] = [];
    for (const n of g.nodes) {
      let outs: Tensor[] | undefined;
      if (n.op === 'Shape' && (n.domain === '' || n.domain === 'ai.onnx')) {
        const v = shapeValue(g, n);
        if (v) outs = [v];
      } else if (foldable(g, n)) {
        const ins = n.inputs.map((i) => (i === '' ? undefined : g.initializers.get(i)));
        outs = lookupOp(n)!(n, ins, { opset });
      }
      if (!outs) {
        kept.push(n);
        continue;
      }
      n.outputs.forEach((o, k) => {
        if (o !== '' && outs[k]) {
          g.initializers.set(o, outs[k]);
          g.valueInfo.delete(o);
        }
      });
      changed = true;
    }
    g.nodes = kept;
    return changed;
  },
};
