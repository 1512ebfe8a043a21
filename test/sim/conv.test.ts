// Convolution = [Pad →] SlidingWindow → MVU (and depthwise = … → VectorVector, pooling = … → MaxPool /
// AvgPool), as whole designs: the dataflow reference must equal an independent direct convolution
// (ONNX weight layout [m][c][ky][kx], NHWC activations), and the RTL must equal the reference bit for
// bit with random back-pressure, with simulated cycles per inference and first-output latency ==
// the estimates exactly.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileDataflow } from '../../src/codegen/index.ts';
import { runDataflowBatch } from '../../src/exec/dataflow.ts';
import { simulateAndCompare } from '../../src/sim/check.ts';
import { rng } from '../unit/layers-helpers.ts';
import { buildConv, direct, type ConvSpec } from './conv-graphs.ts';
import { haveVerilator, randomValues } from './layer-matrix.ts';

const base = { sh: 1, sw: 1, dh: 1, dw: 1, pads: [0, 0, 0, 0] as [number, number, number, number], weightType: 'INT4', mvuPe: 1, simd: 1 };
const specs: ConvSpec[] = [
  { ...base, label: 'conv3x3_pad1_5x5_c2_m4', ih: 5, iw: 5, c: 2, m: 4, kh: 3, kw: 3, pads: [1, 1, 1, 1], op: 'conv', inType: 'UINT4', pe: 2, mvuPe: 2, simd: 6 },
  { ...base, label: 'conv3x3_s2_7x7_c3_m2_serial', ih: 7, iw: 7, c: 3, m: 2, kh: 3, kw: 3, sh: 2, sw: 2, op: 'conv', inType: 'INT3', weightType: 'INT3', pe: 1 },
  { ...base, label: 'conv5x5_d2_padasym_9x8_c1_m3', ih: 9, iw: 8, c: 1, m: 3, kh: 5, kw: 5, dh: 2, dw: 2, pads: [2, 1, 0, 2], op: 'conv', inType: 'INT8', weightType: 'INT8', pe: 1, mvuPe: 3, simd: 5 },
  { ...base, label: 'conv1x1_s2_5x5_c4_m4_bipolar', ih: 5, iw: 5, c: 4, m: 4, kh: 1, kw: 1, sh: 2, sw: 2, op: 'conv', inType: 'BIPOLAR', weightType: 'BIPOLAR', pe: 4, mvuPe: 4, simd: 4 },
  { ...base, label: 'grouped2_conv3x3_pad1_5x6_c4_m4', ih: 5, iw: 6, c: 4, m: 4, kh: 3, kw: 3, pads: [1, 1, 1, 1], groups: 2, op: 'conv', inType: 'INT4', pe: 2, mvuPe: 2, simd: 4 },
  { ...base, label: 'conv3x3_window_pad1_6x6_c2_m3_unrolled', ih: 6, iw: 6, c: 2, m: 3, kh: 3, kw: 3, pads: [1, 1, 1, 1], op: 'conv', inType: 'INT4', pe: 2, taps: 9, mvuPe: 3, simd: 18 },
  { ...base, label: 'depthwise3x3_pad1_6x5_c4', ih: 6, iw: 5, c: 4, m: 4, kh: 3, kw: 3, pads: [1, 1, 1, 1], op: 'depthwise', inType: 'UINT4', weightType: 'INT4', pe: 2, mvuPe: 2 },
  { ...base, label: 'maxpool2x2_s2_7x7_c3', ih: 7, iw: 7, c: 3, m: 3, kh: 2, kw: 2, sh: 2, sw: 2, op: 'max', inType: 'INT4', pe: 3, mvuPe: 3 },
  { ...base, label: 'avgpool3x3_s2_pad1_7x7_c2', ih: 7, iw: 7, c: 2, m: 2, kh: 3, kw: 3, sh: 2, sw: 2, pads: [1, 1, 1, 1], op: 'sum', inType: 'UINT4', pe: 1, mvuPe: 1 },
];

describe('conv as SlidingWindow → MVU: dataflow reference == direct convolution', () => {
  it.each(specs.map((s, i) => [s.label, s, i] as const))('%s', (_label, s, i) => {
    const { df, onnxWeights } = buildConv(s, 900 + i);
    const r = rng(950 + i);
    const inputs = Array.from({ length: 5 }, () => randomValues(s.inType, s.ih * s.iw * s.c, r));
    const ref = runDataflowBatch(df, inputs.map((x) => [x])).map((o) => o[0]);
    inputs.forEach((x, k) => expect(ref[k]).toEqual(direct(s, x, onnxWeights)));
  });
});

describe.skipIf(!haveVerilator)('conv designs: RTL == reference, cycles == estimate', () => {
  it.each(specs.map((s, i) => [s.label, s, i] as const))('%s', async (_label, s, i) => {
    const { df } = buildConv(s, 900 + i);
    const dir = mkdtempSync(join(tmpdir(), 'kiln-conv-'));
    try {
      const out = join(dir, 'out');
      const fold = Object.fromEntries(df.layers.map((l) => [l.name, Object.fromEntries(Object.entries(l.attrs).filter(([k]) => k === 'pe' || k === 'simd'))]));
      const design = compileDataflow(df, out, { fold });
      const r = rng(990 + i);
      const inputs = Array.from({ length: 8 }, () => randomValues(s.inType, s.ih * s.iw * s.c, r));
      const free = await simulateAndCompare(out, df, inputs);
      const stalled = await simulateAndCompare(out, df, inputs, { backpressure: 0.3, gaps: 0.3, seed: i + 1 });
      expect(free.mismatches + stalled.mismatches).toBe(0);
      expect(free.stats.cyclesPerInference).toBe(design.manifest.estimate.cyclesPerInference);
      const est = design.manifest.estimate.firstOutputLatency;
      // The beat-level schedules (SlidingWindow bursts included) predict the first output exactly.
      expect(free.stats.firstOutputLatency).toBe(design.manifest.estimate.firstOutputLatency);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
