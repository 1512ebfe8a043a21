// Concat sim matrix: x → Duplicate → [Threshold (UINT2) | bypass Fifo] → Concat, per pixel the
// branch's channels then the bypass's; re-encoding (UINT2 + INT4 → INT4, UINT2 + BIPOLAR → INT3) and
// same-type pass-through; channel foldings. The Concat reads one branch at a time, so the bypass
// FIFO holds a pixel's beats while the other branch is read.
import { describe, it } from 'vitest';
import { parseQType, qtypeName, range, smallestIntFor } from '../../src/ir/datatype.ts';
import type { DataflowGraph, Layer } from '../../src/ir/dataflow.ts';
import { randInt, rng } from '../unit/layers-helpers.ts';
import { expectGraphExact, runGraph } from './branches.ts';
import { haveVerilator } from './layer-matrix.ts';

interface ConcatSpec { label: string; pixels: number; channels: number; pe: number; qtype: string; threshold: boolean; fifo: number }

function concatGraph(s: ConcatSpec, seed: number): DataflowGraph {
  const r = rng(seed);
  const elems = s.pixels * s.channels;
  const streams: DataflowGraph['streams'] = new Map();
  const add = (name: string, qtype: string, n = elems) => streams.set(name, { name, qtype: parseQType(qtype), shape: [n] });
  const layer = (name: string, kind: string, attrs: Record<string, unknown>, inputs: string[], outputs: string[], consts: Record<string, number[]> = {}): Layer =>
    ({ name, kind, attrs, consts, inputs, outputs, origin: [s.label] });
  ['x', 'd0', 'd1', 'f'].forEach((n) => add(n, s.qtype));
  const layers: Layer[] = [layer('dup', 'Duplicate', { elems, pe: s.pe, qtype: s.qtype }, ['x'], ['d0', 'd1'])];
  let a = 'd0';
  let aType = s.qtype;
  if (s.threshold) {
    const [lo, hi] = range(parseQType(s.qtype));
    const thresholds: number[] = [];
    for (let c = 0; c < s.channels; c++) thresholds.push(...[0, 1, 2].map(() => randInt(r, lo, hi + 1)).sort((p, q) => p - q));
    aType = 'UINT2';
    add('t', aType);
    layers.push(layer('act', 'Threshold', { elems, channels: s.channels, steps: 3, pe: s.pe, inType: s.qtype, outType: aType, outBias: 0, outScale: 1 }, ['d0'], ['t'], { thresholds }));
    a = 't';
  }
  layers.push(layer('bypass', 'Fifo', { elems, pe: s.pe, depth: s.fifo, qtype: s.qtype }, ['d1'], ['f']));
  const [alo, ahi] = range(parseQType(aType));
  const [blo, bhi] = range(parseQType(s.qtype));
  const outType = aType === s.qtype ? s.qtype : qtypeName(smallestIntFor(Math.min(alo, blo), Math.max(ahi, bhi)));
  add('y', outType, 2 * elems);
  layers.push(layer('cat', 'Concat', { pixels: s.pixels, aChannels: s.channels, bChannels: s.channels, pe: s.pe, aType, bType: s.qtype, outType }, [a, 'f'], ['y']));
  return { name: `concat_${s.label}`, source: `${s.label}.onnx`, streams, layers, inputs: ['x'], outputs: ['y'], inputQuant: [], outputAffine: [] };
}

const cases: ConcatSpec[] = [
  { label: 'uint2_int4_p5_c4_pe2', pixels: 5, channels: 4, pe: 2, qtype: 'INT4', threshold: true, fifo: 8 },
  { label: 'uint2_bipolar_p3_c3_pe1', pixels: 3, channels: 3, pe: 1, qtype: 'BIPOLAR', threshold: true, fifo: 8 },
  { label: 'pass_uint8_p4_c6_pe3', pixels: 4, channels: 6, pe: 3, qtype: 'UINT8', threshold: false, fifo: 8 },
  // A whole pixel's channels per beat, re-encoded (UINT2 + INT8 → INT8).
  { label: 'uint2_int8_p3_c16_pe16', pixels: 3, channels: 16, pe: 16, qtype: 'INT8', threshold: true, fifo: 4 },
];

describe.skipIf(!haveVerilator)('Concat RTL == reference, cycles == model', () => {
  it.each(cases.map((c, i) => [c.label, c, i] as const))('%s', async (_label, c, i) => {
    expectGraphExact(await runGraph(concatGraph(c, 1600 + i), 1700 + i));
  });
});
