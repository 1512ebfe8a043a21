import { describe, expect, it } from 'vitest';
import { runDataflow } from '../../src/exec/dataflow.ts';
import requant from '../../src/layers/requant.ts';
import { oneLayer, randInt, rng } from './layers-helpers.ts';

describe('Requant layer', () => {
  it('execute equals BigInt arithmetic shift and clamp', () => {
    const r = rng(4);
    for (let trial = 0; trial < 40; trial++) {
      const channels = randInt(r, 1, 5);
      const elems = channels * randInt(r, 1, 3);
      const shift = randInt(r, 0, 20);
      const mul = Array.from({ length: channels }, () => randInt(r, -(2 ** 15), 2 ** 15));
      const bias = Array.from({ length: channels }, () => randInt(r, -(2 ** 20), 2 ** 20));
      const df = oneLayer({ kind: 'Requant', attrs: { elems, channels, shift, inType: 'INT16', outType: 'INT8' }, consts: { mul, bias } }, 'INT16', elems, 'INT8', elems);
      const x = Array.from({ length: elems }, () => randInt(r, -32768, 32767));
      const expected = x.map((v, e) => {
        const q = (BigInt(v) * BigInt(mul[e % channels]) + BigInt(bias[e % channels])) >> BigInt(shift);
        return Number(q < -128n ? -128n : q > 127n ? 127n : q);
      });
      expect(runDataflow(df, [x])[0]).toEqual(expected);
    }
  });

  it('pinned errors', () => {
    const base = { name: 'rq', attrs: { elems: 10, channels: 10, pe: 4, shift: 3, inType: 'INT8', outType: 'UINT4' }, consts: { mul: new Array(10).fill(1), bias: new Array(10).fill(0) } };
    expect(() => requant.parse(base)).toThrow('KLN2002 pe must divide 10, not 4');
    expect(() => requant.parse({ ...base, attrs: { ...base.attrs, pe: 1, channels: 3 }, consts: { mul: [1, 1, 1], bias: [0, 0, 0] } })).toThrow('KLN1008 channels must divide 10, not 3');
    expect(() => requant.parse({ ...base, attrs: { ...base.attrs, pe: 1, outType: 'BIPOLAR' } })).toThrow('outType must be INTn or UINTn with n ≤ 32, not BIPOLAR');
  });
});
