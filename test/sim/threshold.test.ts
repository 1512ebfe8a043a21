// Threshold sim matrix, all three forms (parallel comparators, pipelined search, requant + exceptions): per-channel and
// per-tensor thresholds, 1..255 steps, signed/unsigned/bipolar inputs and outputs, PE from 1 to fully
// parallel; each case bit-exact under back-pressure and gaps, cycles and latency == the model.
import { describe, it } from 'vitest';
import { parseQType, range } from '../../src/ir/datatype.ts';
import { requantForm } from '../../src/layers/common/threshold-requant.ts';
import { rng, randInt } from '../unit/layers-helpers.ts';
import { expectExact, haveVerilator, runLayerCase, type LayerCase } from './layer-matrix.ts';

function thresholdCase(label: string, elems: number, channels: number, steps: number, pe: number, inType: string, outType: string, lo: number, hi: number, outBias: number, outScale: number, seed: number, impl = 'parallel'): LayerCase {
  const r = rng(seed);
  const thresholds: number[] = [];
  for (let c = 0; c < channels; c++) thresholds.push(...Array.from({ length: steps }, () => randInt(r, lo, hi)).sort((a, b) => a - b));
  return { label, kind: 'Threshold', attrs: { elems, channels, steps, pe, inType, outType, outBias, outScale, impl }, consts: { thresholds }, inType, inElems: elems, outType, outElems: elems };
}

/**
 * The requant form on thresholds of a QDQ-like float32 chain, n = clamp(round(fround(fround(x·s) + z)), 0, steps)
 * with a non-power-of-two scale per channel (`jitter` thresholds moved by one: more exceptions), and
 * inputs at every threshold ±1 and exception (random inputs of a wide type rarely land there).
 */
function requantCase(label: string, elems: number, channels: number, steps: number, pe: number, inType: string, outType: string, outBias: number, seed: number, jitter = 0): LayerCase {
  const r = rng(seed);
  const [lo, hi] = range(parseQType(inType));
  const thresholds: number[] = [];
  for (let c = 0; c < channels; c++) {
    const scale = Math.fround(((steps + 1) * (0.6 + r())) / (hi - lo));
    const zero = Math.fround(steps * (r() - 0.3));
    const count = (x: number) => Math.min(steps, Math.max(0, Math.round(Math.fround(Math.fround(x * scale) + zero))));
    // T_ℓ: the least x in [lo, hi] with count ≥ ℓ (hi + 1 if none), by bisection (count is monotone).
    for (let l = 1; l <= steps; l++) {
      let [a, b] = [lo, hi + 1];
      while (a < b) {
        const m = Math.floor((a + b) / 2);
        if (count(m) >= l) b = m;
        else a = m + 1;
      }
      thresholds.push(a);
    }
  }
  for (let j = 0; j < jitter; j++) {
    const i = randInt(r, 0, thresholds.length - 1);
    const c = Math.floor(i / steps);
    const prev = i % steps === 0 ? -Infinity : thresholds[i - 1];
    const next = i % steps === steps - 1 ? Infinity : thresholds[i + 1];
    const v = thresholds[i] + (r() < 0.5 ? -1 : 1);
    if (v >= prev && v <= next && c >= 0) thresholds[i] = v;
  }
  const f = requantForm(parseQType(inType), channels, steps, thresholds);
  if (typeof f === 'string') throw new Error(`${label}: ${f}`);
  const near: number[][] = Array.from({ length: channels }, (_, c) => {
    const own = thresholds.slice(c * steps, (c + 1) * steps).flatMap((t) => [t - 1, t]);
    return [...own, ...f.exceptions[c].map((e) => e.acc)].map((x) => Math.min(hi, Math.max(lo, x)));
  });
  const extra = Array.from({ length: 24 }, () => Array.from({ length: elems }, (_, e) => { const xs = near[e % channels]; return xs[randInt(r, 0, xs.length - 1)]; }));
  return { label, kind: 'Threshold', attrs: { elems, channels, steps, pe, inType, outType, outBias, outScale: 1, impl: 'requant' }, consts: { thresholds }, inType, inElems: elems, outType, outElems: elems, extra };
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
  // The requant form: channel groups (tables read at the group counter) and one group (constants), per tensor, exceptions.
  requantCase('requant_int20_to_uint8_c6_255steps_pe2', 12, 6, 255, 2, 'INT20', 'UINT8', 0, 13, 4),
  requantCase('requant_int16_to_int8_c4_255steps_pe4', 8, 4, 255, 4, 'INT16', 'INT8', -128, 14, 3),
  requantCase('requant_per_tensor_int12_to_int4_15steps_pe3', 12, 1, 15, 3, 'INT12', 'INT4', -8, 15, 1),
  requantCase('requant_uint10_to_uint3_c6_7steps_serial', 12, 6, 7, 1, 'UINT10', 'UINT3', 0, 16, 2),
];

describe.skipIf(!haveVerilator)('Threshold RTL == reference, cycles == model', () => {
  it.each(cases.map((c, i) => [c.label, c, i] as const))('%s', async (_label, c, i) => {
    expectExact(await runLayerCase(c, 200 + i));
  }, 300_000); // a 255-step case's Verilator build takes ~90 s on a loaded machine
});
