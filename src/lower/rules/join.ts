// Rule join: a residual Add of two quantized branches is AddStreams, a channel Concat is a stream
// concat. The two branches must share one code scale; the larger-scale branch is scaled up by the
// integer ratio inside its Threshold (outBias, outScale × f: exact), see src/passes/streamline-branches.ts.
import { KilnError } from '../../diag/index.ts';
import { range, smallestIntFor, type QType } from '../../ir/datatype.ts';
import { attrInt, type Node } from '../../ir/graph.ts';
import { numel } from '../../ir/tensor.ts';
import type { CodeModel, InSide, MacWeights } from '../plan.ts';
import { cannotLower, type GraphView } from '../view.ts';
import type { LayerRule } from './rule.ts';

export const joinRule: LayerRule = {
  name: 'join',
  doc: 'Two branches join as AddStreams (Add) or a channel Concat, their code scales aligned by an exact integer factor (in a Threshold, or a raw branch\'s Requant).',
  matches: 'Add of two run-time tensors (residual blocks), Concat of two run-time tensors on the channel axis',
  emits: 'AddStreams / Concat stream layers (the fan-out before them duplicates the accumulator, bypass FIFOs sized analytically)',
  tests: ['test/e2e/cnn-models.test.ts', 'test/passes/lower-cnn.test.ts', 'test/generality/variants.test.ts'],
  ops: new Set(['Add', 'Concat']),
  weights: (v, n) => joinWeights(v, n),
};

/** The run-time inputs of n (not constants). */
export const runtimeInputsOf = (v: GraphView, n: Node): string[] => n.inputs.filter((i) => i !== '' && !v.consts.has(i) && v.shapes.has(i) && (i === v.input || v.producer.has(i)));
/** A join: an Add or Concat of two run-time tensors. */
export const isJoin = (v: GraphView, n: Node): boolean => (n.op === 'Add' || n.op === 'Concat') && runtimeInputsOf(v, n).length === 2;

/** A join branch as it arrives: its code model and codes, times its integer factor `scale`. */
export interface JoinBranch { model: CodeModel; codes: number[]; type: QType; scale: number }

/** The input side of join L: both branches on one code scale (scaled codes k·f carry scale s/f). */
export function joinInput(L: Node, a: JoinBranch, b: JoinBranch, positions: Map<string, Int32Array>): InSide {
  const s = a.model.s / a.scale;
  const sb = b.model.s / b.scale;
  if (sb !== s) {
    // The scales as they arrive (after any alignment): say whether the ratio or the branch is the obstacle.
    const [hi, lo] = s > sb ? [s, sb] : [sb, s];
    const f = hi / lo;
    if (Number.isInteger(f) && f * lo === hi) {
      throw new KilnError(cannotLower(L, `branch scales ${s} and ${sb} differ by the exact factor ${f}, but the ${hi} branch's activation cannot be multiplied by it exactly (a quantizer's Requant)`, { rule: 'join', fix: 'give that branch an activation with fewer levels (a Threshold), or equal branch scales' }));
    }
    throw new KilnError(cannotLower(L, `branch scales ${s} and ${sb} are not integer multiples of each other (${hi} / ${lo} = ${f})`, { rule: 'join', fix: 'align the branch scales to an integer ratio (e.g. power-of-two scales)' }));
  }
  const [alo, ahi] = range(a.type);
  const [blo, bhi] = range(b.type);
  const [aLo, aHi, bLo, bHi] = [a.codes[0] * a.scale, a.codes[a.codes.length - 1] * a.scale, b.codes[0] * b.scale, b.codes[b.codes.length - 1] * b.scale];
  if (L.op === 'Concat') {
    // Codes pass unchanged, so both branches need the same (scaled) code model.
    if (a.model.z * a.scale !== b.model.z * b.scale) throw new KilnError(cannotLower(L, `its branches have different zero points (${a.model.z}, ${b.model.z})`, { rule: 'join', fix: 'quantize both Concat inputs with the same zero point' }));
    return { model: { s, z: a.model.z * a.scale }, codes: [Math.min(aLo, bLo), Math.max(aHi, bHi)], type: smallestIntFor(Math.min(alo, blo, 0), Math.max(ahi, bhi, 0)), elems: NaN, positions };
  }
  const z = a.model.z * a.scale + b.model.z * b.scale;
  if (!Number.isInteger(z)) throw new KilnError(cannotLower(L, 'the zero points of its branches do not add up to an integer code', { rule: 'join', fix: 'use zero points that sum to an integer (symmetric quantizers: 0)' }));
  return { model: { s, z }, codes: [aLo + bLo, aHi + bHi], type: smallestIntFor(alo + blo, ahi + bhi), elems: NaN, positions };
}

/** A residual Add as a MAC-like layer: the AddStreams sum is the accumulator (one column of ones per channel). */
export function joinWeights(v: GraphView, n: Node): MacWeights {
  const shape = v.shapes.get(n.outputs[0]) ?? [];
  const C = shape.length === 4 ? shape[1] : numel(shape);
  const ones = new Array<number>(C).fill(1);
  if (n.op === 'Add') return { rows: C, cols: 1, W: ones, sw: [...ones], unit: 'add' };
  // Concat: values pass unchanged (one column of ones per channel), on the channel axis only.
  const axis = attrInt(n, 'axis', 1);
  if (axis !== 1 && axis !== 1 - shape.length) throw new KilnError(cannotLower(n, `Concat on axis ${axis} (only the channel axis 1 lowers)`, { rule: 'join', fix: 'concatenate on the channel axis 1' }));
  const a = v.shapes.get(runtimeInputsOf(v, n)[0]) ?? [];
  return { rows: C, cols: 1, W: ones, sw: [...ones], unit: 'concat', concat: { aChannels: a[1], pixels: shape.length === 4 ? shape[2] * shape[3] : 1 } };
}
