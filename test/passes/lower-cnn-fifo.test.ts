// Analytic FIFO sizing for residual branches (src/lower/fifo-sizing.ts): hand-computed requirements
// for an MVU branch and a padded 3×3 conv branch, then Verilator: with the computed depths the
// designs run without deadlock, RTL == reference, cycles == estimate; with a depth below the
// requirement the conv branch deadlocks and the watchdog names the stalled stream.
import { describe, expect, it } from 'vitest';
import { KilnError } from '../../src/diag/index.ts';
import { runDataflow } from '../../src/exec/dataflow.ts';
import { parseQType, qtypeName, range, smallestIntFor } from '../../src/ir/datatype.ts';
import type { DataflowGraph, Layer } from '../../src/ir/dataflow.ts';
import { mvuOutType } from '../../src/layers/mvu.ts';
import { fifoSizes, insertFifos, SLACK } from '../../src/lower/fifo-sizing.ts';
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
    layer('act', 'Threshold', { elems, channels: c, steps: 3, pe, inType: acc, outType: 'UINT2', outBias: 0, outScale: 1 }, ['acc'], ['t'], { thresholds }),
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
    expect(fifoSizes(df)).toEqual([{ join: 'join', duplicate: 'dup', port: 1, elems: 16, depth: 32, fullRateDepth: 64 }]); // + the MVU's second input vector
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

describe.skipIf(!haveVerilator)('computed depths in Verilator', () => {
  it('conv branch with the computed bypass depth: no deadlock, RTL == reference, cycles == estimate', async () => {
    const df = convResidual(5, 6, 2, 1, 11);
    insertFifos(df);
    expectGraphExact(await runGraph(df, 12, 6));
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
