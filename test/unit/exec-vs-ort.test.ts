// Differential test: random attribute combinations of the window, resize, slicing and reduction
// ops, executed by kiln and by onnxruntime-node (graph optimisations off), must agree within the
// float tolerance. Seeded, so a failure names a reproducible case.
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { KilnError } from '../../src/diag/index.ts';
import { emptyGraph, type AttrValue, type Graph } from '../../src/ir/graph.ts';
import { isFloat, makeTensor, nums, type DType, type Tensor } from '../../src/ir/tensor.ts';
import { runGraph } from '../../src/exec/run.ts';
import { encodeModel } from '../../src/onnx/load.ts';
import { close } from '../helpers/golden.ts';
import { rng } from './exec-helpers.ts';

interface Case {
  op: string;
  attrs: Record<string, AttrValue>;
  /** undefined marks an omitted optional input. */
  inputs: (Tensor | undefined)[];
  opset?: number;
  outDtype?: DType;
}

const I = (v: number): AttrValue => ({ kind: 'int', v });
const IS = (v: number[]): AttrValue => ({ kind: 'ints', v });
const S = (v: string): AttrValue => ({ kind: 'string', v });
const F = (v: number): AttrValue => ({ kind: 'float', v });

/** A one-node graph for the case: inputs in0, in1, … (absent ones named ''), output y. */
function caseGraph(c: Case): { g: Graph; names: string[] } {
  const g = emptyGraph('case');
  g.opsets = { '': c.opset ?? 13 };
  const names = c.inputs.map((t, k) => (t ? `in${k}` : ''));
  c.inputs.forEach((t, k) => t && g.inputs.push({ name: names[k], dtype: t.dtype, shape: t.shape }));
  g.nodes.push({ name: 'n', op: c.op, domain: '', inputs: names, outputs: ['y'], attrs: c.attrs });
  g.outputs.push({ name: 'y', dtype: c.outDtype ?? c.inputs[0]!.dtype });
  return { g, names };
}

async function ortRun(c: Case): Promise<Tensor> {
  const { g, names } = caseGraph(c);
  const s = await ort.InferenceSession.create(encodeModel(g), { graphOptimizationLevel: 'disabled' });
  const feeds: Record<string, ort.Tensor> = {};
  c.inputs.forEach((t, k) => {
    if (!t) return;
    const data = t.dtype === 'int64' ? BigInt64Array.from(nums(t), (v) => BigInt(v)) : t.dtype === 'int32' ? Int32Array.from(nums(t)) : Float32Array.from(nums(t));
    feeds[names[k]] = new ort.Tensor(t.dtype as 'float32', data, t.shape);
  });
  const y = (await s.run(feeds)).y;
  await s.release();
  const dtype = ({ float32: 'float32', int64: 'int64', int32: 'int32', bool: 'bool' } as const)[y.type as 'float32'] ?? 'float32';
  return makeTensor(dtype, [...y.dims], Array.from(y.data as ArrayLike<number | bigint>, Number));
}

function kilnRun(c: Case): Tensor {
  const { g, names } = caseGraph(c);
  const feeds = new Map<string, Tensor>();
  c.inputs.forEach((t, k) => t && feeds.set(names[k], t));
  return runGraph(g, feeds).get('y')!;
}

function generators(r: () => number) {
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const pick = <T>(xs: T[]): T => xs[int(0, xs.length - 1)];
  const rand = (shape: number[]) => makeTensor('float32', shape, Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => Math.round((r() * 2 - 1) * 64) / 16));
  const i64 = (v: number[]) => makeTensor('int64', [v.length], v);
  return {
    Conv: (): Case => {
      const group = pick([1, 1, 2, 3]);
      const C = group * int(1, 3);
      const M = group * int(1, 3);
      const k = [int(1, 3), int(1, 3)];
      const attrs: Record<string, AttrValue> = { group: I(group), kernel_shape: IS(k), strides: IS([int(1, 3), int(1, 3)]), dilations: IS([int(1, 2), int(1, 2)]) };
      const pad = pick(['NOTSET', 'SAME_UPPER', 'SAME_LOWER', 'VALID']);
      if (pad === 'NOTSET') attrs.pads = IS([int(0, 2), int(0, 2), int(0, 2), int(0, 2)]);
      else attrs.auto_pad = S(pad);
      if (pad.startsWith('SAME')) attrs.dilations = IS([1, 1]); // ORT refuses SAME with dilations
      return { op: 'Conv', attrs, inputs: [rand([int(1, 2), C, int(5, 9), int(5, 9)]), rand([M, C / group, ...k]), pick([undefined, rand([M])])] };
    },
    Conv1d3d: (): Case => {
      const rank = pick([1, 3]);
      const k = Array.from({ length: rank }, () => int(1, 3));
      const attrs: Record<string, AttrValue> = { kernel_shape: IS(k), strides: IS(k.map(() => int(1, 2))), pads: IS([...k, ...k].map(() => int(0, 1))) };
      const spatial = k.map(() => int(3, 6));
      return { op: 'Conv', attrs, inputs: [rand([1, 2, ...spatial]), rand([3, 2, ...k]), rand([3])] };
    },
    ConvTranspose: (): Case => {
      const group = pick([1, 2]);
      const C = group * int(1, 2);
      const s = [int(1, 3), int(1, 2)];
      const attrs: Record<string, AttrValue> = { group: I(group), strides: IS(s), dilations: IS([int(1, 2), int(1, 2)]), pads: IS([int(0, 1), int(0, 1), int(0, 1), int(0, 1)]), output_padding: IS([int(0, s[0] - 1), int(0, s[1] - 1)]) };
      return { op: 'ConvTranspose', attrs, inputs: [rand([1, C, int(2, 5), int(2, 5)]), rand([C, int(1, 2), int(1, 3), int(1, 3)]), undefined] };
    },
    MaxPool: (): Case => {
      const k = [int(1, 3), int(1, 3)];
      const attrs: Record<string, AttrValue> = { kernel_shape: IS(k), strides: IS([int(1, 3), int(1, 3)]), ceil_mode: I(int(0, 1)), dilations: IS([int(1, 2), int(1, 2)]) };
      attrs.pads = IS([int(0, k[0] - 1), int(0, k[1] - 1), int(0, k[0] - 1), int(0, k[1] - 1)]);
      return { op: 'MaxPool', attrs, inputs: [rand([1, 2, int(5, 9), int(5, 9)])] };
    },
    AveragePool: (): Case => {
      const k = [int(1, 3), int(1, 3)];
      const attrs: Record<string, AttrValue> = { kernel_shape: IS(k), strides: IS([int(1, 3), int(1, 3)]), ceil_mode: I(int(0, 1)), count_include_pad: I(int(0, 1)) };
      attrs.pads = IS([int(0, k[0] - 1), int(0, k[1] - 1), int(0, k[0] - 1), int(0, k[1] - 1)]);
      return { op: 'AveragePool', attrs, inputs: [rand([1, 2, int(5, 9), int(5, 9)])] };
    },
    Resize: (): Case => {
      const mode = pick(['nearest', 'linear', 'cubic']);
      const coord = pick(['half_pixel', 'pytorch_half_pixel', 'align_corners', 'asymmetric', ...(mode === 'nearest' ? ['tf_half_pixel_for_nn'] : [])]);
      const attrs: Record<string, AttrValue> = { mode: S(mode), coordinate_transformation_mode: S(coord), nearest_mode: S(pick(['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil'])), exclude_outside: I(mode === 'cubic' ? int(0, 1) : 0) };
      const x = rand([1, 1, int(2, 6), int(2, 6)]);
      // onnxruntime skips an axis whose size is unchanged; the ONNX formula still shifts it by
      // half a pixel under tf_half_pixel_for_nn, so such axes are not compared.
      const size = (d: number) => { let o = int(1, 12); while (coord === 'tf_half_pixel_for_nn' && o === d) o = int(1, 12); return o; };
      const sizes = i64([1, 1, size(x.shape[2]), size(x.shape[3])]);
      return { op: 'Resize', attrs, inputs: [x, undefined, undefined, sizes] };
    },
    ResizeScales: (): Case => {
      const mode = pick(['nearest', 'linear']);
      // Not align_corners/pytorch_half_pixel: when in·scale is fractional, the ONNX reference (and
      // its node test resize_downsample_scales_linear_align_corners) uses the length in·scale where
      // onnxruntime uses the floored output length. kiln follows the reference.
      const coord = pick(['half_pixel', 'asymmetric']);
      const x = rand([1, 2, int(2, 7), int(2, 7)]);
      const scales = makeTensor('float32', [4], [1, 1, pick([0.5, 0.6, 1, 1.5, 2, 3]), pick([0.5, 0.75, 1, 2, 2.5])]);
      return { op: 'Resize', attrs: { mode: S(mode), coordinate_transformation_mode: S(coord) }, inputs: [x, undefined, scales] };
    },
    PoolAutoPad: (): Case => {
      const op = pick(['MaxPool', 'AveragePool']);
      const k = [int(1, 3), int(1, 3)];
      // Strides at most the kernel: otherwise onnxruntime computes a negative SAME pad and refuses.
      return { op, attrs: { kernel_shape: IS(k), strides: IS([int(1, k[0]), int(1, k[1])]), auto_pad: S(pick(['SAME_UPPER', 'SAME_LOWER', 'VALID'])) }, inputs: [rand([1, 2, int(4, 8), int(4, 8)])] };
    },
    Pad: (): Case => {
      const mode = pick(['constant', 'reflect', 'edge']);
      const x = rand([int(2, 4), int(2, 5)]);
      const lim = mode === 'reflect' ? 1 : 3;
      return { op: 'Pad', attrs: { mode: S(mode) }, inputs: [x, i64([int(0, lim), int(0, lim), int(0, lim), int(0, lim)])] };
    },
    Slice: (): Case => {
      const x = rand([int(1, 6), int(1, 6)]);
      const step = pick([1, 2, -1, -2, 3]);
      return { op: 'Slice', attrs: {}, inputs: [x, i64([int(-8, 8)]), i64([int(-8, 8)]), i64([int(-2, 1)]), i64([step])] };
    },
    ReduceMean: (): Case => ({ op: 'ReduceMean', attrs: { axes: IS([pick([0, 1, 2, -1])]), keepdims: I(int(0, 1)) }, inputs: [rand([int(1, 3), int(1, 4), int(1, 5)])] }),
    Softmax: (): Case => ({ op: 'Softmax', attrs: { axis: I(int(-3, 2)) }, inputs: [rand([int(1, 3), int(1, 4), int(1, 5)])], opset: pick([11, 13]) }),
    Gemm: (): Case => {
      const [M, K, N] = [int(1, 4), int(1, 4), int(1, 4)];
      const tA = int(0, 1), tB = int(0, 1);
      return { op: 'Gemm', attrs: { transA: I(tA), transB: I(tB), alpha: F(pick([1, 0.5, -2])), beta: F(pick([1, 0.25])) }, inputs: [rand(tA ? [K, M] : [M, K]), rand(tB ? [N, K] : [K, N]), rand(pick([[N], [M, N], [1, N], [M, 1]]))] };
    },
    MatMul: (): Case => {
      const K = int(1, 4);
      const a = pick([[K], [int(1, 3), K], [int(1, 2), int(1, 3), K], [2, 1, int(1, 3), K]]);
      const b = pick([[K], [K, int(1, 3)], [int(1, 2), K, int(1, 3)], [1, 3, K, 2]]);
      if (a.length > 2 && b.length > 2 && a.length === b.length && a[0] !== b[0] && a[0] !== 1 && b[0] !== 1) b[0] = 1;
      return { op: 'MatMul', attrs: {}, inputs: [rand(a), rand(b)] };
    },
    Gather: (): Case => {
      const x = rand([int(1, 4), int(1, 4), int(1, 3)]);
      const axis = int(-3, 2);
      const d = x.shape[axis < 0 ? axis + 3 : axis];
      const n = int(1, 4);
      const shape = pick([[n], [1, n], []]);
      const ind = makeTensor('int64', shape, Array.from({ length: shape.reduce((p, q) => p * q, 1) }, () => int(-d, d - 1)));
      return { op: 'Gather', attrs: { axis: I(axis) }, inputs: [x, ind] };
    },
    Reduce: (): Case => {
      const op = pick(['ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceSumSquare', 'ReduceLogSumExp']);
      const axes = pick([[0], [1], [-1], [0, 2], [1, 2]]);
      return { op, attrs: { axes: IS(axes), keepdims: I(int(0, 1)) }, inputs: [rand([int(1, 3), int(1, 3), int(1, 4)])] };
    },
    ArgMax: (): Case => {
      const shape = [int(1, 3), int(1, 5)];
      const x = makeTensor('float32', shape, Array.from({ length: shape[0] * shape[1] }, () => int(0, 3))); // many ties
      return { op: pick(['ArgMax', 'ArgMin']), attrs: { axis: I(int(-2, 1)), keepdims: I(int(0, 1)), select_last_index: I(int(0, 1)) }, inputs: [x], outDtype: 'int64' };
    },
    IntDivMod: (): Case => {
      const n = int(1, 6);
      const ints = (nonzero: boolean) => makeTensor('int32', [n], Array.from({ length: n }, () => { let v = int(-20, 20); while (nonzero && v === 0) v = int(-20, 20); return v; }));
      const op = pick(['Div', 'Mod']);
      return { op, attrs: op === 'Mod' ? { fmod: I(int(0, 1)) } : {}, inputs: [ints(false), ints(true)] };
    },
  };
}

/** Cases per op; raise KILN_FUZZ_CASES for a longer hunt. */
const CASES = Number(process.env.KILN_FUZZ_CASES ?? 12);

describe('kiln vs onnxruntime-node on random attribute combinations', () => {
  const ops = Object.keys(generators(rng(0))) as (keyof ReturnType<typeof generators>)[];
  for (const [i, op] of ops.entries()) {
    it(`${op}: ${CASES} random cases agree`, async () => {
      const gen = generators(rng(2024 + i))[op]; // one seed per op: each test reproduces alone
      for (let k = 0; k < CASES; k++) {
        const c = gen();
        const where = `${op} case ${k} ${JSON.stringify(Object.fromEntries(Object.entries(c.attrs).map(([a, v]) => [a, (v as { v: unknown }).v])))} inputs ${c.inputs.map((t) => (t ? `[${t.shape}]` : '-')).join(' ')}`;
        let want: Tensor;
        try {
          want = await ortRun(c);
        } catch {
          // onnxruntime refuses the case (e.g. an empty output): kiln must refuse it too, cleanly.
          expect(() => kilnRun(c), where).toThrow(KilnError);
          continue;
        }
        const got = kilnRun(c);
        expect(got.shape, where).toEqual(want.shape);
        const a = nums(got), b = nums(want);
        expect(got.dtype, where).toBe(want.dtype);
        const bad = Array.from(b).findIndex((v, i) => (isFloat(want.dtype) ? !close(a[i], v) : a[i] !== v));
        expect(bad, `${where}: element ${bad} is ${a[bad]}, onnxruntime says ${b[bad]}`).toBe(-1);
      }
    });
  }
});
