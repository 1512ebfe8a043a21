// Conv/ConvTranspose/pooling against naive loops written independently from the spec formulas.
import { describe, expect, it } from 'vitest';
import { nums, type Tensor } from '../../src/ir/tensor.ts';
import { f32, randomF32, run1, runOp, vals } from './exec-helpers.ts';

/** Naive 2-D convolution straight from the definition: zero padding, groups, strides, dilations. */
function naiveConv2d(x: Tensor, w: Tensor, b: number[] | undefined, o: { group: number; pads: number[]; strides: number[]; dil: number[] }): { shape: number[]; v: number[] } {
  const [N, C, H, W] = x.shape;
  const [M, Cg, KH, KW] = w.shape;
  const [pt, pl, pb, pr] = o.pads;
  const OH = Math.floor((H + pt + pb - ((KH - 1) * o.dil[0] + 1)) / o.strides[0]) + 1;
  const OW = Math.floor((W + pl + pr - ((KW - 1) * o.dil[1] + 1)) / o.strides[1]) + 1;
  const xv = nums(x), wv = nums(w);
  const at = (n: number, c: number, h: number, ww: number) => (h < 0 || h >= H || ww < 0 || ww >= W ? 0 : xv[((n * C + c) * H + h) * W + ww]);
  const out: number[] = [];
  for (let n = 0; n < N; n++) for (let m = 0; m < M; m++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
    const g = Math.floor(m / (M / o.group));
    let s = b ? b[m] : 0;
    for (let c = 0; c < Cg; c++) for (let kh = 0; kh < KH; kh++) for (let kw = 0; kw < KW; kw++) {
      s += wv[((m * Cg + c) * KH + kh) * KW + kw] * at(n, g * Cg + c, oh * o.strides[0] - pt + kh * o.dil[0], ow * o.strides[1] - pl + kw * o.dil[1]);
    }
    out.push(Math.fround(s));
  }
  return { shape: [N, M, OH, OW], v: out };
}

describe('Conv', () => {
  const cases = [
    { group: 1, pads: [0, 0, 0, 0], strides: [1, 1], dil: [1, 1], C: 3, M: 4 },
    { group: 2, pads: [1, 2, 0, 1], strides: [2, 1], dil: [1, 2], C: 4, M: 6 },
    { group: 4, pads: [2, 2, 2, 2], strides: [1, 3], dil: [2, 1], C: 4, M: 4 }, // depthwise
    { group: 3, pads: [1, 0, 1, 0], strides: [2, 2], dil: [3, 2], C: 6, M: 3 },
  ];
  for (const [i, c] of cases.entries()) {
    it(`matches a naive loop (group ${c.group}, pads ${c.pads}, strides ${c.strides}, dilations ${c.dil})`, () => {
      const x = randomF32([2, c.C, 9, 8], 10 + i);
      const w = randomF32([c.M, c.C / c.group, 3, 2], 20 + i);
      const b = randomF32([c.M], 30 + i);
      const y = run1('Conv', [x, w, b], { group: c.group, pads: c.pads, strides: c.strides, dilations: c.dil });
      const want = naiveConv2d(x, w, vals(b), c);
      expect(y.shape).toEqual(want.shape);
      vals(y).forEach((v, k) => expect(v).toBeCloseTo(want.v[k], 5));
    });
  }

  it('Conv1d equals the 2-D conv with a height-1 input', () => {
    const x = randomF32([1, 2, 7], 1);
    const w = randomF32([3, 2, 3], 2);
    const y1 = run1('Conv', [x, w], { pads: [1, 1], strides: [2] });
    const y2 = run1('Conv', [{ ...x, shape: [1, 2, 1, 7] }, { ...w, shape: [3, 2, 1, 3] }], { pads: [0, 1, 0, 1], strides: [1, 2] });
    expect(y1.shape).toEqual([1, 3, 4]);
    expect(vals(y1)).toEqual(vals(y2));
  });

  it('auto_pad SAME_UPPER puts the odd pad at the end, SAME_LOWER at the start', () => {
    // 1-D input [1..4], kernel of ones width 2, stride 1: total pad 1.
    const x = f32([1, 1, 4], [1, 2, 3, 4]);
    const w = f32([1, 1, 2], [1, 1]);
    expect(vals(run1('Conv', [x, w], { auto_pad: 'SAME_UPPER' }))).toEqual([3, 5, 7, 4]);
    expect(vals(run1('Conv', [x, w], { auto_pad: 'SAME_LOWER' }))).toEqual([1, 3, 5, 7]);
    expect(run1('Conv', [x, w], { auto_pad: 'VALID', strides: [2] }).shape).toEqual([1, 1, 2]);
  });

  it('refuses a weight whose channels do not match the group', () => {
    expect(() => run1('Conv', [randomF32([1, 4, 3, 3], 1), randomF32([2, 3, 1, 1], 2)], { group: 2 })).toThrow(/KLN1009 Conv with group=2 needs input channels 6/);
  });
});

describe('ConvTranspose', () => {
  it('scatters each input through the kernel (stride 2, output_padding 1)', () => {
    const x = f32([1, 1, 2], [1, 2]);
    const w = f32([1, 1, 3], [1, 10, 100]);
    // full = 2*(2-1) + 1 + 3 = 6: [1, 10, 100+2, 20, 200, 0]
    expect(vals(run1('ConvTranspose', [x, w], { strides: [2], output_padding: [1] }))).toEqual([1, 10, 102, 20, 200, 0]);
  });
});

describe('pooling', () => {
  const x = f32([1, 1, 4, 4], Array.from({ length: 16 }, (_, i) => i + 1));
  it('MaxPool ceil_mode adds a partial last window', () => {
    expect(vals(run1('MaxPool', [x], { kernel_shape: [3, 3], strides: [2, 2] }))).toEqual([11]);
    expect(vals(run1('MaxPool', [x], { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 }))).toEqual([11, 12, 15, 16]);
  });
  it('MaxPool with dilations and its Indices output (row- and column-major)', () => {
    const [y, idx] = runOp('MaxPool', [x], { kernel_shape: [2, 2], dilations: [2, 2] }, 13, 2);
    expect(vals(y)).toEqual([11, 12, 15, 16]);
    expect(vals(idx)).toEqual([10, 11, 14, 15]);
    const [, col] = runOp('MaxPool', [x], { kernel_shape: [2, 2], dilations: [2, 2], storage_order: 1 }, 13, 2);
    expect(vals(col)).toEqual([2 + 4 * 2, 2 + 4 * 3, 3 + 4 * 2, 3 + 4 * 3]);
  });
  it('AveragePool count_include_pad divides by the padded window', () => {
    const one = f32([1, 1, 2, 2], [4, 4, 4, 4]);
    expect(vals(run1('AveragePool', [one], { kernel_shape: [2, 2], pads: [1, 1, 1, 1] }))).toEqual([4, 4, 4, 4, 4, 4, 4, 4, 4]);
    expect(vals(run1('AveragePool', [one], { kernel_shape: [2, 2], pads: [1, 1, 1, 1], count_include_pad: 1 }))).toEqual([1, 2, 1, 2, 4, 2, 1, 2, 1]);
  });
  it('GlobalAveragePool and GlobalMaxPool keep singleton spatial dims', () => {
    expect(run1('GlobalAveragePool', [x]).shape).toEqual([1, 1, 1, 1]);
    expect(vals(run1('GlobalAveragePool', [x]))).toEqual([8.5]);
    expect(vals(run1('GlobalMaxPool', [x]))).toEqual([16]);
  });
});
