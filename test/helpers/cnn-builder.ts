// A small image-graph builder for the CNN lowering tests: constants as initializers, QONNX Quant on
// weights and activations with power-of-two scales (so the float reference is exact).
import { emptyGraph, type AttrValue, type Graph } from '../../src/ir/graph.ts';
import { makeTensor } from '../../src/ir/tensor.ts';
import { rng } from './random-mlp.ts';

export const Q = 'qonnx.custom_op.general';
export const ints = (v: number[]): AttrValue => ({ kind: 'ints', v });
export const int = (v: number): AttrValue => ({ kind: 'int', v });

export function cnnBuilder(shape: number[], seed: number, name = 'cnn') {
  const g = emptyGraph(name);
  g.opsets = { '': 13, [Q]: 1 };
  g.inputs = [{ name: 'x', dtype: 'float32', shape }];
  const r = rng(seed);
  let k = 0;
  const c = (vals: number[], shp: number[], dtype: 'float32' | 'int64' = 'float32') => {
    const name = `c${k++}`;
    g.initializers.set(name, makeTensor(dtype, shp, vals));
    return name;
  };
  const op = (type: string, inputs: string[], attrs: Record<string, AttrValue> = {}, domain = '') => {
    const out = `t${k++}`;
    g.nodes.push({ name: `${type}_${k}`, op: type, domain, inputs, outputs: [out], attrs });
    return out;
  };
  const quant = (x: string, scale: number, bits: number, signed: boolean) =>
    op('Quant', [x, c([scale], []), c([0], []), c([bits], [])], { signed: int(signed ? 1 : 0), narrow: int(0), rounding_mode: { kind: 'string', v: 'ROUND' } }, Q);
  /** Random integer weights in [-7, 7] times 2^-2, and a bias on the 2^-6 grid. */
  const weights = (shp: number[]) => c(Array.from({ length: shp.reduce((a, b) => a * b, 1) }, () => (Math.floor(r() * 15) - 7) / 4), shp);
  const bias = (n: number) => c(Array.from({ length: n }, () => Math.floor(r() * 64 - 32) / 64), [n]);
  const conv = (x: string, cin: number, cout: number, k2: number[], attrs: Record<string, AttrValue> = {}, group = 1) =>
    op('Conv', [x, weights([cout, cin / group, ...k2]), bias(cout)], { kernel_shape: ints(k2), group: int(group), ...attrs });
  const act = (x: string) => quant(op('Relu', [x]), 0.5, 4, false);
  const pad = (x: string, pads: number[], attrs: Record<string, AttrValue> = {}, value?: number) =>
    op('Pad', [x, c(pads, [pads.length], 'int64'), ...(value === undefined ? [] : [c([value], [])])], attrs);
  const done = (out: string): Graph => {
    g.outputs = [{ name: out, dtype: 'float32' }];
    return g;
  };
  /** The name of the node that produced tensor t. */
  const nodeOf = (t: string) => g.nodes.find((n) => n.outputs[0] === t)!.name;
  return { g, c, op, quant, conv, act, pad, done, nodeOf, weights, bias };
}
