// Multiply-accumulate count per layer, from inferred shapes.
import { staticShape, type Graph, type Node } from '../ir/graph.ts';
import { numel } from '../ir/tensor.ts';

export interface LayerMacs {
  node: string;
  op: string;
  /** null when a shape it needs is unknown. */
  macs: number | null;
}

function nodeMacs(g: Graph, n: Node): number | null | undefined {
  const out = staticShape(g, n.outputs[0]);
  switch (n.op) {
    case 'Conv': case 'ConvInteger': case 'QLinearConv': {
      const w = staticShape(g, n.inputs[n.op === 'QLinearConv' ? 3 : 1]);
      // Each output element sums over (input channels / group) × kernel, i.e. one weight filter.
      return out && w ? numel(out) * numel(w.slice(1)) : null;
    }
    case 'Gemm': {
      const a = staticShape(g, n.inputs[0]);
      if (!out || !a || a.length !== 2) return null;
      const k = n.attrs.transA?.kind === 'int' && n.attrs.transA.v === 1 ? a[0] : a[1];
      return numel(out) * k;
    }
    case 'MatMul': case 'MatMulInteger': case 'QLinearMatMul': {
      const a = staticShape(g, n.inputs[0]);
      return out && a && a.length > 0 ? numel(out) * a[a.length - 1] : null;
    }
    default:
      return undefined;
  }
}

export function macCount(g: Graph): { layers: LayerMacs[]; total: number | null } {
  const layers: LayerMacs[] = [];
  for (const n of g.nodes) {
    const m = nodeMacs(g, n);
    if (m !== undefined) layers.push({ node: n.name, op: n.op, macs: m });
  }
  const total = layers.some((l) => l.macs === null) ? null : layers.reduce((a, l) => a + (l.macs ?? 0), 0);
  return { layers, total };
}
