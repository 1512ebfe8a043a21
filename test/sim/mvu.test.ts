// MVU sim matrix: weight/input types (binary XNOR, bipolar/ternary add-sub, multipliers), shapes,
// signedness, PE/SIMD foldings from serial to fully unrolled, extreme inputs that reach the
// accumulator's worst case.
import { describe, expect, it } from 'vitest';
import { parseQType, qtypeName, range } from '../../src/ir/datatype.ts';
import { mvuOutType } from '../../src/layers/mvu.ts';
import { rng } from '../unit/layers-helpers.ts';
import { expectExact, haveVerilator, randomValues, runLayerCase, type LayerCase } from './layer-matrix.ts';

function mvuCase(label: string, rows: number, cols: number, pe: number, simd: number, inType: string, weightType: string, seed: number, zeros = 0): LayerCase {
  const r = rng(seed);
  const weights = randomValues(weightType, rows * cols, r).map((w) => (r() < zeros ? 0 : w));
  const outType = qtypeName(mvuOutType(rows, cols, parseQType(inType), weights));
  // Extremes: every input at its low / high end, and for row 0 the vectors reaching its max and min sums.
  const [lo, hi] = range(parseQType(inType));
  const row0 = weights.slice(0, cols);
  const extra = [
    new Array(cols).fill(lo),
    new Array(cols).fill(hi),
    row0.map((w) => (w >= 0 ? hi : lo)),
    row0.map((w) => (w >= 0 ? lo : hi)),
  ];
  return { label, kind: 'MVU', attrs: { rows, cols, pe, simd, inType, weightType, outType }, consts: { weights }, inType, inElems: cols, outType, outElems: rows, extra };
}

const cases: LayerCase[] = [
  mvuCase('xnor_16x32_pe4_simd8', 16, 32, 4, 8, 'BIPOLAR', 'BIPOLAR', 1),
  mvuCase('xnor_8x16_unrolled', 8, 16, 8, 16, 'BIPOLAR', 'BIPOLAR', 2),
  mvuCase('xnor_6x10_serial', 6, 10, 1, 1, 'BIPOLAR', 'BIPOLAR', 3),
  mvuCase('int4w_uint4x_12x18_pe3_simd6', 12, 18, 3, 6, 'UINT4', 'INT4', 4),
  mvuCase('int8w_int8x_6x10_serial', 6, 10, 1, 1, 'INT8', 'INT8', 5),
  mvuCase('ternary_int3x_10x20_pe5_simd4_sparse', 10, 20, 5, 4, 'INT3', 'TERNARY', 6, 0.3),
  mvuCase('ternary_uint2x_6x8_unrolled_sparse', 6, 8, 6, 8, 'UINT2', 'TERNARY', 7, 0.5),
  mvuCase('bipolarw_uint2x_8x12_pe2_simd12', 8, 12, 2, 12, 'UINT2', 'BIPOLAR', 8),
  mvuCase('int2w_bipolarx_8x12_pe8_simd1', 8, 12, 8, 1, 'BIPOLAR', 'INT2', 9),
  mvuCase('int16w_int16x_4x4_pe2_simd2', 4, 4, 2, 2, 'INT16', 'INT16', 10),
  mvuCase('uint3w_int5x_5x7_pe1_simd7', 5, 7, 1, 7, 'INT5', 'UINT3', 11),
  mvuCase('binaryw_int4x_6x6_unrolled_sparse', 6, 6, 6, 6, 'INT4', 'BINARY', 12, 0.3),
];

describe.skipIf(!haveVerilator)('MVU RTL == reference, cycles == model', () => {
  it.each(cases.map((c, i) => [c.label, c, i] as const))('%s', async (_label, c, i) => {
    const res = await runLayerCase(c, 100 + i);
    expectExact(res);
    expect(res.cycles).toBe(((c.attrs.rows as number) / (c.attrs.pe as number)) * ((c.attrs.cols as number) / (c.attrs.simd as number)));
  });
});
