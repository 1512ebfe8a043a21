// Every per-op shape rule against the executor: the rule must give exactly the shape and dtype
// that running the op gives (and must be a rule, not the execute-on-zeros fallback).
import { describe, expect, it } from 'vitest';
import { runGraph } from '../../src/exec/run.ts';
import type { AttrValue, Node } from '../../src/ir/graph.ts';
import { makeTensor, type DType, type Tensor } from '../../src/ir/tensor.ts';
import { shapeRule } from '../../src/passes/shape-rules.ts';
import { graphWithInput } from './helpers.ts';

const ints = (v: number[]): AttrValue => ({ kind: 'ints', v });
const int = (v: number): AttrValue => ({ kind: 'int', v });
const str = (v: string): AttrValue => ({ kind: 'string', v });
const i64 = (v: number[]) => makeTensor('int64', [v.length], v);
const f32 = (v: number[]) => makeTensor('float32', [v.length], v);

interface Case {
  name: string;
  op: string;
  x: number[];
  xType?: DType;
  consts?: (Tensor | undefined)[];
  attrs?: Record<string, AttrValue>;
  opset?: number;
}

const CASES: Case[] = [
  { name: 'Conv grouped, strided, dilated', op: 'Conv', x: [1, 4, 9, 8], consts: [makeTensor('float32', [6, 2, 3, 3])], attrs: { group: int(2), strides: ints([2, 1]), dilations: ints([1, 2]), pads: ints([1, 0, 0, 2]) } },
  { name: 'Conv SAME_LOWER', op: 'Conv', x: [1, 1, 7, 7], consts: [makeTensor('float32', [2, 1, 4, 4])], attrs: { auto_pad: str('SAME_LOWER'), strides: ints([2, 2]) } },
  { name: 'ConvTranspose', op: 'ConvTranspose', x: [1, 2, 5, 4], consts: [makeTensor('float32', [2, 3, 3, 3])], attrs: { strides: ints([2, 3]), pads: ints([1, 0, 1, 1]), output_padding: ints([1, 0]) } },
  { name: 'ConvTranspose grouped', op: 'ConvTranspose', x: [1, 4, 3, 3], consts: [makeTensor('float32', [4, 1, 2, 2])], attrs: { group: int(2) } },
  { name: 'MaxPool ceil', op: 'MaxPool', x: [1, 2, 7, 6], attrs: { kernel_shape: ints([3, 2]), strides: ints([2, 2]), ceil_mode: int(1) } },
  { name: 'AveragePool VALID', op: 'AveragePool', x: [1, 2, 7, 6], attrs: { kernel_shape: ints([3, 3]), auto_pad: str('VALID'), strides: ints([2, 2]) } },
  { name: 'GlobalMaxPool', op: 'GlobalMaxPool', x: [2, 3, 5, 4] },
  { name: 'Gemm transA transB', op: 'Gemm', x: [5, 2], consts: [makeTensor('float32', [3, 5])], attrs: { transA: int(1), transB: int(1) } },
  { name: 'MatMul batched', op: 'MatMul', x: [2, 1, 3, 4], consts: [makeTensor('float32', [5, 4, 6])] },
  { name: 'MatMul vector', op: 'MatMul', x: [4], consts: [makeTensor('float32', [4, 6])] },
  { name: 'Add broadcast', op: 'Add', x: [2, 1, 4], consts: [makeTensor('float32', [3, 1])] },
  { name: 'Flatten axis 2', op: 'Flatten', x: [2, 3, 4, 5], attrs: { axis: int(2) } },
  { name: 'Flatten axis -1', op: 'Flatten', x: [2, 3, 4], attrs: { axis: int(-1) } },
  { name: 'Reshape 0 and -1', op: 'Reshape', x: [2, 3, 4], consts: [i64([0, -1, 2])] },
  { name: 'Transpose', op: 'Transpose', x: [2, 3, 4], attrs: { perm: ints([2, 0, 1]) } },
  { name: 'Squeeze input axes', op: 'Squeeze', x: [1, 3, 1, 2], consts: [i64([0, -2])] },
  { name: 'Unsqueeze input axes', op: 'Unsqueeze', x: [3, 2], consts: [i64([0, 3])] },
  { name: 'Concat', op: 'Concat', x: [2, 3], consts: [makeTensor('float32', [2, 5])], attrs: { axis: int(-1) } },
  { name: 'Pad', op: 'Pad', x: [1, 2, 3], consts: [i64([0, 1, 2, 0, 0, 3])] },
  { name: 'Shape start/end', op: 'Shape', x: [2, 3, 4, 5], attrs: { start: int(1), end: int(-1) }, opset: 15 },
  { name: 'Gather matrix indices', op: 'Gather', x: [5, 4, 3], consts: [makeTensor('int64', [2, 2], [0, 1, 2, 3])], attrs: { axis: int(1) } },
  { name: 'Resize scales', op: 'Resize', x: [1, 2, 3, 5], consts: [undefined, f32([1, 1, 2, 1.5])] },
  { name: 'Resize sizes', op: 'Resize', x: [1, 2, 3, 5], consts: [undefined, undefined, i64([1, 2, 7, 4])] },
  { name: 'Upsample', op: 'Upsample', x: [1, 1, 2, 3], consts: [f32([1, 1, 2, 3])], opset: 9 },
  { name: 'DepthToSpace', op: 'DepthToSpace', x: [1, 8, 2, 3], attrs: { blocksize: int(2) } },
  { name: 'SpaceToDepth', op: 'SpaceToDepth', x: [1, 2, 4, 6], attrs: { blocksize: int(2) } },
  { name: 'Slice negative step', op: 'Slice', x: [6, 7], consts: [i64([5, -1]), i64([-10, 1]), i64([0, 1]), i64([-2, -3])] },
  { name: 'Slice clamped', op: 'Slice', x: [4, 5], consts: [i64([1]), i64([100]), i64([1])] },
  { name: 'ReduceMean keepdims', op: 'ReduceMean', x: [2, 3, 4], attrs: { axes: ints([1, -1]) } },
  { name: 'ReduceSum axes input, no keepdims', op: 'ReduceSum', x: [2, 3, 4], consts: [i64([0])], attrs: { keepdims: int(0) } },
  { name: 'ReduceMax all axes', op: 'ReduceMax', x: [2, 3, 4], attrs: { keepdims: int(0) } },
  { name: 'ArgMax', op: 'ArgMax', x: [2, 3, 4], attrs: { axis: int(1), keepdims: int(0) } },
  { name: 'Cast', op: 'Cast', x: [2, 3], attrs: { to: int(7) } },
  { name: 'QuantizeLinear int8', op: 'QuantizeLinear', x: [2, 3], consts: [f32([0.5]), makeTensor('int8', [1], [0])] },
  { name: 'DequantizeLinear', op: 'DequantizeLinear', x: [2, 3], xType: 'uint8', consts: [f32([0.5]), makeTensor('uint8', [1], [3])] },
  { name: 'MatMulInteger', op: 'MatMulInteger', x: [2, 3], xType: 'uint8', consts: [makeTensor('uint8', [3, 4])] },
  { name: 'BatchNormalization', op: 'BatchNormalization', x: [1, 2, 3, 3], consts: [f32([1, 1]), f32([0, 0]), f32([0, 0]), f32([1, 1])] },
  { name: 'Softmax', op: 'Softmax', x: [2, 5] },
  { name: 'Where', op: 'Where', x: [2, 1], xType: 'bool', consts: [makeTensor('float32', [3]), makeTensor('float32', [2, 3])] },
];

describe('shape rules equal execution', () => {
  it.each(CASES.map((c) => [c.name, c]))('%s', (_, c) => {
    const g = graphWithInput('x', c.x);
    g.inputs[0].dtype = c.xType ?? 'float32';
    g.opsets[''] = c.opset ?? 13;
    const inputs = ['x'];
    (c.consts ?? []).forEach((t, i) => {
      if (!t) return inputs.push('');
      g.initializers.set(`c${i}`, t);
      inputs.push(`c${i}`);
    });
    const node: Node = { name: 'n', op: c.op, domain: '', inputs, outputs: ['y'], attrs: c.attrs ?? {} };
    g.nodes.push(node);
    g.outputs.push({ name: 'y', dtype: 'float32' });
    const rule = shapeRule(g, node, g.opsets['']);
    expect(rule, 'a rule, not the fallback').toBeDefined();
    const x = makeTensor(g.inputs[0].dtype, c.x);
    const y = runGraph(g, new Map([['x', x]])).get('y')!;
    expect(rule![0]).toEqual({ dtype: y.dtype, shape: y.shape });
  });
});
