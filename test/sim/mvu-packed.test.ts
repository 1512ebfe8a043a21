// DSP-packed MVU sim matrix (hw/mvu/mvu.v with PACK > 1): several PE rows' products in one
// multiplier. Signed / unsigned inputs and weights, full range (weights at both type extremes) and
// narrow range, partial groups (PE not a multiple of the lanes), packed chunks with guard bits, and
// the worst-case accumulations: weights only at their extremes with inputs at theirs, so every lane
// field reaches both ends of its range. Each case also checks which packing dspPacking() chose, so a
// case cannot silently fall back to one DSP per lane. RTL == reference with random back-pressure and
// input gaps, cycles == model (layer-matrix.ts).
import { describe, expect, it } from 'vitest';
import { parseQType, qtypeName, range } from '../../src/ir/datatype.ts';
import { dspPacking } from '../../src/layers/common/dsp-packing.ts';
import { mvuOutType } from '../../src/layers/mvu.ts';
import { randInt, rng } from '../unit/layers-helpers.ts';
import { expectExact, haveVerilator, runLayerCase, type LayerCase } from './layer-matrix.ts';

type Weights = 'random' | 'extremes' | 'narrow';

interface PackedCase extends LayerCase { lanes: number; chunk: number }

function packedCase(rows: number, cols: number, pe: number, simd: number, inType: string, weightType: string, weights: Weights, lanes: number, chunk: number, seed: number): PackedCase {
  const r = rng(seed);
  const [wlo, whi] = range(parseQType(weightType));
  const w = Array.from({ length: rows * cols }, () => {
    if (weights === 'extremes') return r() < 0.5 ? wlo : whi;
    if (weights === 'narrow') return randInt(r, Math.max(wlo, -whi), whi);
    return randInt(r, wlo, whi);
  });
  const outType = qtypeName(mvuOutType(rows, cols, parseQType(inType), w));
  const [lo, hi] = range(parseQType(inType));
  // Extremes: all inputs low / high, and per row fold's first row the vectors of its max and min sums.
  const row0 = w.slice(0, cols);
  const extra = [new Array(cols).fill(lo), new Array(cols).fill(hi), row0.map((x) => (x >= 0 ? hi : lo)), row0.map((x) => (x >= 0 ? lo : hi))];
  const label = `${weightType.toLowerCase()}w_${inType.toLowerCase()}x_${rows}x${cols}_pe${pe}_simd${simd}_${weights}`;
  return { label, kind: 'MVU', attrs: { rows, cols, pe, simd, inType, weightType, outType }, consts: { weights: w }, inType, inElems: cols, outType, outElems: rows, extra, lanes, chunk };
}

const cases: PackedCase[] = [
  // 4-bit: four lanes at 7-bit offsets fill the 25-bit A port; no guard bits, so no packed chunks.
  packedCase(16, 32, 8, 16, 'UINT4', 'INT4', 'extremes', 4, 1, 1),
  packedCase(16, 24, 4, 8, 'INT4', 'INT4', 'random', 4, 1, 2),
  packedCase(12, 16, 6, 4, 'UINT4', 'INT4', 'narrow', 3, 4, 3), // 2 groups of 3 lanes, not 4 + 2: more guard bits
  // 8-bit: two lanes at 17-bit offsets; the guard bits let four products add up packed.
  packedCase(8, 32, 4, 8, 'UINT8', 'INT8', 'extremes', 2, 4, 4),
  packedCase(8, 20, 2, 5, 'INT8', 'INT8', 'random', 2, 4, 5),
  packedCase(10, 18, 5, 6, 'INT8', 'INT8', 'narrow', 2, 4, 6), // groups of 2 + 2 + 1 lanes
  // unsigned weights (a zero sign bit in A) and in-between widths: three lanes per multiplier.
  packedCase(9, 12, 3, 4, 'INT4', 'UINT4', 'extremes', 3, 4, 7),
  packedCase(6, 10, 3, 5, 'INT3', 'INT6', 'random', 3, 2, 8),
  // one column fold (SF = 1): the accumulator starts every row fold at its correction.
  packedCase(16, 8, 4, 8, 'UINT4', 'INT4', 'random', 4, 1, 9),
];

describe('dspPacking chooses the lanes and chunks of the matrix', () => {
  it.each(cases.map((c) => [c.label, c] as const))('%s', (_label, c) => {
    const a = { ...(c.attrs as { rows: number; cols: number; pe: number; simd: number }), inType: parseQType(c.inType), weightType: parseQType(c.attrs.weightType as string), sparse: 0 };
    const p = dspPacking(a, c.consts!.weights, 24);
    expect(p?.lanes).toBe(c.lanes);
    expect(p?.chunk).toBe(c.chunk);
  });
});

describe.skipIf(!haveVerilator)('packed MVU RTL == reference, cycles == model', () => {
  it.each(cases.map((c, i) => [c.label, c, i] as const))('%s', async (_label, c, i) => {
    const res = await runLayerCase(c, 300 + i);
    expectExact(res);
    expect(res.cycles).toBe(((c.attrs.rows as number) / (c.attrs.pe as number)) * ((c.attrs.cols as number) / (c.attrs.simd as number)));
  });
});
