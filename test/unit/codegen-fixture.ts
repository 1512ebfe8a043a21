// A small quantized MLP as a dataflow graph (MVU → Threshold → MVU → LabelSelect) for codegen tests.
import type { DataflowGraph, Stream } from '../../src/ir/dataflow.ts';
import { parseQType } from '../../src/ir/datatype.ts';
import { randInt, rng } from './layers-helpers.ts';

export function smallMlp(seed = 7): DataflowGraph {
  const r = rng(seed);
  const w1 = Array.from({ length: 8 * 12 }, () => randInt(r, -2, 1));
  const w2 = Array.from({ length: 4 * 8 }, () => randInt(r, -2, 1));
  const t = Array.from({ length: 8 }, () => [randInt(r, -6, 0), randInt(r, 1, 6), randInt(r, 7, 12)]).flat();
  const s = (name: string, type: string, n: number): [string, Stream] => [name, { name, qtype: parseQType(type), shape: [n] }];
  return {
    name: 'small_mlp',
    source: 'models/small_mlp.onnx',
    streams: new Map([s('x', 'UINT2', 12), s('a', 'INT7', 8), s('b', 'UINT2', 8), s('c', 'INT7', 4), s('y', 'UINT2', 1)]),
    layers: [
      { name: 'fc1', kind: 'MVU', attrs: { rows: 8, cols: 12, inType: 'UINT2', weightType: 'INT2', outType: 'INT7' }, consts: { weights: w1 }, inputs: ['x'], outputs: ['a'], origin: ['Gemm_0'] },
      { name: 'act1', kind: 'Threshold', attrs: { elems: 8, channels: 8, steps: 3, inType: 'INT7', outType: 'UINT2' }, consts: { thresholds: t }, inputs: ['a'], outputs: ['b'], origin: ['Quant_1'] },
      { name: 'fc2', kind: 'MVU', attrs: { rows: 4, cols: 8, inType: 'UINT2', weightType: 'INT2', outType: 'INT7' }, consts: { weights: w2 }, inputs: ['b'], outputs: ['c'], origin: ['Gemm_2'] },
      { name: 'top', kind: 'LabelSelect', attrs: { n: 4, k: 1, inType: 'INT7', outType: 'UINT2' }, consts: {}, inputs: ['c'], outputs: ['y'], origin: ['ArgMax_3'] },
    ],
    inputs: ['x'],
    outputs: ['y'],
    inputQuant: [{ scale: [0.25], zeroPoint: [0], qtype: parseQType('UINT2') }],
    outputAffine: [{ scale: [1], offset: [0] }],
  };
}
