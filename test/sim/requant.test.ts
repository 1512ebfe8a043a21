// Requant sim matrix: per-channel and per-tensor multipliers/biases (both signs), shifts 0..20,
// clamping at both ends, signed and unsigned in/out, PE from 1 to fully parallel; both roundings
// (floor, round half to even) with vectors that sit exactly on rounding ties.
import { describe, expect, it } from 'vitest';
import { parseQType, range } from '../../src/ir/datatype.ts';
import { layerKind } from '../../src/layers/index.ts';
import { requantValue } from '../../src/layers/common/requant-value.ts';
import { rng, randInt } from '../unit/layers-helpers.ts';
import { expectExact, haveVerilator, runLayerCase, type LayerCase } from './layer-matrix.ts';

type Round = 'floor' | 'half-even';

function requantCase(label: string, elems: number, channels: number, pe: number, shift: number, inType: string, outType: string, mulMax: number, biasMax: number, seed: number, round: Round = 'floor', tieVectors = 0): LayerCase {
  const r = rng(seed);
  // Half-even cases: odd multipliers, so every channel has ties (x·M + B takes every residue mod 2^shift).
  const mul = Array.from({ length: channels }, () => randInt(r, -mulMax, mulMax) | (round === 'half-even' ? 1 : 0));
  const bias = Array.from({ length: channels }, () => randInt(r, -biasMax, biasMax));
  const attrs = { elems, channels, pe, shift, ...(round === 'floor' ? {} : { round }), inType, outType };
  return { label, kind: 'Requant', attrs, consts: { mul, bias }, inType, inElems: elems, outType, outElems: elems, extra: tieInputs(elems, channels, shift, inType, outType, mul, bias, tieVectors, r) };
}

/**
 * Inputs of channel c whose x·M + B is an exact tie (≡ 2^(shift−1) mod 2^shift) with the rounded value
 * inside the output range (not clamped): [ties rounding down, ties rounding up]. M is odd, so the ties
 * are x ≡ (2^(shift−1) − B)·M⁻¹ (mod 2^shift); up to 2^12 of them from a random start.
 */
function tiesOf(m: number, b: number, shift: number, inType: string, outType: string, r: () => number): [number[], number[]] {
  const out: [number[], number[]] = [[], []];
  if (shift === 0) return out;
  const [lo, hi] = range(parseQType(inType));
  const [olo, ohi] = range(parseQType(outType));
  const mod = 1n << BigInt(shift);
  const red = (v: bigint) => ((v % mod) + mod) % mod;
  let inv = 1n; // M⁻¹ mod 2^shift by Newton's iteration (M odd)
  for (let i = 0; i < 7; i++) inv = red(inv * (2n - red(BigInt(m)) * inv));
  const x0 = Number(red((mod / 2n - BigInt(b)) * inv));
  const one = 2 ** shift;
  const first = Math.ceil((lo - x0) / one);
  const last = Math.floor((hi - x0) / one);
  const from = last - first + 1 > 2 ** 12 ? randInt(r, first, last - 2 ** 12 + 1) : first;
  for (let k = from; k <= Math.min(last, from + 2 ** 12 - 1); k++) {
    const x = x0 + k * one;
    const n = x * m + b;
    const f = Math.floor(n / one);
    if (n - f * one !== one / 2) throw new Error(`not a tie: ${x}`);
    if (f >= olo && f + 1 <= ohi) out[Math.abs(f) % 2].push(x);
  }
  return out;
}

/** `count` input vectors, every element a tie of its channel where the channel has one (random otherwise). */
function tieInputs(elems: number, channels: number, shift: number, inType: string, outType: string, mul: number[], bias: number[], count: number, r: () => number): number[][] {
  if (count === 0) return [];
  const ties = mul.map((m, c) => tiesOf(m, bias[c], shift, inType, outType, r));
  const [lo, hi] = range(parseQType(inType));
  // Vector i takes ties that round down (to an even floor) when i is even, up when odd.
  return Array.from({ length: count }, (_, i) => Array.from({ length: elems }, (_, e) => {
    const both = ties[e % channels];
    const t = both[i % 2].length > 0 ? both[i % 2] : both[1 - (i % 2)];
    return t.length > 0 ? t[randInt(r, 0, t.length - 1)] : randInt(r, lo, hi);
  }));
}

const cases: LayerCase[] = [
  requantCase('int16_to_int8_c4_pe2_shift10', 8, 4, 2, 10, 'INT16', 'INT8', 3000, 200000, 1),
  requantCase('uint8_to_uint4_per_tensor_pe3_shift3', 6, 1, 3, 3, 'UINT8', 'UINT4', 12, 40, 2),
  requantCase('int20_to_int16_c5_serial_shift20', 5, 5, 1, 20, 'INT20', 'INT16', 2 ** 20, 2 ** 24, 3),
  requantCase('int4_to_int2_c6_unrolled_shift0', 6, 6, 6, 0, 'INT4', 'INT2', 2, 2, 4),
  // Round half to even: small shifts make ties frequent even on random inputs; the tie vectors hit one per element.
  requantCase('half_even_int16_to_int8_c4_pe2_shift3', 8, 4, 2, 3, 'INT16', 'INT8', 31, 500, 5, 'half-even', 6),
  requantCase('half_even_uint8_to_uint4_per_tensor_pe3_shift1', 6, 1, 3, 1, 'UINT8', 'UINT4', 3, 4, 6, 'half-even', 6),
  requantCase('half_even_int20_to_int16_c5_serial_shift20', 5, 5, 1, 20, 'INT20', 'INT16', 2 ** 15, 2 ** 24, 7, 'half-even', 6),
  requantCase('half_even_int4_to_int2_c6_unrolled_shift2', 6, 6, 6, 2, 'INT4', 'INT2', 5, 6, 8, 'half-even', 6),
  requantCase('half_even_int24_to_uint8_c3_pe3_shift13', 6, 3, 3, 13, 'INT24', 'UINT8', 200, 2 ** 20, 9, 'half-even', 6),
  // A shift beyond the product's width (|x·M + B| < 2^8, no ties; PW is widened to SHIFT + 2): outputs −1 / 0 / +1.
  requantCase('half_even_int4_to_int4_c2_pe1_shift9', 4, 2, 1, 9, 'INT4', 'INT4', 15, 100, 10, 'half-even'),
  requantCase('half_even_int10_to_int4_c2_pe1_shift9', 4, 2, 1, 9, 'INT10', 'INT4', 15, 300, 12, 'half-even', 6),
  requantCase('half_even_shift0_int8_to_int8_c2_pe2', 4, 2, 2, 0, 'INT8', 'INT8', 3, 20, 11, 'half-even'),
];

describe('Requant half-even reference', () => {
  it('the tie vectors hold exact ties that round down (to even) and up (to even)', () => {
    for (const c of cases.filter((x) => x.attrs.round === 'half-even' && x.extra!.length > 0)) {
      const { mul, bias } = c.consts!;
      const shift = c.attrs.shift as number;
      const channels = c.attrs.channels as number;
      const [olo, ohi] = range(parseQType(c.outType));
      let down = 0;
      let up = 0;
      for (const v of c.extra!) {
        v.forEach((x, e) => {
          const n = x * mul[e % channels] + bias[e % channels];
          const f = Math.floor(n / 2 ** shift);
          if (n - f * 2 ** shift !== 2 ** (shift - 1) || f < olo || f + 1 > ohi) return;
          // floor(n / 2^s) even: the tie rounds down; odd: up.
          if (f % 2 === 0) down++;
          else up++;
        });
      }
      expect(down, c.label).toBeGreaterThan(0);
      expect(up, c.label).toBeGreaterThan(0);
    }
  });

  it('execute equals requantValue(half-even), which differs from floor and from round-half-up on ties', () => {
    const kind = layerKind('Requant');
    const c = cases.find((x) => x.label.startsWith('half_even_int16'))!;
    const a = kind.parse({ name: 'dut', attrs: c.attrs, consts: c.consts! }) as never;
    const [lo, hi] = range(parseQType(c.outType));
    const { mul, bias } = c.consts!;
    let differsFromFloor = 0;
    for (const v of c.extra!) {
      const y = kind.spec.execute(a, [v], c.consts!)[0];
      v.forEach((x, e) => {
        const [m, b] = [mul[e % 4], bias[e % 4]];
        expect(y[e]).toBe(requantValue(x, m, b, 3, lo, hi, 'half-even'));
        // The exact rational value (x·M + B) / 8 rounded half to even, by hand.
        const n = x * m + b;
        const f = Math.floor(n / 8);
        const rem = n - 8 * f;
        const rne = rem < 4 ? f : rem > 4 ? f + 1 : f % 2 === 0 ? f : f + 1;
        expect(y[e]).toBe(Math.min(hi, Math.max(lo, rne)));
        if (y[e] !== Math.min(hi, Math.max(lo, f))) differsFromFloor++;
      });
    }
    expect(differsFromFloor).toBeGreaterThan(0);
  });
});

describe.skipIf(!haveVerilator)('Requant RTL == reference, cycles == model', () => {
  it.each(cases.map((c, i) => [c.label, c, i] as const))('%s', async (_label, c, i) => {
    expectExact(await runLayerCase(c, 300 + i));
  });
});
