import { describe, expect, it } from 'vitest';
import { runDataflow } from '../../src/exec/dataflow.ts';
import threshold from '../../src/layers/threshold.ts';
import { oneLayer, randInt, rng } from './layers-helpers.ts';

describe('Threshold layer', () => {
  it('execute (a binary search) equals #{i : x ≥ T[c][i]} over each channel\'s ascending thresholds, ties included', () => {
    const r = rng(3);
    for (let trial = 0; trial < 30; trial++) {
      const channels = randInt(r, 1, 6);
      const elems = channels * randInt(r, 1, 4);
      const steps = randInt(r, 1, 7);
      const outBias = randInt(r, -4, 0);
      const outScale = randInt(r, 1, 2);
      const t: number[] = [];
      for (let c = 0; c < channels; c++) {
        const row = Array.from({ length: steps }, () => 4 * randInt(r, -35, 35)).sort((a, b) => a - b);
        t.push(...row);
      }
      const df = oneLayer({ kind: 'Threshold', attrs: { elems, channels, steps, inType: 'INT8', outType: 'INT6', outBias, outScale }, consts: { thresholds: t } }, 'INT8', elems, 'INT6', elems);
      const x = Array.from({ length: elems }, () => (trial % 2 ? 4 * randInt(r, -32, 31) : randInt(r, -128, 127)));
      const expected = x.map((v, e) => {
        const row = t.slice((e % channels) * steps, (e % channels + 1) * steps);
        return outBias + outScale * row.filter((ti) => v >= ti).length; // the definition; the kernel searches
      });
      expect(runDataflow(df, [x])[0]).toEqual(expected);
    }
  });

  it('bipolar output: one threshold, bias −1, scale 2', () => {
    const df = oneLayer({ kind: 'Threshold', attrs: { elems: 3, channels: 3, steps: 1, inType: 'INT4', outType: 'BIPOLAR', outBias: -1, outScale: 2 }, consts: { thresholds: [0, 2, -3] } }, 'INT4', 3, 'BIPOLAR', 3);
    expect(runDataflow(df, [[0, 1, -3]])[0]).toEqual([1, -1, 1]);
  });

  it('pinned errors', () => {
    const base = { name: 't', attrs: { elems: 64, channels: 64, steps: 1, pe: 5, inType: 'INT4', outType: 'UINT1' }, consts: { thresholds: new Array(64).fill(0) } };
    expect(() => threshold.parse(base)).toThrow('KLN2002 pe must divide 64, not 5');
    expect(() => threshold.parse({ ...base, attrs: { ...base.attrs, pe: 1, steps: 2 } })).toThrow("KLN1008 constant 'thresholds' must have 128 values, not 64");
    expect(() => threshold.parse({ ...base, attrs: { ...base.attrs, pe: 1, outBias: 1 } })).toThrow('KLN1008 outType must hold outBias + outScale·n for n in 0..1 (2), not UINT1');
    expect(() => threshold.parse({ ...base, attrs: { ...base.attrs, pe: 1, steps: 2 }, consts: { thresholds: [...new Array(126).fill(0), 3, 1] } })).toThrow('thresholds of channel 63 must be ascending');
  });
});

describe('Threshold search form: the cost form counts the tables the RTL writes', () => {
  it.each([
    [16, 16, 255, 2, 'INT16'], // 8 groups: the last stages' tables deep enough for block RAM
    [6, 24, 63, 6, 'INT12'], // one group: stage 0 a constant, no table
    [1, 12, 15, 4, 'INT8'], // per-tensor: every lane its own copy of the one table set
  ])('channels %i, elems %i, %i steps, pe %i, %s', async (channels, elems, steps, pe, inType) => {
    const { costTerms } = await import('../../src/estimate/resources.ts');
    const r = rng(channels + steps);
    const thresholds: number[] = [];
    for (let c = 0; c < channels; c++) thresholds.push(...Array.from({ length: steps }, () => randInt(r, -30000, 30000)).sort((a, b) => a - b));
    const outType = `UINT${Math.log2(steps + 1)}`;
    const layer = { name: 'act', attrs: { elems, channels, steps, pe, inType, outType, impl: 'search' }, consts: { thresholds } };
    const files: string[] = [];
    const a = threshold.parse(layer);
    const params = threshold.spec.rtl.params(a as never, layer.consts, { memFile: (_s, text) => (files.push(text), `f${files.length}.mem`) });
    // Per-tensor, every lane instantiates the lane-0 files.
    const copies = channels > 1 ? 1 : pe;
    const words = files.flatMap((f) => Array(copies).fill(f.trim().split('\n').length)).filter((n) => n > 1).sort((x, y) => x - y);
    const t = costTerms({ ...layer, kind: 'Threshold' });
    expect(t.memories.map((m) => m.depth).sort((x, y) => x - y)).toEqual(words);
    expect(t.memories.every((m) => m.width <= (params.TW as number))).toBe(true); // constant bit columns dropped
    // One TW-bit comparator per lane and stage against a table; against a constant where stage 0 has one word.
    const stages = params.STAGES as number;
    const constant = channels === 1 || channels === pe ? pe : 0;
    expect(t.lut.searchCmpBits).toBe((pe * stages - constant) * (params.TW as number));
  });
});
