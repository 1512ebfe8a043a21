// Shape ops: the per-opset and corner-case semantics the ONNX spec pins down.
import { describe, expect, it } from 'vitest';
import { reshapeTarget } from '../../src/exec/ops/shape.ts';
import { f32, i64, run1, runOp, t, vals } from './exec-helpers.ts';

const x23 = f32([2, 3], [1, 2, 3, 4, 5, 6]);

describe('Reshape', () => {
  it('0 copies the input dim, -1 is inferred', () => {
    expect(reshapeTarget([2, 3, 4], [0, -1], false)).toEqual([2, 12]);
    expect(reshapeTarget([2, 3, 4], [-1, 0, 2], false)).toEqual([4, 3, 2]);
    expect(run1('Reshape', [x23, i64([3, -1])]).shape).toEqual([3, 2]);
  });
  it('allowzero keeps 0 as an empty dim', () => {
    expect(reshapeTarget([0, 3], [0, 3], true)).toEqual([0, 3]);
    expect(run1('Reshape', [t('float32', [0, 3], []), i64([3, 0])], { allowzero: 1 }, 14).shape).toEqual([3, 0]);
  });
  it('refuses two -1 and a wrong element count', () => {
    expect(() => reshapeTarget([2, 3], [-1, -1], false)).toThrow(/KLN1009 Reshape target must have at most one -1/);
    expect(() => run1('Reshape', [x23, i64([4, 2])])).toThrow(/KLN1009 cannot reshape \[2,3\] \(6 elements\) to \[4,2\]/);
  });
});

describe('Pad', () => {
  const x = f32([1, 4], [1, 2, 3, 4]);
  it('constant, reflect, edge and wrap (pads as input, opset 11+)', () => {
    const pads = i64([0, 3, 0, 2]);
    expect(vals(run1('Pad', [x, pads, f32([], [9])], {}, 13))).toEqual([9, 9, 9, 1, 2, 3, 4, 9, 9]);
    expect(vals(run1('Pad', [x, pads], { mode: 'reflect' }, 13))).toEqual([4, 3, 2, 1, 2, 3, 4, 3, 2]);
    expect(vals(run1('Pad', [x, pads], { mode: 'edge' }, 13))).toEqual([1, 1, 1, 1, 2, 3, 4, 4, 4]);
    expect(vals(run1('Pad', [x, pads], { mode: 'wrap' }, 19))).toEqual([2, 3, 4, 1, 2, 3, 4, 1, 2]);
  });
  it('pads and value are attributes before opset 11; negative pads crop', () => {
    expect(vals(run1('Pad', [x], { pads: [0, 1, 0, -2], value: 7.5 }, 2))).toEqual([7.5, 1, 2]);
  });
});

describe('Squeeze / Unsqueeze / Flatten', () => {
  const x = f32([1, 3, 1], [1, 2, 3]);
  it('axes are an attribute before opset 13 and an input from 13', () => {
    expect(run1('Squeeze', [x], { axes: [-1] }, 11).shape).toEqual([1, 3]);
    expect(run1('Squeeze', [x, i64([0])], {}, 13).shape).toEqual([3, 1]);
    expect(run1('Squeeze', [x], {}, 13).shape).toEqual([3]);
    expect(run1('Unsqueeze', [x], { axes: [0, -1] }, 11).shape).toEqual([1, 1, 3, 1, 1]);
    expect(run1('Unsqueeze', [x, i64([1])], {}, 13).shape).toEqual([1, 1, 3, 1]);
  });
  it('squeezing a non-1 axis is refused', () => {
    expect(() => run1('Squeeze', [x, i64([1])])).toThrow(/KLN1009 Squeeze axis 1 must have size 1, not 3/);
  });
  it('Flatten axis 0 and negative axes', () => {
    const y = f32([2, 3, 4], new Array(24).fill(0));
    expect(run1('Flatten', [y], { axis: 0 }).shape).toEqual([1, 24]);
    expect(run1('Flatten', [y], { axis: -1 }).shape).toEqual([6, 4]);
    expect(run1('Flatten', [y]).shape).toEqual([2, 12]);
  });
});

describe('Slice / Gather / Concat / Transpose / Shape', () => {
  it('Slice with negative steps and clamped ends', () => {
    const x = f32([6], [0, 1, 2, 3, 4, 5]);
    expect(vals(run1('Slice', [x, i64([-1]), i64([-1000]), i64([0]), i64([-2])]))).toEqual([5, 3, 1]);
    expect(vals(run1('Slice', [x, i64([1]), i64([1000])]))).toEqual([1, 2, 3, 4, 5]);
    expect(vals(run1('Slice', [x], { starts: [2], ends: [4] }, 9))).toEqual([2, 3]);
  });
  it('Gather on any axis with negative indices', () => {
    expect(vals(run1('Gather', [x23, i64([-1, 0])], { axis: 1 }))).toEqual([3, 1, 6, 4]);
    expect(run1('Gather', [x23, i64([1], [])], { axis: 0 }).shape).toEqual([3]);
    expect(() => run1('Gather', [x23, i64([3])], { axis: 1 })).toThrow(/KLN1009 Gather index 3 is out of range/);
  });
  it('Concat on a negative axis', () => {
    const y = run1('Concat', [x23, f32([2, 1], [7, 8])], { axis: -1 });
    expect(y.shape).toEqual([2, 4]);
    expect(vals(y)).toEqual([1, 2, 3, 7, 4, 5, 6, 8]);
  });
  it('Transpose defaults to reversing the axes', () => {
    expect(vals(run1('Transpose', [x23]))).toEqual([1, 4, 2, 5, 3, 6]);
    expect(() => run1('Transpose', [x23], { perm: [0, 0] })).toThrow(/KLN1008 perm must be a permutation/);
  });
  it('Shape with start and end (opset 15)', () => {
    const y = f32([2, 3, 4, 5], new Array(120).fill(0));
    expect(vals(run1('Shape', [y], { start: 1, end: -1 }, 15))).toEqual([3, 4]);
    expect(run1('Shape', [y]).dtype).toBe('int64');
  });
  it('Split into given sizes and equal parts', () => {
    const x = f32([5], [1, 2, 3, 4, 5]);
    expect(runOp('Split', [x, i64([2, 3])], {}, 13, 2).map(vals)).toEqual([[1, 2], [3, 4, 5]]);
    expect(runOp('Split', [x], { num_outputs: 3 }, 18, 3).map(vals)).toEqual([[1, 2], [3, 4], [5]]);
  });
});
