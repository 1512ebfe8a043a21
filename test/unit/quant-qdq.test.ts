// QuantizeLinear / DequantizeLinear: per-tensor, per-axis, blocked; float32 division; saturation.
import { describe, expect, it } from 'vitest';
import { f32, int, node, run, sc, t, TIE_S, TIE_X, vals } from './quant-helpers.ts';

describe('QuantizeLinear', () => {
  it('defaults to uint8 with zero point 0, rounds half to even, saturates', () => {
    const y = run(node('QuantizeLinear', 2), [f32([6], [0.5, 1.5, 2.5, -3, 300, 254.5]), sc(1)]);
    expect(y.dtype).toBe('uint8');
    expect(vals(y)).toEqual([0, 2, 2, 0, 255, 254]);
  });

  it('takes its type from the zero point (int8) and adds it after rounding', () => {
    const y = run(node('QuantizeLinear', 3), [f32([4], [-300, -2.5, 2.5, 300]), sc(0.5), t('int8', [], [-1])]);
    expect(y.dtype).toBe('int8');
    expect(vals(y)).toEqual([-128, -6, 4, 127]);
  });

  it('divides in float32 like onnxruntime: x/s of exactly 2.5 in float32 quantizes to 2', () => {
    expect(vals(run(node('QuantizeLinear', 2), [f32([1], [TIE_X]), sc(TIE_S)]))).toEqual([2]);
  });

  it('quantizes per axis with a 1-D scale and zero point (axis 1 by default, negative axes too)', () => {
    const x = f32([2, 2], [1, 1, 2, 2]);
    const s = f32([2], [0.5, 0.25]);
    const zp = t('uint8', [2], [10, 20]);
    expect(vals(run(node('QuantizeLinear', 3), [x, s, zp]))).toEqual([12, 24, 14, 28]);
    expect(vals(run(node('QuantizeLinear', 3, { axis: int(0) }), [x, s, zp]))).toEqual([12, 12, 28, 28]);
    expect(vals(run(node('QuantizeLinear', 3, { axis: int(-2) }), [x, s, zp]))).toEqual([12, 12, 28, 28]);
  });

  it('quantizes blocked (opset 21 block_size) and to int16 via output_dtype', () => {
    const x = f32([1, 4], [1, 2, 3, 4]);
    const y = run(node('QuantizeLinear', 2, { axis: int(1), block_size: int(2), output_dtype: int(5) }), [x, f32([1, 2], [0.5, 0.001])]);
    expect(y.dtype).toBe('int16');
    expect(vals(y)).toEqual([2, 4, 3000, 4000]);
  });

  it('refuses a per-axis scale of the wrong length', () => {
    expect(() => run(node('QuantizeLinear', 2), [f32([2, 3], [1, 2, 3, 4, 5, 6]), f32([2], [1, 1])])).toThrow(/KLN1009 QuantizeLinear scale of shape \[2\] does not match dimension 1/);
  });
});

describe('DequantizeLinear', () => {
  it('computes (x − zp)·s in float32, per tensor and per axis', () => {
    const y = run(node('DequantizeLinear', 3), [t('uint8', [3], [0, 128, 255]), sc(0.1), t('uint8', [], [128])]);
    expect(y.dtype).toBe('float32');
    expect(vals(y)).toEqual([Math.fround(-128 * Math.fround(0.1)), 0, Math.fround(127 * Math.fround(0.1))]);
    const a = run(node('DequantizeLinear', 3, { axis: int(0) }), [t('int8', [2, 2], [1, -1, 2, -2]), f32([2], [2, 0.5]), t('int8', [2], [0, 1])]);
    expect(vals(a)).toEqual([2, -2, 0.5, -1.5]);
  });

  it('accepts int32 input without a zero point (biases)', () => {
    expect(vals(run(node('DequantizeLinear', 2), [t('int32', [2], [100000, -7]), sc(0.5)]))).toEqual([50000, -3.5]);
  });
});
