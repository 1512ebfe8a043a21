// Analytic FIFO sizing for residual branches (src/dataflow/fifo-sizing.ts): hand-computed requirements
// for an MVU branch and a padded 3×3 conv branch, then Verilator: with the computed depths the
// designs run without deadlock, RTL == reference, cycles == estimate; with a depth below the
// requirement the conv branch deadlocks and the watchdog names the stalled stream.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KilnError } from '../../src/diag/index.ts';
import { checkDataflow, runDataflow } from '../../src/exec/dataflow.ts';
import { parseQType, qtypeName, range, smallestIntFor } from '../../src/ir/datatype.ts';
import type { DataflowGraph, Layer } from '../../src/ir/dataflow.ts';
import { mvuOutType } from '../../src/layers/mvu.ts';
import { fifoDepth, fifoSizes, insertFifos, insertWindowFifos, SLACK } from '../../src/dataflow/fifo-sizing.ts';
import { importGraph } from '../../src/onnx/import.ts';
import { loadModel } from '../../src/onnx/load.ts';
import { applyFolding, defaultFolding, type Folding } from '../../src/dataflow/fold.ts';
import { lowerModel } from '../../src/passes/to-dataflow.ts';
import { rng } from '../helpers/random-mlp.ts';
import { branchGraph, expectGraphExact, runGraph } from '../sim/branches.ts';
import { haveVerilator, randomValues } from '../sim/layer-matrix.ts';

/** x (h×w×c NHWC) → Duplicate → [Pad 1 → SlidingWindow 3×3 → MVU (c → c) → Threshold] + bypass → AddStreams. */
function convResidual(h: number, w: number, c: number, pe: number, seed: number, fifo = 0): DataflowGraph {
  const r = rng(seed);
  const elems = h * w * c;
  const streams: DataflowGraph['streams'] = new Map();
  const add = (name: string, qtype: string, n: number) => streams.set(name, { name, qtype: parseQType(qtype), shape: [n] });
  const layer = (name: string, kind: string, attrs: Record<string, unknown>, inputs: string[], outputs: string[], consts: Record<string, number[]> = {}): Layer =>
    ({ name, kind, attrs, consts, inputs, outputs, origin: ['residual'] });
  const q = 'UINT3';
  add('x', q, elems);
  add('d0', q, elems);
  add('d1', q, elems);
  add('p', q, (h + 2) * (w + 2) * c);
  add('win', q, elems * 9);
  const weights = randomValues('INT3', c * 9 * c, r);
  const acc = qtypeName(mvuOutType(c, 9 * c, parseQType(q), weights));
  add('acc', acc, elems);
  add('t', 'UINT2', elems);
  const [lo, hi] = range(parseQType(acc));
  const thresholds: number[] = [];
  for (let ch = 0; ch < c; ch++) thresholds.push(...[0, 1, 2].map(() => lo + Math.floor(r() * (hi - lo))).sort((a, b) => a - b));
  const layers: Layer[] = [
    layer('dup', 'Duplicate', { elems, pe, qtype: q }, ['x'], ['d0', 'd1']),
    layer('pad', 'Pad', { ih: h, iw: w, channels: c, top: 1, bottom: 1, left: 1, right: 1, value: 0, pe, qtype: q }, ['d0'], ['p']),
    layer('swg', 'SlidingWindow', { ih: h + 2, iw: w + 2, channels: c, kh: 3, kw: 3, pe, qtype: q }, ['p'], ['win']),
    layer('conv', 'MVU', { rows: c, cols: 9 * c, vectors: h * w, pe, simd: pe, inType: q, weightType: 'INT3', outType: acc }, ['win'], ['acc'], { weights }),
    // The parallel form (one register stage): the bypass depths these tests pin are sized for it.
    layer('act', 'Threshold', { elems, channels: c, steps: 3, pe, inType: acc, outType: 'UINT2', outBias: 0, outScale: 1, impl: 'parallel' }, ['acc'], ['t'], { thresholds }),
  ];
  let b = 'd1';
  if (fifo) {
    add('f', q, elems);
    layers.push(layer('bypass', 'Fifo', { elems, pe, depth: fifo, qtype: q }, ['d1'], ['f']));
    b = 'f';
  }
  const outType = qtypeName(smallestIntFor(0, 3 + 7));
  add('y', outType, elems);
  layers.push(layer('join', 'AddStreams', { elems, pe, aType: 'UINT2', bType: q, outType }, ['t', b], ['y']));
  return { name: 'conv_residual', source: 'conv_residual.onnx', streams, layers, inputs: ['x'], outputs: ['y'], inputQuant: [], outputAffine: [] };
}

describe('fifo sizes from data dependencies', () => {
  it('MVU branch: the bypass holds one whole input vector (elems) before the first output', () => {
    const df = branchGraph({ label: 'mvu', elems: 16, pe: 1, qtype: 'INT4', branch: 'mvu', fifo: 0, mvuPe: 1, simd: 1 }, 1);
    // Full rate: + the MVU's second input vector and a simd beat (16 + 1) + one beat in and out (2) = 35 elements.
    expect(fifoSizes(df)).toEqual([{ join: 'join', duplicate: 'dup', port: 1, elems: 16, depth: 32, fullRateElems: 35, fullRateDepth: 64 }]);
  });

  it('Threshold branch: elementwise, only the slack', () => {
    const df = branchGraph({ label: 't', elems: 8, pe: 2, qtype: 'INT4', branch: 'threshold', fifo: 0 }, 2);
    expect(fifoSizes(df)[0]).toMatchObject({ port: 1, elems: 2, depth: 4 });
  });

  it('padded 3×3 conv branch: one image line + one pixel + the window tail (w·c + 2c elements)', () => {
    // Output pixel (0,0) needs input pixel (1,1): (w + 1)·c + c − 1 + 1 = (w + 2)·c elements; pe = 1.
    const [h, w, c] = [5, 6, 2];
    expect(fifoSizes(convResidual(h, w, c, 1, 3))[0]).toMatchObject({ port: 1, elems: (w + 2) * c, depth: 32 }); // 16 + 2 → 32
    // Folding changes the beat count, not the element requirement: pe = 2 → 8 beats + slack → 16.
    expect(fifoSizes(convResidual(h, w, c, 2, 3))[0]).toMatchObject({ elems: (w + 2) * c, depth: 16 });
  });

  it('insertFifos puts a Fifo after the Duplicate on the bypass and leaves the values unchanged', () => {
    const df = convResidual(4, 4, 2, 1, 4);
    const x = randomValues('UINT3', 32, rng(5));
    const before = runDataflow(df, [x]);
    const sizes = insertFifos(df);
    const fifo = df.layers.find((l) => l.kind === 'Fifo')!;
    expect(fifo.attrs.depth).toBe(sizes[0].fullRateDepth); // default mode: full rate
    expect(sizes[0].fullRateDepth).toBeGreaterThanOrEqual(sizes[0].depth);
    expect(fifo.inputs).toEqual(['d1']);
    expect(df.layers.find((l) => l.name === 'join')!.inputs).toEqual(['t', fifo.outputs[0]]);
    expect(runDataflow(df, [x])).toEqual(before);
    expect(SLACK).toBe(2);
  });
});

/**
 * x (h×w×c) → MVU a (1×1, pe aPe) → Threshold → MVU b (1×1, pe bPe) → Threshold → Pad 1 → 3×3
 * SlidingWindow → MVU c (pe = simd = cPe): a chain whose II is set by whichever MVU is slowest.
 */
function pointwiseChain(h: number, w: number, c: number, [aPe, bPe, cPe]: [number, number, number]): DataflowGraph {
  const r = rng(31);
  const n = h * w * c;
  const streams: DataflowGraph['streams'] = new Map();
  const add = (name: string, qtype: string, k: number) => streams.set(name, { name, qtype: parseQType(qtype), shape: [k] });
  const layers: Layer[] = [];
  const layer = (name: string, kind: string, attrs: Record<string, unknown>, inputs: string[], outputs: string[], consts: Record<string, number[]> = {}) =>
    layers.push({ name, kind, attrs, consts, inputs, outputs, origin: ['chain'] });
  const q = 'UINT3';
  add('x', q, n);
  const mvu = (name: string, input: string, cols: number, vectors: number, pe: number, simd = 1) => {
    const weights = randomValues('INT3', c * cols, r);
    const acc = qtypeName(mvuOutType(c, cols, parseQType(q), weights));
    add(`${name}_acc`, acc, vectors * c);
    layer(name, 'MVU', { rows: c, cols, vectors, pe, simd, inType: q, weightType: 'INT3', outType: acc }, [input], [`${name}_acc`], { weights });
    const [lo, hi] = range(parseQType(acc));
    const thresholds: number[] = [];
    for (let ch = 0; ch < c; ch++) thresholds.push(...Array.from({ length: 7 }, () => lo + Math.floor(r() * (hi - lo))).sort((a, b) => a - b));
    add(`${name}_t`, q, vectors * c);
    layer(`${name}_act`, 'Threshold', { elems: vectors * c, channels: c, steps: 7, pe: 1, inType: acc, outType: q, outBias: 0, outScale: 1 }, [`${name}_acc`], [`${name}_t`], { thresholds });
    return `${name}_t`;
  };
  const b = mvu('b', mvu('a', 'x', c, h * w, aPe), c, h * w, bPe);
  add('p', q, (h + 2) * (w + 2) * c);
  layer('pad', 'Pad', { ih: h, iw: w, channels: c, top: 1, bottom: 1, left: 1, right: 1, value: 0, pe: c, qtype: q }, [b], ['p']);
  add('win', q, n * 9);
  layer('swg', 'SlidingWindow', { ih: h + 2, iw: w + 2, channels: c, kh: 3, kw: 3, pe: c, qtype: q }, ['p'], ['win']);
  const y = mvu('c', 'win', 9 * c, h * w, cPe, cPe);
  return { name: 'chain', source: 'chain.onnx', streams, layers, inputs: ['x'], outputs: [y], inputQuant: [], outputAffine: [] };
}

describe('window FIFOs (insertWindowFifos)', () => {
  const cycles = (df: DataflowGraph) => new Map(checkDataflow(df).map((c) => [c.layer.name, c.kind.spec.cycles(c.attrs as never)]));

  it('a Pad whose stalls reach a layer at the II through an MVU with slack gets a Fifo in front', () => {
    const df = pointwiseChain(4, 4, 4, [1, 2, 4]); // a: 16·4·4 = 256 cycles (the II), b: 128, c: 16·36/4 = 144
    const cy = cycles(df);
    const ii = Math.max(...cy.values());
    expect(cy.get('a')).toBe(ii);
    expect(cy.get('b')).toBeLessThan(ii);
    const x = randomValues('UINT3', 64, rng(32));
    const before = runDataflow(df, [x]);
    expect(insertWindowFifos(df)).toEqual(['pad_fifo']);
    const fifo = df.layers.find((l) => l.name === 'pad_fifo')!;
    expect(fifo.inputs).toEqual(['b_t']);
    expect(df.layers.find((l) => l.name === 'pad')!.inputs).toEqual(fifo.outputs);
    expect(runDataflow(df, [x])).toEqual(before);
  });

  it('no Fifo when only layers with slack feed the Pad (the II is downstream)', () => {
    const df = pointwiseChain(4, 4, 4, [4, 4, 1]); // a, b: 64 cycles, c: 16·4·36 = 2304 (the II)
    const cy = cycles(df);
    const ii = Math.max(...cy.values());
    expect(cy.get('c')).toBe(ii);
    expect(Math.max(cy.get('a')!, cy.get('b')!)).toBeLessThan(ii);
    expect(insertWindowFifos(df)).toEqual([]);
  });
});

/** The bypass FIFO of convResidual (on the Duplicate's port 1; window FIFOs may sit on the other path). */
const bypass = (df: DataflowGraph): Layer => df.layers.find((l) => l.kind === 'Fifo' && l.inputs[0] === 'd1')!;

/** Every layer of a graph at `pe` (MVUs also simd = pe). */
const allAt = (df: DataflowGraph, pe: number): Folding =>
  Object.fromEntries(df.layers.map((l) => [l.name, l.kind === 'MVU' ? { pe, simd: pe } : { pe }]));

describe('fifo depths after folding', () => {
  it('a folding that changes the branch re-sizes its bypass FIFO in the new beats; values unchanged', () => {
    const df = convResidual(5, 6, 4, 1, 21);
    insertFifos(df);
    const lowered = bypass(df);
    const folded = applyFolding(df, allAt(df, 4));
    const fifo = bypass(folded);
    const size = fifoSizes(folded)[0];
    expect(fifo.attrs.pe).toBe(4);
    expect(fifo.attrs.depth).toBe(fifoDepth(size.fullRateElems, 4));
    expect(fifo.attrs.depth).toBeLessThan(lowered.attrs.depth as number); // 4 elements per beat: fewer beats
    expect(lowered.attrs.depth).toBe(fifoDepth(fifoSizes(df)[0].fullRateElems, 1)); // df itself is untouched
    const x = randomValues('UINT3', 5 * 6 * 4, rng(22));
    expect(runDataflow(folded, [x])).toEqual(runDataflow(df, [x]));
  });

  it('a folding that leaves the branch as it is keeps the depth it has (sized, or forced by hand)', () => {
    const df = convResidual(5, 6, 2, 1, 23, 4); // bypass depth 4: below the requirement on purpose
    const same = applyFolding(df, allAt(df, 1));
    expect(bypass(same).attrs.depth).toBe(4);
    const refolded = applyFolding(df, { conv: { pe: 2, simd: 2 } }); // the MVU is on the long path
    expect(bypass(refolded).attrs.depth).toBe(fifoDepth(fifoSizes(refolded)[0].fullRateElems, 1));
  });

  it('a folded branch without a bypass FIFO gets one', () => {
    const df = convResidual(4, 4, 2, 1, 25);
    const folded = applyFolding(df, allAt(df, 2));
    const fifo = bypass(folded);
    expect(fifo.inputs).toEqual(['d1']);
    expect(folded.layers.find((l) => l.name === 'join')!.inputs).toEqual(['t', fifo.outputs[0]]);
    expect(df.layers.some((l) => l.kind === 'Fifo')).toBe(false);
  });

  it('default folding: branch kinds take an input\'s beat width, else the fewest lanes within the II', () => {
    const df = convResidual(6, 6, 4, 1, 27);
    insertFifos(df);
    const folding = defaultFolding(df);
    const fifo = bypass(df).name;
    const ii = Math.max(...checkDataflow(applyFolding(df, folding)).map((c) => c.kind.spec.cycles(c.attrs as never)));
    // The Duplicate reads the graph input (no producer to match): fewest lanes within the II.
    expect(folding.dup.pe).toBe([1, 2, 3, 4, 6, 8, 9, 12].find((pe) => 144 / pe <= ii));
    expect(folding[fifo].pe).toBe(folding.dup.pe);
    expect(folding.act.pe).toBe(folding.conv.pe);
    expect(folding.join.pe).toBe(Math.max(folding.act.pe!, folding[fifo].pe!)); // the wider input
  });

  it('ResNet-8: every Duplicate, Fifo and AddStreams runs at one of its inputs\' beat widths, within the II', () => {
    const g = importGraph(loadModel(join(import.meta.dirname, '../fixtures/corpus/nn2fpga/resnet8.onnx')), { pipeline: 'tidy-exact' }).graph;
    const df = lowerModel(g, { source: 'resnet8.onnx' });
    const folded = applyFolding(df, defaultFolding(df));
    const checked = checkDataflow(folded);
    const ii = Math.max(...checked.map((c) => c.kind.spec.cycles(c.attrs as never)));
    const fold = new Map(checked.flatMap((c) => c.layer.outputs.map((s, i) => [s, c.ports.out[i].fold] as const)));
    const isBypass = (c: (typeof checked)[number]) => c.layer.kind === 'Fifo' && c.layer.name.includes('_dup_fifo');
    const branch = checked.filter((c) => ['Duplicate', 'AddStreams'].includes(c.layer.kind) || isBypass(c));
    expect(branch.length).toBe(3 + 3 + 3);
    for (const c of branch) {
      expect(c.layer.inputs.map((s) => fold.get(s)), c.layer.name).toContain(c.attrs.pe);
      expect(c.kind.spec.cycles(c.attrs as never)).toBeLessThanOrEqual(ii);
    }
    expect(branch.some((c) => (c.attrs.pe as number) > 1)).toBe(true);
    // Each bypass FIFO is sized for the folded branch (its own beats), not for the lowered pe 1.
    const sizes = fifoSizes(folded);
    for (const c of checked.filter(isBypass)) {
      const s = sizes.find((z) => c.layer.name.startsWith(z.duplicate))!;
      expect(c.attrs.depth).toBe(fifoDepth(s.fullRateElems, c.attrs.pe as number));
    }
  }, 60_000);
});

describe.skipIf(!haveVerilator)('computed depths in Verilator', () => {
  it('conv branch with the computed bypass depth: no deadlock, RTL == reference, cycles == estimate', async () => {
    const df = convResidual(5, 6, 2, 1, 11);
    insertFifos(df);
    expectGraphExact(await runGraph(df, 12, 6));
  }, 300_000);

  it('conv branch sized at pe 1, then folded to pe 2 (the FIFO re-sized in 2-element beats): RTL == reference, cycles == estimate', async () => {
    const df = convResidual(5, 6, 2, 1, 29);
    insertFifos(df);
    const folded = applyFolding(df, allAt(df, 2));
    expect(bypass(folded).attrs).toMatchObject({ pe: 2, depth: fifoDepth(fifoSizes(folded)[0].fullRateElems, 2) });
    expectGraphExact(await runGraph(folded, 30, 6));
  }, 300_000);

  it('conv branch with the deadlock-only depth (32 for 16 elements): still no deadlock, values exact', async () => {
    const df = convResidual(5, 6, 2, 1, 11);
    expect(insertFifos(df, 'deadlock')[0].depth).toBe(32);
    const res = await runGraph(df, 12, 6);
    expect(res.mismatches).toBe(0);
  }, 300_000);

  it('MVU branch (pe 2 / simd 4, width converters): deadlock depth 8 runs exact but slower; full-rate depth 16 meets the estimate', async () => {
    const spec = { label: 'mvu_auto', elems: 8, pe: 2, qtype: 'INT4', branch: 'mvu', fifo: 0, mvuPe: 4, simd: 4 } as const;
    const a = branchGraph(spec, 13);
    expect(insertFifos(a, 'deadlock')[0]).toMatchObject({ depth: 8, fullRateDepth: 16 });
    const slow = await runGraph(a, 14, 6);
    expect(slow.mismatches).toBe(0);
    expect(slow.simCycles).toBeGreaterThanOrEqual(slow.estimate);
    const b = branchGraph(spec, 13);
    insertFifos(b);
    expectGraphExact(await runGraph(b, 14, 6));
  }, 300_000);

  it('conv branch with a bypass depth below the requirement deadlocks (watchdog names the stream)', async () => {
    const df = convResidual(5, 6, 2, 1, 15, 4);
    expect(fifoSizes(df)[0].elems).toBeGreaterThan(4);
    const err = await runGraph(df, 16, 4, { watchdogCycles: 2000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KilnError);
    expect((err as KilnError).message).toMatch(/KLN3003 simulation stalled .*blocked/);
  }, 300_000);
});
