// Run one node through the executor's op table (dispatch included), for the quant unit tests.
import type { AttrValue, Node } from '../../src/ir/graph.ts';
import { makeTensor, nums, type DType, type Tensor } from '../../src/ir/tensor.ts';
import { lookupOp } from '../../src/exec/registry.ts';

export function node(op: string, nInputs: number, attrs: Record<string, AttrValue> = {}, domain = ''): Node {
  return { name: `${op}_0`, op, domain, inputs: Array.from({ length: nInputs }, (_, i) => `in${i}`), outputs: ['out'], attrs };
}

/** Executes `n` on the inputs; throws when the op is not dispatched. */
export function run(n: Node, inputs: (Tensor | undefined)[]): Tensor {
  const impl = lookupOp(n);
  if (!impl) throw new Error(`no implementation for ${n.domain}:${n.op}`);
  return impl(n, inputs, { opset: 13 })[0];
}

export const f32 = (shape: number[], v: number[]): Tensor => makeTensor('float32', shape, v);
export const t = (dtype: DType, shape: number[], v: number[]): Tensor => makeTensor(dtype, shape, v);
export const sc = (v: number, dtype: DType = 'float32'): Tensor => makeTensor(dtype, [], [v]);
export const vals = (x: Tensor): number[] => Array.from(nums(x));

export const int = (v: number): AttrValue => ({ kind: 'int', v });
export const str = (v: string): AttrValue => ({ kind: 'string', v });
export const flt = (v: number): AttrValue => ({ kind: 'float', v });
export const ints = (v: number[]): AttrValue => ({ kind: 'ints', v });

/** float32 x and s whose quotient rounds to exactly 2.5 in float32 but is 2.50000009 in float64. */
export const TIE_X = 1.7335710525512695;
export const TIE_S = 0.6934283971786499;
