// Fully unrolled MVU in its multiplierless form (src/layers/common/cmvm.ts: CSD digits, shared
// subexpressions, a pipelined adder graph; Verilog from common/cmvm-rtl.ts). Signed / unsigned
// inputs and weights, worst-case input vectors, several register stages (small maxLogicLevels),
// several vectors per inference: RTL == reference with random back-pressure and input gaps, cycles
// and first-output latency == the model (layer-matrix.ts); no DSP in the estimate; the graph itself
// computes W·x exactly.
import { describe, expect, it } from 'vitest';
import { parseQType, qtypeName, range } from '../../src/ir/datatype.ts';
import { layerResources } from '../../src/estimate/resources.ts';
import { mvuOutType } from '../../src/layers/mvu.ts';
import { cmvmGraph, csd, evalCmvm } from '../../src/layers/common/cmvm.ts';
import { rng } from '../unit/layers-helpers.ts';
import { expectExact, haveVerilator, randomValues, runLayerCase, type LayerCase } from './layer-matrix.ts';

function cmvmCase(rows: number, cols: number, inType: string, weightType: string, seed: number, extra: Record<string, number | string> = {}): LayerCase {
  const r = rng(seed);
  const weights = randomValues(weightType, rows * cols, r);
  const vectors = (extra.vectors as number | undefined) ?? 1;
  const outType = qtypeName(mvuOutType(rows, cols, parseQType(inType), weights));
  const [lo, hi] = range(parseQType(inType));
  const row0 = weights.slice(0, cols);
  const rep = (v: number[]) => Array.from({ length: vectors }, () => v).flat();
  const worst = [new Array(cols).fill(lo), new Array(cols).fill(hi), row0.map((w) => (w >= 0 ? hi : lo)), row0.map((w) => (w >= 0 ? lo : hi))].map(rep);
  const label = `cmvm_${weightType.toLowerCase()}w_${inType.toLowerCase()}x_${rows}x${cols}${Object.entries(extra).map(([k, v]) => `_${k}${v}`).join('')}`;
  return { label, kind: 'MVU', attrs: { rows, cols, pe: rows, simd: cols, inType, weightType, outType, ...extra }, consts: { weights }, inType, inElems: vectors * cols, outType, outElems: vectors * rows, extra: worst };
}

const cases: LayerCase[] = [
  cmvmCase(6, 8, 'INT4', 'INT4', 1),
  cmvmCase(5, 7, 'UINT6', 'INT6', 2, { maxLogicLevels: 4 }), // several register stages
  cmvmCase(8, 5, 'INT8', 'UINT3', 3, { mult: 'lut', maxLogicLevels: 6 }),
  cmvmCase(4, 6, 'UINT3', 'UINT4', 4, { vectors: 3, maxLogicLevels: 3 }),
  cmvmCase(3, 4, 'INT16', 'TERNARY', 5),
];

describe('cmvm adder graph', () => {
  it('CSD digits sum to the weight, no two adjacent', () => {
    for (let w = -300; w <= 300; w++) {
      const d = csd(w);
      expect(d.reduce((s, [k, g]) => s + g * 2 ** k, 0)).toBe(w);
      for (let i = 1; i < d.length; i++) expect(d[i][0] - d[i - 1][0]).toBeGreaterThan(1);
    }
  });
  it('computes W·x exactly and shares subexpressions (fewer adders than the CSD terms)', () => {
    const r = rng(7);
    const rows = 12;
    const cols = 10;
    const w = randomValues('INT6', rows * cols, r);
    const g = cmvmGraph(w, rows, cols, -128, 127, 8);
    let digits = 0;
    for (const x of w) digits += csd(x).length;
    expect(g.nodes.length).toBeLessThan(digits - rows);
    expect(g.depth).toBeLessThanOrEqual(8);
    for (let k = 0; k < 50; k++) {
      const x = Array.from({ length: cols }, () => Math.floor(r() * 256) - 128);
      const y = evalCmvm(g, x);
      for (let i = 0; i < rows; i++) expect(y[i]).toBe(w.slice(i * cols, (i + 1) * cols).reduce((s, v, c) => s + v * x[c], 0));
    }
  });
  it.each(cases.map((c) => [c.label, c] as const))('%s: no DSP in the estimate', (_label, c) => {
    expect(layerResources({ name: 'dut', kind: 'MVU', attrs: c.attrs, consts: c.consts! }, 'xc7').dsp).toBe(0);
  });
});

describe.skipIf(!haveVerilator)('cmvm MVU RTL == reference, cycles == model', () => {
  it.each(cases.map((c, i) => [c.label, c, i] as const))('%s', async (_label, c, i) => {
    const res = await runLayerCase(c, 500 + i);
    expectExact(res);
    expect(res.cycles).toBe((c.attrs.vectors as number | undefined) ?? 1);
  });
});
