// QONNX quantizers against independently written expectations (qonnx docs and hand computation).
import { describe, expect, it } from 'vitest';
import { KilnError } from '../../src/diag/index.ts';
import { qonnxIntRange } from '../../src/exec/ops/quant.ts';
import { f32, flt, int, node, run, sc, str, TIE_S, TIE_X, vals } from './quant-helpers.ts';

const quant = (x: number[], s: number, z: number, bits: number, attrs: Parameters<typeof node>[2] = {}, op = 'Quant', domain = 'qonnx.custom_op.general') =>
  vals(run(node(op, 4, attrs, domain), [f32([x.length], x), sc(s), sc(z), sc(bits)]));

describe('Quant / IntQuant', () => {
  it('integer ranges follow qonnx min_int/max_int, narrow included', () => {
    expect(qonnxIntRange(true, false, 8)).toEqual([-128, 127]);
    expect(qonnxIntRange(true, true, 8)).toEqual([-127, 127]);
    expect(qonnxIntRange(false, false, 8)).toEqual([0, 255]);
    expect(qonnxIntRange(false, true, 8)).toEqual([0, 254]);
  });

  it('rounds half to even by default and clips to the range', () => {
    const x = [0.5, 1.5, 2.5, -0.5, -2.5, 3.49, 100, -100];
    expect(quant(x, 1, 0, 4, { signed: int(1), narrow: int(0) })).toEqual([0, 2, 2, -0, -2, 3, 7, -8]);
    expect(quant(x, 1, 0, 4, { signed: int(1), narrow: int(1) })).toEqual([0, 2, 2, -0, -2, 3, 7, -7]);
    expect(quant(x, 1, 0, 4, { signed: int(0), narrow: int(0) })).toEqual([0, 2, 2, 0, 0, 3, 15, 0]);
  });

  it('implements every rounding mode of the qonnx table', () => {
    // Rows of docs/qonnx-custom-ops/intquant_v1.md: input and ROUND CEIL FLOOR UP DOWN HALF_UP HALF_DOWN.
    const table: [number, number[]][] = [
      [5.5, [6, 6, 5, 6, 5, 6, 5]], [2.5, [2, 3, 2, 3, 2, 3, 2]], [1.6, [2, 2, 1, 2, 1, 2, 2]],
      [1.1, [1, 2, 1, 2, 1, 1, 1]], [1.0, [1, 1, 1, 1, 1, 1, 1]], [-1.0, [-1, -1, -1, -1, -1, -1, -1]],
      [-1.1, [-1, -1, -2, -2, -1, -1, -1]], [-1.6, [-2, -1, -2, -2, -1, -2, -2]],
      [-2.5, [-2, -2, -3, -3, -2, -3, -2]], [-5.5, [-6, -5, -6, -6, -5, -6, -5]],
    ];
    const modes = ['ROUND', 'CEIL', 'FLOOR', 'UP', 'DOWN', 'HALF_UP', 'HALF_DOWN'];
    modes.forEach((mode, k) => {
      const got = quant(table.map(([x]) => x), 1, 0, 8, { signed: int(1), narrow: int(0), rounding_mode: str(mode.toLowerCase()) });
      expect(got.map((v) => v + 0), mode).toEqual(table.map(([, want]) => want[k]));
    });
    // Brevitas' name for DOWN.
    expect(quant([-1.6, 1.6], 1, 0, 8, { rounding_mode: str('ROUND_TO_ZERO') })).toEqual([-1, 1]);
  });

  it('divides in float32 as numpy does: x/s of exactly 2.5 in float32 rounds to 2', () => {
    expect(TIE_X / TIE_S).toBeGreaterThan(2.5); // 3 if the division were done in float64
    expect(quant([TIE_X], TIE_S, 0, 8)).toEqual([Math.fround(2 * TIE_S)]);
  });

  it('applies the zero point: y = (q - z)·s, with q clipped in the shifted range', () => {
    // x/s + z = 2 + 3 = 5 → (5 − 3)·0.5 = 1; 100/0.5 + 3 → clipped to 15 → (15 − 3)·0.5 = 6.
    expect(quant([1, 100, -100], 0.5, 3, 4, { signed: int(0) })).toEqual([1, 6, -1.5]);
  });

  it('treats a 1-bit signed Quant as bipolar ±1', () => {
    expect(quant([0, 0.3, -0.01, -5], 2, 0, 1, { signed: int(1) })).toEqual([2, 2, -2, -2]);
  });

  it('broadcasts a per-channel scale [C,1]', () => {
    const y = run(node('IntQuant', 4, { signed: int(1), narrow: int(0) }), [f32([2, 2], [1, 1, 1, 1]), f32([2, 1], [0.5, 0.3]), sc(0), sc(8)]);
    expect(vals(y)).toEqual([1, 1, Math.fround(3 * Math.fround(0.3)), Math.fround(3 * Math.fround(0.3))]);
  });

  it('is matched in any domain, including an undeclared one', () => {
    expect(quant([1.4], 1, 0, 8, {}, 'Quant', 'finn.custom_op.general')).toEqual([1]);
    expect(quant([1.4], 1, 0, 8, {}, 'Quant', 'onnx.brevitas')).toEqual([1]);
  });

  it('refuses a bad rounding mode and a non-integer bit width with coded one-line errors', () => {
    expect(() => quant([1], 1, 0, 8, { rounding_mode: str('NEAREST') })).toThrow(KilnError);
    expect(() => quant([1], 1, 0, 8, { rounding_mode: str('NEAREST') })).toThrow(
      "KLN1008 attribute 'rounding_mode' of Quant must be one of ROUND, HALF_EVEN, CEIL, FLOOR, UP, DOWN, ROUND_TO_ZERO, HALF_UP, HALF_DOWN, not 'NEAREST'",
    );
    expect(() => quant([1], 1, 0, 2.5)).toThrow('KLN1008 bit width of Quant must be an integer from 1 to 32, not 2.5');
  });
});

describe('BipolarQuant', () => {
  it('maps x >= 0 to +s and x < 0 to −s (per-channel s)', () => {
    const y = run(node('BipolarQuant', 2, {}, 'onnx.brevitas'), [f32([2, 2], [0, -0.5, 3, -0]), f32([2, 1], [0.25, 4])]);
    expect(vals(y)).toEqual([0.25, -0.25, 4, 4]);
  });
});

describe('Trunc', () => {
  it('v1 drops in_bits − out_bits LSBs (FLOOR by default) and rescales by the input scale', () => {
    // 8-bit codes 37, −37, 100 → 4 bits: /16 → 2.3125, −2.3125, 6.25 → floor 2, −3, 6.
    const y = run(node('Trunc', 5, {}, 'qonnx.custom_op.general'), [f32([3], [37, -37, 100]), sc(1), sc(0), sc(8), sc(4)]);
    expect(vals(y)).toEqual([2, -3, 6]);
    const r = run(node('Trunc', 5, { rounding_mode: str('ROUND') }), [f32([2], [40, 56]), sc(1), sc(0), sc(8), sc(4)]);
    expect(vals(r)).toEqual([2, 4]); // 2.5 → 2, 3.5 → 4
  });

  it('v2 uses out_scale/scale as the power-of-two trunc scale and clips to the output range', () => {
    // scale 0.5, out_scale 4 → trunc scale 8. x = 13 → 26 → 3.25 → floor 3 → 3·4 = 12;
    // x = 200 → 400 → 50 → clipped to 7 (signed 4 bit) → 28; x = −200 → −8 → −32.
    const ins = [f32([3], [13, 200, -200]), sc(0.5), sc(0), sc(8), sc(4), sc(0), sc(4)];
    expect(vals(run(node('Trunc', 7, { signed: int(1), narrow: int(0) }), ins))).toEqual([12, 28, -32]);
    expect(vals(run(node('Trunc', 7, { signed: int(1), narrow: int(1) }), ins))).toEqual([12, 28, -28]);
  });
});

describe('MultiThreshold', () => {
  const thresholds = f32([2, 3], [0, 1, 2, 10, 20, 30]);
  it('counts thresholds reached per channel (NCHW), then scales and biases', () => {
    const x = f32([1, 2, 1, 2], [0.5, 2, 9.9, 30]);
    expect(vals(run(node('MultiThreshold', 2, {}, 'finn'), [x, thresholds]))).toEqual([1, 3, 0, 3]);
    const n = node('MultiThreshold', 2, { out_scale: flt(2), out_bias: flt(-3) }, 'qonnx.custom_op.general');
    expect(vals(run(n, [x, thresholds]))).toEqual([-1, 3, -3, 3]);
  });

  it('takes the channel from the last axis for NHWC and from axis 1 for 2-D inputs', () => {
    const nhwc = f32([1, 1, 2, 2], [0.5, 9.9, 2, 30]);
    expect(vals(run(node('MultiThreshold', 2, { data_layout: str('NHWC') }), [nhwc, thresholds]))).toEqual([1, 0, 3, 3]);
    expect(vals(run(node('MultiThreshold', 2), [f32([1, 2], [1, 20]), thresholds]))).toEqual([2, 2]);
  });

  it('refuses thresholds that do not match the channels', () => {
    expect(() => run(node('MultiThreshold', 2), [f32([1, 3], [1, 2, 3]), thresholds])).toThrow('KLN1009 MultiThreshold has 2 threshold rows for 3 channels');
  });
});
