import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkDataflow } from '../../src/exec/dataflow.ts';
import type { DataflowGraph, Layer } from '../../src/ir/dataflow.ts';
import { parseQType } from '../../src/ir/datatype.ts';
import { importGraph } from '../../src/onnx/import.ts';
import { loadModel } from '../../src/onnx/load.ts';
import { applyFolding, defaultFolding, MAX_LANES } from '../../src/dataflow/fold.ts';
import { lowerModel } from '../../src/passes/to-dataflow.ts';

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

describe('default folding of CNNs (conv MVUs run one vector per output pixel)', () => {
  let lowered: DataflowGraph | undefined; // lowering takes seconds: once for both tests
  const lenet = () => (lowered ??= lowerModel(importGraph(loadModel(join(import.meta.dirname, '../fixtures/zoo/lenet5_int8_qdq/model.onnx')), { pipeline: 'tidy-exact' }).graph));

  it('LeNet-5: MVU cycles count vectors, every layer within the II, image kinds at their fewest lanes', () => {
    const df = lenet();
    const folding = defaultFolding(df);
    const checked = checkDataflow(applyFolding(df, folding));
    const cycles = checked.map((c) => c.kind.spec.cycles(c.attrs as never));
    const ii = Math.max(...cycles);
    // Before vectors counted, the default left LeNet-5 at 240,000 cycles per inference.
    expect(ii).toBeLessThanOrEqual(4000);
    const conv = checked.find((c) => c.layer.kind === 'MVU' && (c.attrs.vectors as number) > 1)!;
    const a = conv.attrs as { rows: number; cols: number; pe: number; simd: number; vectors: number };
    expect(cycles[checked.indexOf(conv)]).toBe(a.vectors * (a.rows / a.pe) * (a.cols / a.simd));
    for (const c of checked) {
      if (!['SlidingWindow', 'Pad', 'MaxPool'].includes(c.layer.kind)) continue;
      // A Pad in front of a window generator emits whole pixels (its padding must not hold up the II).
      const next = checked.find((x) => x.layer.inputs.includes(c.layer.outputs[0]));
      if (c.layer.kind === 'Pad' && next?.layer.kind === 'SlidingWindow') {
        expect(c.attrs.pe).toBe(c.attrs.channels);
        continue;
      }
      const pe = c.attrs.pe as number;
      expect((c.attrs.channels as number) % pe).toBe(0);
      // Halving the lanes (taps 1, the next smaller divisor) would exceed the II, unless already minimal.
      const taps = c.attrs.taps as number | undefined;
      if (pe > 1 && (taps ?? 1) === 1) {
        const smaller = checkDataflow(applyFolding(df, { ...folding, [c.layer.name]: { pe: 1 } })).find((x) => x.layer.name === c.layer.name)!;
        expect(smaller.kind.spec.cycles(smaller.attrs as never)).toBeGreaterThan(ii);
      }
    }
    // The first conv's input generator needs a whole 5×5 window per beat to keep up.
    expect(Object.values(folding).some((f) => f.taps === 25)).toBe(true);
  });

  it('the folding JSON sets taps of a SlidingWindow, and refuses taps elsewhere (KLN2002)', () => {
    const df = lenet();
    const swg = df.layers.find((l) => l.kind === 'SlidingWindow')!;
    const mvu = df.layers.find((l) => l.kind === 'MVU')!;
    const c = checkDataflow(applyFolding(df, { [swg.name]: { pe: swg.attrs.channels as number, taps: (swg.attrs.kh as number) * (swg.attrs.kw as number) } }));
    expect(c.find((x) => x.layer.name === swg.name)!.attrs.taps).toBe(25);
    expect(() => applyFolding(df, { [mvu.name]: { taps: 2 } })).toThrow(/KLN2002 taps applies to SlidingWindow layers, not MVU/);
  });
});

describe('Threshold forms (impl): the cheaper by the estimate unless the folding JSON names one', () => {
  /** x (INT12, 16 channels) → Threshold of `steps` steps → y; evenly spaced thresholds, or (`uneven`) squared spacing no requantization follows. */
  function thresholdDf(steps: number, uneven = false): DataflowGraph {
    const outType = steps === 1 ? 'UINT1' : `UINT${Math.log2(steps + 1)}`;
    const thresholds: number[] = [];
    for (let c = 0; c < 16; c++) for (let i = 0; i < steps; i++) thresholds.push(-1000 + c + Math.floor(uneven ? (2000 * i * i) / steps ** 2 : (2000 * i) / steps));
    const streams: DataflowGraph['streams'] = new Map([['x', { name: 'x', qtype: parseQType('INT12'), shape: [16] }], ['y', { name: 'y', qtype: parseQType(outType), shape: [16] }]]);
    const layers: Layer[] = [{ name: 'act', kind: 'Threshold', attrs: { elems: 16, channels: 16, steps, inType: 'INT12', outType }, consts: { thresholds }, inputs: ['x'], outputs: ['y'], origin: [] }];
    return { name: 't', source: 't.onnx', streams, layers, inputs: ['x'], outputs: ['y'], inputQuant: [], outputAffine: [] };
  }
  const form = (df: DataflowGraph) => df.layers[0];

  it('picks search for 255 steps (requant only when named), parallel for one step, saying why with the costs', () => {
    const even = form(applyFolding(thresholdDf(255), { act: { pe: 2 } }));
    expect(even.attrs.impl).toBe('search');
    expect(even.why?.impl).toMatch(/^cheapest xc7 estimate \(LUT \+ 0\.5·FF \+ 150·DSP \+ 288·BRAM18\): parallel [\d,]+ LUT, [\d,]+ FF, \d+ BRAM18; search [\d,]+ LUT, [\d,]+ FF, \d+ BRAM18$/);
    const named = form(applyFolding(thresholdDf(255), { act: { pe: 2, impl: 'requant' } }));
    expect(named.attrs.impl).toBe('requant');
    // No requantization follows squared spacing: the requant form is not offered.
    const many = form(applyFolding(thresholdDf(255, true), { act: { pe: 2 } }));
    expect(many.attrs.impl).toBe('search');
    expect(many.why?.impl).toMatch(/^cheapest xc7 estimate \(LUT \+ 0\.5·FF \+ 150·DSP \+ 288·BRAM18\): parallel [\d,]+ LUT, [\d,]+ FF, \d+ BRAM18; search [\d,]+ LUT, [\d,]+ FF, \d+ BRAM18$/);
    const one = form(applyFolding(thresholdDf(1), { act: { pe: 2 } }));
    expect(one.attrs.impl).toBe('parallel');
  });

  it('the chosen form is the cheaper one of the estimate', async () => {
    const { layerResources } = await import('../../src/estimate/resources.ts');
    for (const steps of [3, 15, 63, 255]) {
      for (const uneven of [false, true]) {
        const l = form(applyFolding(thresholdDf(steps, uneven), {}));
        const cost = (impl: string) => {
          const r = layerResources({ ...l, attrs: { ...l.attrs, impl } }, 'xc7');
          return r.lut! + 0.5 * r.ff! + 150 * r.dsp! + 288 * r.bram18!;
        };
        for (const other of ['parallel', 'search', 'requant']) {
          if (other === 'requant' && !/requant/.test(l.why?.impl ?? '')) continue; // not offered (no fit)
          expect(cost(l.attrs.impl as string), `${steps} steps, ${other}`).toBeLessThanOrEqual(cost(other));
        }
      }
    }
  });

  it('the folding JSON forces a form ("impl"), and the estimate reports it', async () => {
    const df = applyFolding(thresholdDf(255), { act: { pe: 2, impl: 'parallel' } });
    expect(form(df).attrs.impl).toBe('parallel');
    expect(form(df).why?.impl).toBe('set in the folding JSON');
    const { estimateNetwork } = await import('../../src/estimate/network.ts');
    const e = estimateNetwork(df, checkDataflow(df));
    expect(e.layers[0].forms).toEqual({ impl: { value: 'parallel', why: 'set in the folding JSON' } });
  });

  it('refuses an unknown form and a form on a kind without one (KLN2002)', () => {
    expect(() => applyFolding(thresholdDf(15), { act: { impl: 'bisect' } })).toThrow(`KLN2002 impl of 'act' must be "parallel" or "search" or "requant", not "bisect"`);
    expect(() => applyFolding(tfcShape(), { fc0: { impl: 'search' } })).toThrow(/KLN2002 impl applies to Threshold layers, not MVU 'fc0'/);
    expect(() => applyFolding(tfcShape(), { fc0: { lanes: 2 } as never })).toThrow(/KLN2002 folding of 'fc0' may set pe, simd, taps, mult and impl, not 'lanes'/);
  });
});
