import { describe, expect, it } from 'vitest';
import { runDataflow } from '../../src/exec/dataflow.ts';
import labelSelect from '../../src/layers/label-select.ts';
import widthConverter from '../../src/layers/width-converter.ts';
import { oneLayer, randInt, rng } from './layers-helpers.ts';

describe('LabelSelect layer', () => {
  it('execute equals repeated argmax with removal (ties to the lowest index)', () => {
    const r = rng(5);
    for (let trial = 0; trial < 40; trial++) {
      const n = randInt(r, 1, 20);
      const k = randInt(r, 1, n);
      const df = oneLayer({ kind: 'LabelSelect', attrs: { n, k, inType: 'INT3', outType: 'UINT5' }, consts: {} }, 'INT3', n, 'UINT5', k);
      const x = Array.from({ length: n }, () => randInt(r, -4, 3)); // narrow range: many ties
      const left = [...x];
      const expected: number[] = [];
      for (let j = 0; j < k; j++) {
        let best = -1;
        for (let i = 0; i < n; i++) if (left[i] !== -Infinity && (best < 0 || left[i] > left[best])) best = i;
        expected.push(best);
        left[best] = -Infinity;
      }
      expect(runDataflow(df, [x])[0]).toEqual(expected);
    }
  });

  it('pinned errors and cycles', () => {
    const base = { name: 'top', attrs: { n: 10, k: 1, pe: 3, inType: 'INT8', outType: 'UINT4' }, consts: {} };
    expect(() => labelSelect.parse(base)).toThrow('KLN2002 pe must divide 10, not 3');
    expect(() => labelSelect.parse({ ...base, attrs: { ...base.attrs, pe: 1, outType: 'UINT3' } })).toThrow('outType must be a UINT holding 9, not UINT3');
    expect(() => labelSelect.parse({ ...base, attrs: { ...base.attrs, pe: 1, k: 11 } })).toThrow('k must be at most n (10), not 11');
    const a = labelSelect.parse({ ...base, attrs: { ...base.attrs, pe: 5, k: 3 } });
    expect(labelSelect.spec.cycles(a)).toBe(3);
  });
});

describe('WidthConverter layer', () => {
  it('passes values through and costs max(in beats, out beats)', () => {
    const df = oneLayer({ kind: 'WidthConverter', attrs: { elems: 12, inFold: 4, outFold: 3, qtype: 'INT5' }, consts: {} }, 'INT5', 12, 'INT5', 12);
    const x = [-16, 15, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
    expect(runDataflow(df, [x])[0]).toEqual(x);
    expect(widthConverter.spec.cycles(widthConverter.parse(df.layers[0]))).toBe(4);
    expect(() => widthConverter.parse({ ...df.layers[0], attrs: { elems: 12, inFold: 5, outFold: 3, qtype: 'INT5' } })).toThrow('KLN2002 inFold must divide 12, not 5');
  });
});
