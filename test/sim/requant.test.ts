// Requant sim matrix: per-channel and per-tensor multipliers/biases (both signs), shifts 0..20,
// clamping at both ends, signed and unsigned in/out, PE from 1 to fully parallel.
import { describe, it } from 'vitest';
import { rng, randInt } from '../unit/layers-helpers.ts';
import { expectExact, haveVerilator, runLayerCase, type LayerCase } from './layer-matrix.ts';

function requantCase(label: string, elems: number, channels: number, pe: number, shift: number, inType: string, outType: string, mulMax: number, biasMax: number, seed: number): LayerCase {
  const r = rng(seed);
  const mul = Array.from({ length: channels }, () => randInt(r, -mulMax, mulMax));
  const bias = Array.from({ length: channels }, () => randInt(r, -biasMax, biasMax));
  return { label, kind: 'Requant', attrs: { elems, channels, pe, shift, inType, outType }, consts: { mul, bias }, inType, inElems: elems, outType, outElems: elems };
}

const cases: LayerCase[] = [
  requantCase('int16_to_int8_c4_pe2_shift10', 8, 4, 2, 10, 'INT16', 'INT8', 3000, 200000, 1),
  requantCase('uint8_to_uint4_per_tensor_pe3_shift3', 6, 1, 3, 3, 'UINT8', 'UINT4', 12, 40, 2),
  requantCase('int20_to_int16_c5_serial_shift20', 5, 5, 1, 20, 'INT20', 'INT16', 2 ** 20, 2 ** 24, 3),
  requantCase('int4_to_int2_c6_unrolled_shift0', 6, 6, 6, 0, 'INT4', 'INT2', 2, 2, 4),
];

describe.skipIf(!haveVerilator)('Requant RTL == reference, cycles == model', () => {
  it.each(cases.map((c, i) => [c.label, c, i] as const))('%s', async (_label, c, i) => {
    expectExact(await runLayerCase(c, 300 + i));
  });
});
