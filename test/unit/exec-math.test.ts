// Elementwise and NN op semantics: broadcasting, integer arithmetic, rounding, opset changes.
import { describe, expect, it } from 'vitest';
import { broadcastShapes } from '../../src/exec/kernels/broadcast.ts';
import { roundHalfEven, toHalf } from '../../src/exec/kernels/round.ts';
import { f32, i64, run1, runOp, t, vals } from './exec-helpers.ts';

describe('broadcasting and arithmetic', () => {
  it('follows numpy rules', () => {
    expect(broadcastShapes([[2, 1, 3], [4, 1], []])).toEqual([2, 4, 3]);
    expect(() => broadcastShapes([[2, 3], [4]])).toThrow(/KLN1009 input shapes must be broadcastable, not \[2,3\] and \[4\]/);
    const y = run1('Add', [f32([2, 1], [10, 20]), f32([3], [1, 2, 3])]);
    expect(y.shape).toEqual([2, 3]);
    expect(vals(y)).toEqual([11, 12, 13, 21, 22, 23]);
  });
  it('float32 results round once', () => {
    expect(vals(run1('Mul', [f32([1], [0.1]), f32([1], [3])]))[0]).toBe(Math.fround(Math.fround(0.1) * 3));
  });
  it('integer Div truncates toward zero; Mod follows fmod', () => {
    expect(vals(run1('Div', [t('int32', [4], [7, -7, 7, -7]), t('int32', [4], [2, 2, -2, -2])]))).toEqual([3, -3, -3, 3]);
    expect(vals(run1('Mod', [i64([7, -7, 7, -7]), i64([3, 3, -3, -3])]))).toEqual([1, 2, -2, -1]);
    expect(vals(run1('Mod', [i64([7, -7, 7, -7]), i64([3, 3, -3, -3])], { fmod: 1 }))).toEqual([1, -1, 1, -1]);
  });
  it('int8 arithmetic wraps like C, int32 Mul stays exact modulo 2^32', () => {
    expect(vals(run1('Add', [t('int8', [1], [100]), t('int8', [1], [100])]))).toEqual([-56]);
    expect(vals(run1('Mul', [t('int32', [1], [123456789]), t('int32', [1], [987654321])]))).toEqual([Math.imul(123456789, 987654321)]);
  });
  it('comparisons give bool; Where picks with broadcasting', () => {
    const c = run1('Less', [f32([3], [1, 5, 3]), f32([], [3])]);
    expect(c.dtype).toBe('bool');
    expect(vals(run1('Where', [c, f32([3], [1, 2, 3]), f32([], [0])]))).toEqual([1, 0, 0]);
  });
});

describe('rounding and casts', () => {
  it('Round is half to even', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4999].map(roundHalfEven)).toEqual([0, 2, 2, -0, -2, -2, 2]);
    expect(vals(run1('Round', [f32([4], [0.5, 1.5, 2.5, -2.5])]))).toEqual([0, 2, 2, -2]);
  });
  it('Cast float to int truncates; to float16 rounds to the half grid', () => {
    expect(vals(run1('Cast', [f32([3], [2.7, -2.7, 300])], { to: 3 }))).toEqual([2, -2, 44]); // int8
    expect(toHalf(1 + 2 ** -11)).toBe(1); // tie goes to even
    expect(toHalf(1 + 3 * 2 ** -11)).toBe(1 + 2 ** -9);
    expect(toHalf(70000)).toBe(Infinity);
    expect(run1('Cast', [f32([1], [1])], { to: 10 }).dtype).toBe('float16');
  });
});

describe('activations', () => {
  it('Clip bounds are attributes before opset 11 and inputs after', () => {
    const x = f32([4], [-2, -0.5, 0.5, 2]);
    expect(vals(run1('Clip', [x], { min: -1, max: 1 }, 6))).toEqual([-1, -0.5, 0.5, 1]);
    expect(vals(run1('Clip', [x, f32([], [0]), undefined], {}, 13))).toEqual([0, 0, 0.5, 2]);
  });
  it('LeakyRelu, Sign, Sigmoid', () => {
    expect(vals(run1('LeakyRelu', [f32([2], [-1, 1])]))).toEqual([Math.fround(-0.01), 1]);
    expect(vals(run1('LeakyRelu', [f32([2], [-1, 1])], { alpha: 0.5 }))).toEqual([-0.5, 1]);
    expect(vals(run1('Sign', [f32([3], [-3, 0, 2])]))).toEqual([-1, 0, 1]);
    expect(vals(run1('Sigmoid', [f32([2], [0, -1000])]))).toEqual([0.5, 0]);
  });
});

describe('Softmax', () => {
  const x = f32([1, 2, 2], [1, 2, 3, 4]);
  it('opset 13 normalises along one axis (default -1)', () => {
    const y = vals(run1('Softmax', [x], {}, 13));
    expect(y[0] + y[1]).toBeCloseTo(1, 6);
    expect(y[2] + y[3]).toBeCloseTo(1, 6);
  });
  it('before opset 13 it coerces to 2-D at axis (default 1)', () => {
    const y = vals(run1('Softmax', [x], {}, 11));
    expect(y.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    expect(y[3] / y[0]).toBeCloseTo(Math.exp(3), 3);
  });
});

describe('Gemm / MatMul / BatchNormalization', () => {
  it('Gemm with transA, transB, alpha, beta and a broadcast bias', () => {
    const A = f32([2, 2], [1, 2, 3, 4]); // Aᵀ = [[1,3],[2,4]]
    const B = f32([2, 2], [1, 0, 1, 1]); // Bᵀ = [[1,1],[0,1]]
    const C = f32([2], [10, 20]);
    // AᵀBᵀ = [[1,4],[2,6]]; 2*that + 0.5*C
    expect(vals(run1('Gemm', [A, B, C], { transA: 1, transB: 1, alpha: 2.0, beta: 0.5 }))).toEqual([7, 18, 9, 22]);
  });
  it('MatMul of 1-D operands and broadcast batches', () => {
    expect(run1('MatMul', [f32([3], [1, 2, 3]), f32([3], [1, 1, 1])]).shape).toEqual([]);
    const y = run1('MatMul', [f32([2, 1, 2, 3], new Array(12).fill(1)), f32([4, 3, 1], new Array(12).fill(2))]);
    expect(y.shape).toEqual([2, 4, 2, 1]);
    expect(vals(y).every((v) => v === 6)).toBe(true);
    expect(() => run1('MatMul', [f32([2, 3], new Array(6).fill(0)), f32([2, 3], new Array(6).fill(0))])).toThrow(/KLN1009 MatMul inner dims must agree/);
  });
  it('BatchNormalization in inference mode', () => {
    const x = f32([1, 2, 1, 2], [1, 2, 3, 4]);
    const y = run1('BatchNormalization', [x, f32([2], [1, 2]), f32([2], [0, 1]), f32([2], [1, 3]), f32([2], [4, 1])], { epsilon: 0 });
    expect(vals(y)).toEqual([0, 0.5, 1, 3]);
  });
  it('ArgMax select_last_index and TopK ties keep the lower index first', () => {
    const x = f32([4], [3, 1, 3, 2]);
    expect(vals(run1('ArgMax', [x], { keepdims: 0 }))).toEqual([0]);
    expect(vals(run1('ArgMax', [x], { select_last_index: 1 }))).toEqual([2]);
    const [v, i] = runOp('TopK', [x, i64([2])], {}, 11, 2);
    expect(vals(v)).toEqual([3, 3]);
    expect(vals(i)).toEqual([0, 2]);
  });
  it('ReduceMean with attribute axes and keepdims=0', () => {
    const y = run1('ReduceMean', [f32([2, 2], [1, 2, 3, 5])], { axes: [1], keepdims: 0 }, 13);
    expect(y.shape).toEqual([2]);
    expect(vals(y)).toEqual([1.5, 4]);
  });
});

describe('Resize', () => {
  it('nearest upsampling by 2 (asymmetric, floor) and linear align_corners', () => {
    const x = f32([1, 1, 1, 2], [1, 2]);
    const scales = f32([4], [1, 1, 1, 2]);
    expect(vals(run1('Resize', [x, undefined, scales], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }))).toEqual([1, 1, 2, 2]);
    const y = run1('Resize', [x, undefined, undefined, i64([1, 1, 1, 3])], { mode: 'linear', coordinate_transformation_mode: 'align_corners' });
    expect(vals(y)).toEqual([1, 1.5, 2]);
  });
});

describe('legacy opsets', () => {
  it('opset < 7 Add with broadcast=1 aligns B at axis', () => {
    const a = f32([1, 2, 1, 2], [1, 2, 3, 4]);
    const y = run1('Add', [a, f32([2], [10, 20])], { broadcast: 1, axis: 1 }, 6);
    expect(vals(y)).toEqual([11, 12, 23, 24]);
    // numpy-style from opset 7: B [2] aligns with the last axis
    expect(vals(run1('Add', [a, f32([2], [10, 20])], {}, 7))).toEqual([11, 22, 13, 24]);
  });
  it('Cast-1 names the target type as a string', () => {
    expect(run1('Cast', [f32([1], [1.5])], { to: 'INT32' }, 1).dtype).toBe('int32');
  });
});

describe('erf', () => {
  it('matches reference values on both sides of the series/continued-fraction split', async () => {
    const { erf } = await import('../../src/exec/ops/elementwise.ts');
    for (const [x, v] of [[0.1, 0.1124629160182849], [1, 0.8427007929497149], [2.4, 0.999311486103355], [-2.6, -0.9997639655834707], [3, 0.9999779095030014]]) {
      expect(Math.abs(erf(x) - v)).toBeLessThan(1e-14);
    }
  });
});

describe('per-opset inputs vs attributes', () => {
  const x = f32([2, 3], [1, 2, 3, 4, 5, 6]);
  it('ReduceSum axes: attribute before opset 13, input from 13; noop_with_empty_axes', () => {
    expect(vals(run1('ReduceSum', [x], { axes: [0] }, 11))).toEqual([5, 7, 9]);
    expect(vals(run1('ReduceSum', [x, i64([1])], { keepdims: 0 }, 13))).toEqual([6, 15]);
    expect(vals(run1('ReduceSum', [x], { keepdims: 0 }, 13))).toEqual([21]);
    expect(run1('ReduceSum', [x, i64([])], { noop_with_empty_axes: 1 }, 13).shape).toEqual([2, 3]);
  });
  it('Split sizes: attribute before opset 13, input from 13', () => {
    expect(runOp('Split', [x], { axis: 1, split: [1, 2] }, 11, 2).map((y) => y.shape)).toEqual([[2, 1], [2, 2]]);
    expect(runOp('Split', [x, i64([2, 1])], { axis: 1 }, 13, 2).map(vals)).toEqual([[1, 2, 4, 5], [3, 6]]);
  });
  it('TopK k: attribute in opset 1, input from 10', () => {
    expect(vals(run1('TopK', [f32([4], [1, 4, 2, 3])], { k: 2 }, 1))).toEqual([4, 3]);
    expect(vals(run1('TopK', [f32([4], [1, 4, 2, 3]), i64([1])], { largest: 0 }, 11))).toEqual([1]);
  });
  it('Upsample scales: attribute in opset 7, input from 9; Resize-10 uses asymmetric coordinates', () => {
    const y = f32([1, 1, 1, 2], [1, 2]);
    expect(vals(run1('Upsample', [y], { scales: [1, 1, 1, 2] }, 7))).toEqual([1, 1, 2, 2]);
    expect(vals(run1('Upsample', [y, f32([4], [1, 1, 1, 3])], { mode: 'linear' }, 9))).toEqual([1, Math.fround(4 / 3), Math.fround(5 / 3), 2, 2, 2]);
    expect(vals(run1('Resize', [y, f32([4], [1, 1, 1, 2])], {}, 10))).toEqual([1, 1, 2, 2]);
  });
  it('Dropout is the identity at inference and its mask is all true (bool from opset 10)', () => {
    const [out, mask] = runOp('Dropout', [x, f32([], [0.5])], {}, 13, 2);
    expect(out).toBe(x);
    expect(mask.dtype).toBe('bool');
    expect(vals(mask).every((v) => v === 1)).toBe(true);
    expect(() => runOp('Dropout', [x, f32([], [0.5]), t('bool', [], [1])], {}, 13, 2)).toThrow(/KLN1008 Dropout in training mode/);
  });
  it('BatchNormalization training_mode (opset 14) uses batch statistics and updates the running ones', () => {
    const bx = f32([2, 1], [1, 3]);
    const [y, rm, rv] = runOp('BatchNormalization', [bx, f32([1], [1]), f32([1], [0]), f32([1], [0]), f32([1], [1])], { training_mode: 1, epsilon: 0, momentum: 0.5 }, 14, 3);
    expect(vals(y)).toEqual([-1, 1]);
    expect(vals(rm)).toEqual([1]); // 0*0.5 + 2*0.5
    expect(vals(rv)).toEqual([1]); // 1*0.5 + 1*0.5
  });
});
