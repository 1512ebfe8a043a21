// Threshold sim matrix: per-channel and per-tensor thresholds, 1..15 steps, signed/unsigned/bipolar
// outputs, PE from 1 to fully parallel.
import { describe, it } from 'vitest';
import { rng, randInt } from '../unit/layers-helpers.ts';
import { expectExact, haveVerilator, runLayerCase, type LayerCase } from './layer-matrix.ts';

function thresholdCase(label: string, elems: number, channels: number, steps: number, pe: number, inType: string, outType: string, lo: number, hi: number, outBias: number, outScale: number, seed: number): LayerCase {
  const r = rng(seed);
  const thresholds: number[] = [];
  for (let c = 0; c < channels; c++) thresholds.push(...Array.from({ length: steps }, () => randInt(r, lo, hi)).sort((a, b) => a - b));
  return { label, kind: 'Threshold', attrs: { elems, channels, steps, pe, inType, outType, outBias, outScale }, consts: { thresholds }, inType, inElems: elems, outType, outElems: elems };
}

const cases: LayerCase[] = [
  thresholdCase('int8_to_uint2_c8_pe2', 8, 8, 3, 2, 'INT8', 'UINT2', -130, 130, 0, 1, 1),
  thresholdCase('per_tensor_int6_to_bipolar_pe4', 12, 1, 1, 4, 'INT6', 'BIPOLAR', -5, 5, -1, 2, 2),
  thresholdCase('uint4_to_int4_15steps_serial', 6, 6, 15, 1, 'UINT4', 'INT4', 0, 16, -8, 1, 3),
  thresholdCase('int12_to_int3_c4_elems8_unrolled', 8, 4, 7, 4, 'INT12', 'INT3', -2100, 2100, -4, 1, 4),
  // 16·63 thresholds of 17 bits: above ROM_ABOVE_BITS, so a $readmemh ROM indexed by channel group.
  thresholdCase('int16_to_uint6_c16_63steps_pe4_rom', 16, 16, 63, 4, 'INT16', 'UINT6', -32768, 32767, 0, 1, 5),
];

describe.skipIf(!haveVerilator)('Threshold RTL == reference, cycles == model', () => {
  it.each(cases.map((c, i) => [c.label, c, i] as const))('%s', async (_label, c, i) => {
    expectExact(await runLayerCase(c, 200 + i));
  });
});
