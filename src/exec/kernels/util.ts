// Small helpers shared by the op implementations: axis normalisation, reading int lists from
// tensors, output allocation, and how a computed number is stored in an element type.
import { fail } from '../../diag/index.ts';
import type { Node } from '../../ir/graph.ts';
import { nums, type DType, type Tensor } from '../../ir/tensor.ts';
import { toBfloat16, toHalf } from './round.ts';

/** An axis in [-rank, rank) as a non-negative index. */
export function normAxis(axis: number, rank: number, what = 'axis'): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= Math.max(rank, 1)) {
    fail('BadAttribute', `${what} must be in [${-rank}, ${rank - 1}], not ${axis}`);
  }
  return axis < 0 ? axis + rank : axis;
}

/** Several axes, normalised; duplicates are refused. */
export function normAxes(axes: number[], rank: number, what = 'axes'): number[] {
  const out = axes.map((a) => normAxis(a, rank, what));
  if (new Set(out).size !== out.length) fail('BadAttribute', `${what} must not repeat an axis, not [${axes.join(',')}]`);
  return out;
}

/** The values of an (integer) tensor as JS numbers, or undefined when the input is omitted. */
export function intsOf(t: Tensor | undefined): number[] | undefined {
  return t === undefined ? undefined : Array.from(nums(t));
}

/** A required input: refused with a clear message when absent. */
export function need(node: Node, inputs: (Tensor | undefined)[], k: number, what: string): Tensor {
  const t = inputs[k];
  if (t === undefined) fail('BadAttribute', `${node.op} needs input ${k} (${what})`);
  return t;
}

/**
 * How a computed number becomes an element of `dtype`. Typed arrays already wrap/round for the
 * narrow types; the types held in a Float64Array (int64, uint64, uint32) must be made integral here,
 * and float16/bfloat16 (held in a Float32Array) rounded to their grid.
 */
export function storer(dtype: DType): ((v: number) => number) | undefined {
  switch (dtype) {
    case 'int64': case 'uint64': return Math.trunc;
    case 'uint32': return (v) => Math.trunc(v) >>> 0;
    case 'bool': return (v) => (v !== 0 ? 1 : 0);
    // Half-precision types live in a Float32Array: round to their own grid explicitly.
    case 'float16': return toHalf;
    case 'bfloat16': return toBfloat16;
    default: return undefined;
  }
}

export function prod(xs: readonly number[], from = 0, to = xs.length): number {
  let p = 1;
  for (let i = from; i < to; i++) p *= xs[i];
  return p;
}

/** Same tensor under another shape (shares nothing: data is copied so callers may mutate). */
export function reshaped(t: Tensor, shape: number[]): Tensor {
  return { dtype: t.dtype, shape: [...shape], data: t.dtype === 'string' ? [...(t.data as string[])] : (nums(t).slice() as Tensor['data']) };
}
