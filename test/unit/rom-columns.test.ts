// memory.ts romColumns / romColumnsOfFields (the ROM-logic feature of the MVU, Threshold and Requant
// cost terms): checked against a brute-force count of the distinct bit columns, and the per-field
// form against the per-bit one (the estimate must not change with the faster path).
import { describe, expect, it } from 'vitest';
import { romColumns, romColumnsOfFields, romLogic, romLogicOfFields } from '../../src/layers/cost/memory.ts';
import { mulberry32 } from '../../src/util/random.ts';

/** The definition, without hashing: columns as strings. */
function bruteForce(depth: number, width: number, bit: (w: number, c: number) => number): { distinct: number; functions: number } {
  const col = (f: (i: number) => number) => Array.from({ length: depth }, (_, i) => f(i) & 1).join('');
  const aw = depth > 1 ? Math.ceil(Math.log2(depth)) : 0;
  const address = new Set<string>();
  for (let k = 0; k < aw; k++) {
    address.add(col((i) => i >> k));
    address.add(col((i) => ~(i >> k)));
  }
  const exact = new Set<string>();
  const canon = new Set<string>();
  for (let c = 0; c < width; c++) {
    const s = col((i) => bit(i, c));
    if (!s.includes('1') || !s.includes('0')) continue;
    exact.add(s);
    if (address.has(s)) continue;
    canon.add(s[0] === '1' ? [...s].map((b) => (b === '1' ? '0' : '1')).join('') : s);
  }
  return { distinct: exact.size, functions: canon.size };
}

/** Threshold-style bit of a field (two's complement in `bits` bits), one callback per bit. */
const fieldBit = (value: (w: number, k: number) => number, bits: number) => (w: number, c: number) => {
  const mask = 2 ** bits;
  const v = value(w, Math.floor(c / bits));
  return Math.floor((((v % mask) + mask) % mask) / 2 ** (c % bits));
};

describe('romColumns', () => {
  it('counts distinct columns, up to complement and minus address bits, as the brute force does', () => {
    const rnd = mulberry32(7);
    for (const [depth, width] of [[1, 5], [2, 8], [5, 40], [8, 64], [16, 300], [33, 200]]) {
      // Few distinct columns on purpose: duplicates, complements, constants and address bits all occur.
      const pool: number[][] = Array.from({ length: 6 }, () => Array.from({ length: depth }, () => (rnd() < 0.5 ? 1 : 0)));
      pool.push(Array.from({ length: depth }, (_, i) => i & 1), Array.from({ length: depth }, (_, i) => 1 - ((i >> 1) & 1)), Array(depth).fill(1));
      const cols = Array.from({ length: width }, () => {
        const p = pool[Math.floor(rnd() * pool.length)];
        return rnd() < 0.3 ? p.map((b) => 1 - b) : p;
      });
      const bit = (w: number, c: number) => cols[c][w];
      const want = bruteForce(depth, width, bit);
      expect(romColumns(depth, width, bit)).toEqual(want);
      if (depth > 4) expect(want.distinct).toBeGreaterThan(want.functions); // the cases are not trivial
    }
  });

  it('per field gives what per bit gives: negative, wide (> 32 bits), non-integer and equal fields', () => {
    const rnd = mulberry32(11);
    for (const [depth, fields, bits] of [[8, 30, 4], [40, 60, 25], [10, 20, 32], [6, 12, 40], [3, 7, 1], [64, 10, 9]]) {
      const vals = Array.from({ length: depth * fields }, () => {
        const r = rnd();
        const v = Math.floor((rnd() - 0.5) * 2 ** Math.min(bits + 1, 45));
        return r < 0.2 ? 5 : r < 0.25 ? v + 0.5 : v; // repeated and fractional values too
      });
      const value = (w: number, k: number) => vals[w * fields + k];
      const perBit = romColumns(depth, fields * bits, fieldBit(value, bits));
      expect(romColumnsOfFields(depth, fields, bits, value)).toEqual(perBit);
      expect(romLogicOfFields(depth, fields, bits, value)).toEqual(romLogic(depth, fields * bits, fieldBit(value, bits)));
      if (depth * fields * bits <= 20000) expect(perBit).toEqual(bruteForce(depth, fields * bits, fieldBit(value, bits)));
    }
  });
});
