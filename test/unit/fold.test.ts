import { describe, expect, it } from 'vitest';
import { checkDataflow } from '../../src/exec/dataflow.ts';
import type { DataflowGraph, Layer } from '../../src/ir/dataflow.ts';
import { parseQType } from '../../src/ir/datatype.ts';
import { applyFolding, defaultFolding, MAX_LANES } from '../../src/passes/fold.ts';

/** A TFC-shaped binarized MLP 784-64-64-64-10 (weights all +1: only shapes matter here). */
function tfcShape(): DataflowGraph {
  const dims = [784, 64, 64, 64, 10];
  const streams: DataflowGraph['streams'] = new Map();
  const layers: Layer[] = [];
  const add = (name: string, type: string, n: number) => streams.set(name, { name, qtype: parseQType(type), shape: [n] });
  add('x0', 'BIPOLAR', 784);
  for (let i = 0; i < 4; i++) {
    const [cols, rows] = [dims[i], dims[i + 1]];
    const acc = `INT${Math.ceil(Math.log2(cols + 1)) + 1}`;
    add(`a${i}`, acc, rows);
    layers.push({ name: `fc${i}`, kind: 'MVU', attrs: { rows, cols, inType: 'BIPOLAR', weightType: 'BIPOLAR', outType: acc }, consts: { weights: new Array(rows * cols).fill(1) }, inputs: [`x${i}`], outputs: [`a${i}`], origin: [] });
    if (i < 3) {
      add(`x${i + 1}`, 'BIPOLAR', rows);
      layers.push({ name: `act${i}`, kind: 'Threshold', attrs: { elems: rows, channels: rows, steps: 1, inType: acc, outType: 'BIPOLAR', outBias: -1, outScale: 2 }, consts: { thresholds: new Array(rows).fill(0) }, inputs: [`a${i}`], outputs: [`x${i + 1}`], origin: [] });
    }
  }
  return { name: 'tfc', source: 'tfc.onnx', streams, layers, inputs: ['x0'], outputs: ['a3'], inputQuant: [], outputAffine: [] };
}

describe('default folding', () => {
  it('caps the biggest MVU at MAX_LANES and keeps every layer within its cycles with the fewest lanes', () => {
    const df = tfcShape();
    const folding = defaultFolding(df);
    const checked = checkDataflow(applyFolding(df, folding));
    const cycles = checked.map((c) => c.kind.spec.cycles(c.attrs as never));
    const ii = Math.max(...cycles);
    expect(folding.fc0.pe! * folding.fc0.simd!).toBe(MAX_LANES);
    expect(ii).toBe(784 * 64 / MAX_LANES);
    // Fewest lanes: halving any MVU's lanes (where a divisor allows) would exceed the II.
    for (const name of ['fc1', 'fc2', 'fc3']) {
      const { pe, simd } = folding[name] as { pe: number; simd: number };
      const layer = df.layers.find((l) => l.name === name)!;
      const work = (layer.attrs.rows as number) * (layer.attrs.cols as number);
      expect(work / (pe * simd)).toBeLessThanOrEqual(ii);
      expect(work / ((pe * simd) / 2)).toBeGreaterThan(ii);
    }
    // Thresholds follow their producer's beat width: no width converter in front of them.
    expect(folding.act0.pe).toBe(folding.fc0.pe);
  });

  it('a folding JSON overrides attrs and is checked by the layer (KLN2002)', () => {
    const df = applyFolding(tfcShape(), { fc1: { pe: 5 } });
    expect(() => checkDataflow(df)).toThrow("KLN2002 pe must divide 64, not 5 at node 'fc1'");
  });
});
