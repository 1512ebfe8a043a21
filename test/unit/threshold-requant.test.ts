// The Threshold layer's requant form (src/layers/common/threshold-requant.ts): requantization plus
// exception list equals the threshold count on EVERY input of the type (exhaustive here), for float32
// chains with non-power-of-two scales, moved thresholds, stacks at the range's ends; and thresholds no
// requantization comes near are refused (by the form and by the layer's check).
import { describe, expect, it } from 'vitest';
import { parseQType, range } from '../../src/ir/datatype.ts';
import { MAX_EXCEPTIONS, requantForm, requantFormCount } from '../../src/layers/common/threshold-requant.ts';
import threshold from '../../src/layers/threshold.ts';
import { randInt, rng } from './layers-helpers.ts';

/** Thresholds of n = clamp(round(fround(fround(x·s) + z)), 0, steps) over [lo, hi] (hi + 1: never). */
function chainThresholds(lo: number, hi: number, steps: number, scale: number, zero: number): number[] {
  const count = (x: number) => Math.min(steps, Math.max(0, Math.round(Math.fround(Math.fround(x * Math.fround(scale)) + Math.fround(zero)))));
  const out: number[] = [];
  for (let l = 1; l <= steps; l++) {
    let [a, b] = [lo, hi + 1];
    while (a < b) {
      const m = Math.floor((a + b) / 2);
      if (count(m) >= l) b = m;
      else a = m + 1;
    }
    out.push(a);
  }
  return out;
}

function expectExactEverywhere(inType: string, channels: number, steps: number, t: number[]) {
  const f = requantForm(parseQType(inType), channels, steps, t);
  if (typeof f === 'string') throw new Error(f);
  const [lo, hi] = range(parseQType(inType));
  let exceptions = 0;
  for (let c = 0; c < channels; c++) {
    const T = t.slice(c * steps, (c + 1) * steps);
    exceptions += f.exceptions[c].length;
    let n = 0;
    for (let x = lo; x <= hi; x++) {
      while (n < steps && x >= T[n]) n++;
      if (requantFormCount(f, steps, c, x) !== n) throw new Error(`channel ${c}, x = ${x}: ${requantFormCount(f, steps, c, x)}, thresholds give ${n}`);
    }
  }
  return { f, exceptions };
}

describe('threshold requant form', () => {
  it('is exact on every input of a 16-bit accumulator: 255 steps, scales 1/400 … 1/300, end stacks', () => {
    const r = rng(3);
    const t: number[] = [];
    for (let c = 0; c < 8; c++) t.push(...chainThresholds(-32768, 32767, 255, 1 / (300 + 100 * r()), 255 * (r() - 0.2)));
    expect(t.filter((v) => v === 32768).length).toBeGreaterThan(0); // levels no input reaches
    const { f, exceptions } = expectExactEverywhere('INT16', 8, 255, t);
    expect(f.maxExceptions).toBeLessThanOrEqual(4);
    expect(exceptions).toBeLessThan(8 * 4);
  });

  it('lists moved thresholds as exceptions and stays exact', () => {
    const r = rng(5);
    const t = chainThresholds(0, 4095, 63, 1 / 53.7, -5.2);
    const moved = [...t];
    for (const i of [7, 20, 41]) moved[i] += r() < 0.5 ? -1 : 1;
    const { f } = expectExactEverywhere('UINT12', 1, 63, moved);
    expect(f.maxExceptions).toBeGreaterThanOrEqual(1);
    expect(f.exceptions[0].every((e) => moved.some((v) => Math.abs(v - e.acc) <= 1))).toBe(true);
  });

  it('handles constant channels (every threshold equal) and thresholds past the input range', () => {
    const t = [...new Array(15).fill(100), ...new Array(15).fill(5000), ...chainThresholds(-2048, 2047, 15, 1 / 200, 7.3)];
    expectExactEverywhere('INT12', 3, 15, t);
  });

  it('refuses thresholds no requantization comes near (random), naming the limit', () => {
    const r = rng(9);
    const t = Array.from({ length: 255 }, () => randInt(r, -30000, 30000)).sort((a, b) => a - b);
    const f = requantForm(parseQType('INT16'), 1, 255, t);
    expect(f).toMatch(new RegExp(`more than ${MAX_EXCEPTIONS} exceptions`));
    const layer = { name: 'act', kind: 'Threshold', attrs: { elems: 4, channels: 1, steps: 255, pe: 1, inType: 'INT16', outType: 'UINT8', impl: 'requant' }, consts: { thresholds: t } };
    expect(() => threshold.parse(layer)).toThrow(/impl 'requant' needs thresholds a requantization matches up to a few exceptions/);
  });

  it('is deterministic (same thresholds, same parameters)', () => {
    const t = chainThresholds(-32768, 32767, 255, 1 / 77.3, 3.1);
    const a = requantForm(parseQType('INT16'), 1, 255, t);
    const b = requantForm(parseQType('INT16'), 1, 255, [...t]);
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
  });
});
