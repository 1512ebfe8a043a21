// MVU with mult "lut" (hw/mvu/mvu.v MUL_LUT = 1): every multiply lane a shift-and-add in LUTs, no
// DSP. Signed / unsigned weights and inputs, folded and fully unrolled, worst-case input vectors;
// RTL == reference with random back-pressure and input gaps, cycles == model (layer-matrix.ts); and
// the estimate counts no DSP for any of them.
import { describe, expect, it } from 'vitest';
import { parseQType, qtypeName, range } from '../../src/ir/datatype.ts';
import { layerResources } from '../../src/estimate/resources.ts';
import { mvuOutType } from '../../src/layers/mvu.ts';
import { rng } from '../unit/layers-helpers.ts';
import { expectExact, haveVerilator, randomValues, runLayerCase, type LayerCase } from './layer-matrix.ts';

function lutCase(rows: number, cols: number, pe: number, simd: number, inType: string, weightType: string, seed: number): LayerCase {
  const r = rng(seed);
  const weights = randomValues(weightType, rows * cols, r);
  const outType = qtypeName(mvuOutType(rows, cols, parseQType(inType), weights));
  const [lo, hi] = range(parseQType(inType));
  const row0 = weights.slice(0, cols);
  const extra = [new Array(cols).fill(lo), new Array(cols).fill(hi), row0.map((w) => (w >= 0 ? hi : lo)), row0.map((w) => (w >= 0 ? lo : hi))];
  const label = `lut_${weightType.toLowerCase()}w_${inType.toLowerCase()}x_${rows}x${cols}_pe${pe}_simd${simd}`;
  return { label, kind: 'MVU', attrs: { rows, cols, pe, simd, inType, weightType, outType, mult: 'lut' }, consts: { weights }, inType, inElems: cols, outType, outElems: rows, extra };
}

const cases: LayerCase[] = [
  lutCase(16, 32, 8, 16, 'UINT4', 'INT4', 1),
  lutCase(6, 10, 1, 1, 'INT8', 'INT8', 2),
  lutCase(8, 12, 2, 6, 'INT5', 'UINT3', 3),
  lutCase(4, 6, 4, 6, 'INT4', 'INT4', 4), // fully unrolled: constant weights, the shift-adds of their one bits
];

describe('mult lut: no DSP in the estimate', () => {
  it.each(cases.map((c) => [c.label, c] as const))('%s', (_label, c) => {
    expect(layerResources({ name: 'dut', kind: 'MVU', attrs: c.attrs, consts: c.consts! }, 'xc7').dsp).toBe(0);
  });
});

describe.skipIf(!haveVerilator)('mult lut MVU RTL == reference, cycles == model', () => {
  it.each(cases.map((c, i) => [c.label, c, i] as const))('%s', async (_label, c, i) => {
    const res = await runLayerCase(c, 400 + i);
    expectExact(res);
    expect(res.cycles).toBe(((c.attrs.rows as number) / (c.attrs.pe as number)) * ((c.attrs.cols as number) / (c.attrs.simd as number)));
  });
});
