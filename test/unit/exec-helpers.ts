// Run one ONNX node through the reference executor's op table, for the exec unit tests.
import type { AttrValue, Node } from '../../src/ir/graph.ts';
import { makeTensor, nums, type DType, type Tensor } from '../../src/ir/tensor.ts';
import { lookupOp } from '../../src/exec/registry.ts';
import { mulberry32 as rng } from '../../src/util/random.ts';

/** The seeded generator the tests share (src/util/random.ts). */
export { rng };

export type Attrs = Record<string, number | number[] | string>;

function attr(v: number | number[] | string): AttrValue {
  if (typeof v === 'string') return { kind: 'string', v };
  if (Array.isArray(v)) return { kind: 'ints', v };
  return Number.isInteger(v) ? { kind: 'int', v } : { kind: 'float', v };
}

/** All outputs of `op` on `inputs` (undefined = omitted optional input) at the given opset. */
export function runOp(op: string, inputs: (Tensor | undefined)[], attrs: Attrs = {}, opset = 13, nOutputs = 1): Tensor[] {
  const node: Node = {
    name: `${op}_0`, op, domain: '',
    inputs: inputs.map((t, i) => (t ? `in${i}` : '')),
    outputs: Array.from({ length: nOutputs }, (_, i) => `out${i}`),
    attrs: Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, attr(v)])),
  };
  const impl = lookupOp(node);
  if (!impl) throw new Error(`no implementation for ${op}`);
  return impl(node, inputs, { opset });
}

export const run1 = (op: string, inputs: (Tensor | undefined)[], attrs: Attrs = {}, opset = 13): Tensor => runOp(op, inputs, attrs, opset)[0];

export const f32 = (shape: number[], v: number[]): Tensor => makeTensor('float32', shape, v);
export const i64 = (v: number[], shape = [v.length]): Tensor => makeTensor('int64', shape, v);
export const t = (dtype: DType, shape: number[], v: number[]): Tensor => makeTensor(dtype, shape, v);
export const vals = (x: Tensor): number[] => Array.from(nums(x));

/** A float32 tensor of uniform values in [-1, 1). */
export function randomF32(shape: number[], seed: number): Tensor {
  const r = rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return f32(shape, Array.from({ length: n }, () => r() * 2 - 1));
}
