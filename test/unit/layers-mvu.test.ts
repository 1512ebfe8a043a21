import { describe, expect, it } from 'vitest';
import { runDataflow } from '../../src/exec/dataflow.ts';
import { parseQType, qtypeName, range } from '../../src/ir/datatype.ts';
import mvu, { mvuAccRange, mvuOutType } from '../../src/layers/mvu.ts';
import { oneLayer, randInt, rng } from './layers-helpers.ts';

const types = ['BIPOLAR', 'TERNARY', 'BINARY', 'INT2', 'UINT3', 'INT4', 'INT8', 'UINT8', 'INT16'];

function values(t: string, r: () => number, n: number): number[] {
  const q = parseQType(t);
  const [lo, hi] = range(q);
  return Array.from({ length: n }, () => (q.kind === 'BIPOLAR' ? (r() < 0.5 ? -1 : 1) : randInt(r, lo, hi)));
}

describe('MVU layer', () => {
  it('execute equals a column-major naive product for every weight × input type', () => {
    const r = rng(1);
    for (const wt of types) {
      for (const it_ of types) {
        const rows = randInt(r, 1, 9);
        const cols = randInt(r, 1, 13);
        const w = values(wt, r, rows * cols);
        const outType = qtypeName(mvuOutType(rows, cols, parseQType(it_), w));
        const df = oneLayer({ kind: 'MVU', attrs: { rows, cols, inType: it_, weightType: wt, outType }, consts: { weights: w } }, it_, cols, outType, rows);
        for (let k = 0; k < 4; k++) {
          const x = values(it_, r, cols);
          const expected = new Array(rows).fill(0);
          for (let c = 0; c < cols; c++) for (let row = 0; row < rows; row++) expected[row] += w[row * cols + c] * x[c];
          expect(runDataflow(df, [x])[0]).toEqual(expected);
        }
      }
    }
  });

  it('bipolar × bipolar equals 2·popcount(xnor) − cols', () => {
    const r = rng(2);
    const rows = 5, cols = 33;
    const w = values('BIPOLAR', r, rows * cols);
    const df = oneLayer({ kind: 'MVU', attrs: { rows, cols, inType: 'BIPOLAR', weightType: 'BIPOLAR', outType: 'INT7' }, consts: { weights: w } }, 'BIPOLAR', cols, 'INT7', rows);
    const x = values('BIPOLAR', r, cols);
    const pop = (row: number) => x.filter((v, c) => (v > 0) === (w[row * cols + c] > 0)).length;
    expect(runDataflow(df, [x])[0]).toEqual([0, 1, 2, 3, 4].map((row) => 2 * pop(row) - cols));
  });

  it('accumulator range is the worst row over the input range', () => {
    const w = [3, -2, 0, -1, -1, -1];
    expect(mvuAccRange(2, 3, parseQType('INT4'), w)).toEqual([-38, 37]);
    expect(mvuAccRange(2, 3, parseQType('UINT2'), w)).toEqual([-9, 9]);
  });

  it('rejects bad folding with KLN2002 and pinned messages', () => {
    const layer = { name: 'fc1', attrs: { rows: 64, cols: 8, pe: 5, inType: 'INT2', weightType: 'INT2', outType: 'INT10' }, consts: { weights: new Array(512).fill(1) } };
    expect(() => mvu.parse(layer)).toThrow('KLN2002 pe must divide 64, not 5 at node \'fc1\'');
    expect(() => mvu.parse({ ...layer, attrs: { ...layer.attrs, pe: 4, simd: 3 } })).toThrow('KLN2002 simd must divide 8, not 3');
  });

  it('rejects an output type too narrow for the accumulator and weights outside their type', () => {
    const layer = { name: 'fc1', attrs: { rows: 2, cols: 2, inType: 'UINT2', weightType: 'INT2', outType: 'INT3' }, consts: { weights: [1, 1, 1, 1] } };
    expect(() => mvu.parse(layer)).toThrow('KLN1008 outType must hold the accumulator range [0, 6], not INT3');
    expect(() => mvu.parse({ ...layer, consts: { weights: [1, 1, 1, 2] } })).toThrow('KLN1008 weights must be INT2 values, not 2');
    expect(() => mvu.parse({ ...layer, attrs: { ...layer.attrs, rows: 1.5 } })).toThrow('KLN1008 rows must be an integer, not 1.5');
  });

  it('cycles = (rows/pe)·(cols/simd)', () => {
    const a = mvu.parse({ name: 'l', attrs: { rows: 64, cols: 784, pe: 16, simd: 49, inType: 'BIPOLAR', weightType: 'BIPOLAR', outType: 'INT11' }, consts: { weights: new Array(64 * 784).fill(1) } });
    expect(mvu.spec.cycles(a)).toBe(4 * 16);
  });
});
