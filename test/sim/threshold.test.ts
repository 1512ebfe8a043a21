// Threshold sim matrix, both forms (parallel comparators, pipelined search): per-channel and
// per-tensor thresholds, 1..255 steps, signed/unsigned/bipolar inputs and outputs, PE from 1 to fully
// parallel; each case bit-exact under back-pressure and gaps, cycles and latency == the model.
import { describe, it } from 'vitest';
import { rng, randInt } from '../unit/layers-helpers.ts';
import { expectExact, haveVerilator, runLayerCase, type LayerCase } from './layer-matrix.ts';

function thresholdCase(label: string, elems: number, channels: number, steps: number, pe: number, inType: string, outType: string, lo: number, hi: number, outBias: number, outScale: number, seed: number, impl = 'parallel'): LayerCase {
  const r = rng(seed);
  const thresholds: number[] = [];
  for (let c = 0; c < channels; c++) thresholds.push(...Array.from({ length: steps }, () => randInt(r, lo, hi)).sort((a, b) => a - b));
  return { label, kind: 'Threshold', attrs: { elems, channels, steps, pe, inType, outType, outBias, outScale, impl }, consts: { thresholds }, inType, inElems: elems, outType, outElems: elems };
}

const cases: LayerCase[] = [
  thresholdCase('int8_to_uint2_c8_pe2', 8, 8, 3, 2, 'INT8', 'UINT2', -130, 130, 0, 1, 1),
  thresholdCase('per_tensor_int6_to_bipolar_pe4', 12, 1, 1, 4, 'INT6', 'BIPOLAR', -5, 5, -1, 2, 2),
  thresholdCase('uint4_to_int4_15steps_serial', 6, 6, 15, 1, 'UINT4', 'INT4', 0, 16, -8, 1, 3),
  thresholdCase('int12_to_int3_c4_elems8_unrolled', 8, 4, 7, 4, 'INT12', 'INT3', -2100, 2100, -4, 1, 4),
  // 16·63 thresholds of 17 bits: above ROM_ABOVE_BITS, so a $readmemh ROM indexed by channel group.
  thresholdCase('int16_to_uint6_c16_63steps_pe4_rom', 16, 16, 63, 4, 'INT16', 'UINT6', -32768, 32767, 0, 1, 5),
  // The search form: steps = 2^S − 1 (no padding) and not, one stage, thresholds past the input range.
  thresholdCase('search_per_tensor_int6_to_bipolar_pe4_1step', 12, 1, 1, 4, 'INT6', 'BIPOLAR', -5, 5, -1, 2, 7, 'search'),
  thresholdCase('search_per_tensor_int6_to_int3_5steps_pe3', 12, 1, 5, 3, 'INT6', 'INT3', -40, 40, -3, 1, 8, 'search'),
  thresholdCase('search_uint4_to_int4_15steps_serial', 6, 6, 15, 1, 'UINT4', 'INT4', 0, 16, -8, 1, 9, 'search'),
  thresholdCase('search_bipolar_in_to_uint1_c4', 8, 4, 1, 2, 'BIPOLAR', 'UINT1', -1, 2, 0, 1, 10, 'search'),
  thresholdCase('search_int12_to_int3_c6_pe3_7steps_scale2', 12, 6, 3, 3, 'INT12', 'INT3', -2100, 2100, -3, 2, 11, 'search'),
  thresholdCase('search_int20_to_uint8_c12_255steps_pe2', 24, 12, 255, 2, 'INT20', 'UINT8', -300000, 300000, 0, 1, 12, 'search'),
];

describe.skipIf(!haveVerilator)('Threshold RTL == reference, cycles == model', () => {
  it.each(cases.map((c, i) => [c.label, c, i] as const))('%s', async (_label, c, i) => {
    expectExact(await runLayerCase(c, 200 + i));
  });
});
