// Rule one-d-signals: a 1-D convolution or pooling on [1, C, L] (Brevitas RadioML-style QuantConv1d) is
// the same op on the image [1, C, 1, L]: the graph is rewritten before lowering, each 1-D window op
// between two Reshapes (to [1, C, 1, L] and back) with its attributes lifted to 2-D (kernel 1 × k,
// pads 0 on H). The Reshapes keep the element order, so they are layout (position tables), and the
// 2-D rules (conv, avgpool, code-ops) lower the rest.
import { attrInts, producers, type Graph, type Node } from '../../ir/graph.ts';
import { makeTensor } from '../../ir/tensor.ts';
import type { LoweringRule } from './rule.ts';

export const signal1dRule: LoweringRule = {
  name: 'one-d-signals',
  doc: 'A 1-D Conv / pooling on [1, C, L] is the 2-D op on the image [1, C, 1, L]: the graph is rewritten before lowering, the reshapes are layout.',
  matches: 'Conv with a 1-D kernel (kernel_shape [k] or weights [M, C/group, k]), MaxPool / AveragePool with kernel_shape [k], any strides/pads/dilations/group',
  emits: 'the 2-D op (kernel 1×k, pads 0 on H) between Reshapes to [1, C, 1, L] and back, then rules conv / avgpool / code-ops',
  tests: ['test/generality/variants.test.ts'],
  ops: new Set(),
};

const WINDOW_OPS = new Set(['Conv', 'MaxPool', 'AveragePool']);

/** The kernel rank of a window op: kernel_shape, else a Conv's weights (an initializer, possibly behind one op such as a Quant). */
function kernelRank(g: Graph, prod: Map<string, Node>, n: Node): number | undefined {
  const k = attrInts(n, 'kernel_shape', []);
  if (k.length) return k.length;
  if (n.op !== 'Conv') return undefined;
  const w = g.initializers.get(n.inputs[1]) ?? g.initializers.get(prod.get(n.inputs[1])?.inputs[0] ?? '');
  return w ? w.shape.length - 2 : undefined;
}

/** g with every 1-D window op lifted to 2-D (g itself when it has none; g is not modified). */
export function liftSignals(g: Graph): Graph {
  const prod = producers(g);
  const lifted = g.nodes.filter((n) => WINDOW_OPS.has(n.op) && n.domain === '' && kernelRank(g, prod, n) === 1);
  if (lifted.length === 0) return g;
  const initializers = new Map(g.initializers);
  const to2d = 'kiln_1d_to_2d';
  const to1d = 'kiln_2d_to_1d';
  initializers.set(to2d, makeTensor('int64', [4], [0, 0, 1, -1]));
  initializers.set(to1d, makeTensor('int64', [3], [0, 0, -1]));
  const reshape = (name: string, x: string, shape: string, out: string): Node => ({ name, op: 'Reshape', domain: '', inputs: [x, shape], outputs: [out], attrs: {} });
  const nodes: Node[] = [];
  for (const n of g.nodes) {
    if (!lifted.includes(n)) {
      nodes.push(n);
      continue;
    }
    const tag = `${n.name}_2d`;
    const inputs = [...n.inputs];
    nodes.push(reshape(`${tag}_in`, n.inputs[0], to2d, `${tag}_x`));
    inputs[0] = `${tag}_x`;
    const w = g.initializers.get(n.inputs[1]);
    if (n.op === 'Conv' && w && g.nodes.every((m) => m === n || !m.inputs.includes(n.inputs[1]))) {
      // Weights only this Conv reads keep their name (refusals name them): reshaped in place.
      initializers.set(n.inputs[1], { ...w, shape: [w.shape[0], w.shape[1], 1, w.shape[2]] });
    } else if (n.op === 'Conv') {
      nodes.push(reshape(`${tag}_w`, n.inputs[1], to2d, `${tag}_weights`));
      inputs[1] = `${tag}_weights`;
    }
    const attrs = { ...n.attrs };
    const lift = (key: string, pad: number) => {
      const a = attrs[key];
      if (a?.kind === 'ints') attrs[key] = { kind: 'ints', v: key === 'pads' ? [pad, a.v[0], pad, a.v[1]] : [pad, ...a.v] };
    };
    lift('kernel_shape', 1);
    lift('strides', 1);
    lift('dilations', 1);
    lift('pads', 0);
    nodes.push({ ...n, inputs, outputs: [`${tag}_y`], attrs });
    nodes.push(reshape(`${tag}_out`, `${tag}_y`, to1d, n.outputs[0]));
  }
  return { ...g, nodes, initializers };
}
