// Rule layout: Reshape / Flatten / Squeeze / Unsqueeze / Identity / Dropout / Transpose move no data in
// hardware. Streams are NHWC; position tables (src/lower/spatial.ts) carry the model's element order,
// so the host reorders an NCHW input once, an NCHW flatten permutes the next MatMul's weight columns,
// and an image output goes back to model order on the host.
import { KilnError } from '../../diag/index.ts';
import { attrInts, type Node } from '../../ir/graph.ts';
import { makeTensor, numel, toNumbers } from '../../ir/tensor.ts';
import { CODE_OPS, LAYOUT, MACS, SPATIAL_MACS } from '../ops.ts';
import { identityPositions, imageDims, nchwPositions, samePositions } from '../spatial.ts';
import type { InSide } from '../plan.ts';
import { runNode } from '../support.ts';
import { cannotLower, type GraphView } from '../view.ts';
import { runtimeFirst, type LoweringRule } from './rule.ts';

export const layoutRule: LoweringRule = {
  name: 'layout',
  doc: 'Layout ops are position tables, not hardware: the host reorders the input and output, weight columns absorb a flatten order.',
  matches: 'Reshape, Flatten, Squeeze, Unsqueeze, Identity, Dropout, Transpose, DepthToSpace / SpaceToDepth (an NCHW input, an NCHW flatten before a MatMul, QKeras NCHW → NHWC, a pixel shuffle at the graph input or output)',
  emits: 'nothing on chip: InputQuantizer.order / OutputAffine.order on the host, permuted MatMul weight columns',
  tests: ['test/passes/streamline-passes.test.ts', 'test/e2e/cnn-models.test.ts', 'test/generality/variants.test.ts'],
  ops: LAYOUT,
  operand: runtimeFirst('its run-time input must be the first'),
};

export function isLayoutPreserving(v: GraphView, n: Node): boolean {
  if (n.op !== 'Transpose') return true;
  const shape = v.shapes.get(n.inputs[0]) ?? [];
  const perm = attrInts(n, 'perm', shape.map((_, i) => shape.length - 1 - i));
  const kept = perm.filter((a) => shape[a] !== 1);
  return kept.every((a, i) => i === 0 || a > kept[i - 1]);
}

/** Stream position tables of the run-time tensors (src/lower/spatial.ts), from the input's table. */
export function propagatePositions(v: GraphView, inPos: Int32Array): Map<string, Int32Array> {
  const pos = new Map<string, Int32Array>([[v.input, inPos]]);
  for (const n of v.path) {
    const x = pos.get(n.inputs[v.dynIndex.get(n)!]);
    const shape = v.shapes.get(n.outputs[0]);
    if (!x || !shape) continue;
    if (SPATIAL_MACS.has(n.op) || CODE_OPS.has(n.op) || n.op === 'Concat') {
      if (shape.length === 4) pos.set(n.outputs[0], nchwPositions(shape[1], shape[2], shape[3]));
    } else if (MACS.has(n.op)) pos.set(n.outputs[0], identityPositions(numel(shape)));
    else if (LAYOUT.has(n.op)) {
      // Run the layout op itself on the table: it moves the positions as it would move the data.
      const rest = n.inputs.slice(1).map((i) => (i === '' ? undefined : v.consts.get(i)));
      const t = runNode(v.g, n, [makeTensor('float32', v.shapes.get(n.inputs[0])!, Float32Array.from(x)), ...rest])[0];
      pos.set(n.outputs[0], Int32Array.from(toNumbers(t)));
    } else if (numel(shape) === x.length) pos.set(n.outputs[0], x);
  }
  return pos;
}

/**
 * Positions of every run-time tensor, and the host's input reordering: when the first layer is
 * spatial and its input (through any layout ops) is not an NCHW image in stream order, the host
 * feeds stream element j = input element order[j] (NCHW → NHWC; identity for channels-last models).
 */
export function trackPositions(v: GraphView): { positions: Map<string, Int32Array>; order?: number[] } {
  const n0 = numel(v.shapes.get(v.input) ?? [1]);
  const positions = propagatePositions(v, identityPositions(n0));
  const first = v.path.find((n) => MACS.has(n.op) || CODE_OPS.has(n.op));
  if (!first || !(SPATIAL_MACS.has(first.op) || CODE_OPS.has(first.op))) return { positions };
  const shape = v.shapes.get(first.inputs[0]);
  const src = positions.get(first.inputs[0]);
  if (!shape || shape.length !== 4 || !src) return { positions };
  const want = nchwPositions(shape[1], shape[2], shape[3]);
  if (samePositions(src, want)) return { positions };
  const inPos = new Int32Array(n0);
  const order = new Array<number>(n0);
  for (let i = 0; i < n0; i++) {
    inPos[src[i]] = want[i];
    order[want[i]] = src[i];
  }
  return { positions: propagatePositions(v, inPos), order };
}

/** The input image [C, H, W] of a spatial node, checked to be in stream (NHWC) order. */
export function imageInput(v: GraphView, n: Node, positions: Map<string, Int32Array>): [number, number, number] {
  const dims = imageDims(n, v.shapes.get(n.inputs[0]));
  const pos = positions.get(n.inputs[0]);
  if (pos && !samePositions(pos, nchwPositions(...dims))) {
    throw new KilnError(cannotLower(n, 'its input image is not in stream order (a layout op between layers reorders it; only the graph input may be reordered, on the host)', { rule: 'layout', fix: 'move the reorder to the graph input or output (the host reorders there), or drop it' }));
  }
  return dims;
}

/** The image [C, H, W] a window layer reads, and the code its padding fills with (the input zero point: float 0). */
export function windowInput(v: GraphView, mac: Node, input: InSide): { dims: [number, number, number]; padCode: number } {
  const dims = imageInput(v, mac, input.positions);
  const padCode = input.model.z;
  if (!Number.isInteger(padCode)) throw new KilnError(cannotLower(mac, `input zero point ${padCode} is not an integer code (padding needs the code of 0)`, { rule: 'layout', fix: 'quantize the input with an integer zero point' }));
  return { dims, padCode };
}
