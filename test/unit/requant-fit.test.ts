// Requant's round-half-even mode: the rounding itself (requantValue, levelStart), the fit that finds
// it when reachable ties rule out every floor fit (fitRequant), exhaustively checked on every
// accumulator of the range, and the generated RTL through Verilator's -Wall lint, Icarus and Yosys.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { compileDataflow } from '../../src/codegen/index.ts';
import { layerResources } from '../../src/estimate/resources.ts';
import { requantValue, type RequantRound } from '../../src/layers/common/requant-value.ts';
import { fitRequant, levelStart } from '../../src/lower/requant-fit.ts';
import { searchThresholds, type ChannelRange } from '../../src/lower/thresholds.ts';
import { findTool } from '../../src/tools/index.ts';
import { oneLayer, randInt, rng } from './layers-helpers.ts';

/** Round half to even of the exact rational n / 2^s (BigInt: no float involved). */
function rneBig(n: bigint, s: number): bigint {
  const one = 1n << BigInt(s);
  let f = n / one;
  if (n < 0n && f * one !== n) f -= 1n; // floor
  const rem = n - f * one;
  if (2n * rem > one || (2n * rem === one && (f & 1n) === 1n)) f += 1n;
  return f;
}

/** The thresholds of a code function over levels (lo, hi] (searchThresholds on a plain function). */
function thresholdsOf(code: (c: number, a: number) => number, ranges: ChannelRange[], lo: number, hi: number): number[][] {
  return searchThresholds((ch, acc) => Float64Array.from(ch, (c, j) => code(c, acc[j])), ranges, lo, hi);
}

function expectExact(code: (c: number, a: number) => number, ranges: ChannelRange[], lo: number, hi: number, fit: { mul: number[]; add: number[]; shift: number; round: RequantRound }): void {
  ranges.forEach((r, c) => {
    let bad = 0;
    for (let a = r.lo; a <= r.hi; a++) if (requantValue(a, fit.mul[c], fit.add[c], fit.shift, lo, hi, fit.round) !== code(c, a)) bad++;
    expect(bad, `channel ${c}`).toBe(0);
  });
}

describe('half-even rounding', () => {
  it('requantValue(half-even) equals the exact rational round half to even (random, with ties)', () => {
    const r = rng(11);
    for (let i = 0; i < 20000; i++) {
      const s = randInt(r, 0, 30);
      const m = randInt(r, -(2 ** 20), 2 ** 20);
      const x = randInt(r, -(2 ** 20), 2 ** 20);
      // every fourth case an exact tie
      const b = i % 4 === 0 && s > 0 ? 2 ** (s - 1) - ((x * m) % 2 ** s) + 2 ** s * randInt(r, -4, 4) : randInt(r, -(2 ** 30), 2 ** 30);
      const want = Number(rneBig(BigInt(x) * BigInt(m) + BigInt(b), s));
      expect(requantValue(x, m, b, s, -Infinity, Infinity, 'half-even')).toBe(want);
    }
    expect(requantValue(5, 1, 0, 1, -10, 10, 'half-even')).toBe(2); // 2.5 → 2
    expect(requantValue(7, 1, 0, 1, -10, 10, 'half-even')).toBe(4); // 3.5 → 4
    expect(requantValue(-5, 1, 0, 1, -10, 10, 'half-even')).toBe(-2); // −2.5 → −2
    expect(requantValue(5, 1, 0, 1, -10, 10)).toBe(2); // floor stays the default
    expect(requantValue(7, 1, 0, 1, -10, 10)).toBe(3);
  });

  it('q ≥ ℓ ⟺ x·M + B ≥ levelStart(ℓ), for both roundings', () => {
    const r = rng(12);
    for (let i = 0; i < 20000; i++) {
      const s = randInt(r, 0, 12);
      const n = randInt(r, -5000, 5000);
      const l = randInt(r, -40, 40);
      for (const round of ['floor', 'half-even'] as const) {
        expect(requantValue(n, 1, 0, s, -Infinity, Infinity, round) >= l, `${round} n=${n} s=${s} l=${l}`).toBe(n >= levelStart(l, s, round));
      }
    }
  });
});

describe('fitRequant with reachable ties', () => {
  it('a power-of-two-scale quantizer (RNE with ties): no floor fit, a half-even fit exact on every accumulator', () => {
    // code = clamp(RNE(acc · 2^-3 + 0.5·c)), as kiln compress's power-of-two scales give.
    const ranges: ChannelRange[] = [{ lo: -3000, hi: 2500 }, { lo: -100, hi: 4000 }, { lo: 0, hi: 2047 }];
    const code = (c: number, a: number) => Math.min(127, Math.max(-128, Number(rneBig(BigInt(a) + BigInt(4 * c), 3))));
    const T = thresholdsOf(code, ranges, -128, 127);
    expect(fitRequant(T, ranges, -128, 127, 40, ['floor'])).toBeUndefined();
    const fit = fitRequant(T, ranges, -128, 127)!;
    expect(fit).toBeDefined();
    expect(fit.round).toBe('half-even');
    expectExact(code, ranges, -128, 127, fit);
  });

  it('random per-channel half-even functions (rational slopes, ties reachable): fitted exactly, over the whole range', () => {
    const r = rng(13);
    let halfEven = 0;
    for (let trial = 0; trial < 40; trial++) {
      const C = randInt(r, 1, 6);
      const k = randInt(r, 1, 10);
      const [lo, hi] = trial % 2 === 0 ? [-128, 127] : [0, 255];
      const p = Array.from({ length: C }, () => randInt(r, 1, 2 ** k * 2));
      const q = Array.from({ length: C }, () => randInt(r, -(2 ** (k + 6)), 2 ** (k + 6)));
      const ranges = Array.from({ length: C }, () => {
        const a = randInt(r, -6000, 6000);
        return { lo: a, hi: a + randInt(r, 0, 6000) };
      });
      const code = (c: number, a: number) => Math.min(hi, Math.max(lo, Number(rneBig(BigInt(a * p[c] + q[c]), k))));
      const T = thresholdsOf(code, ranges, lo, hi);
      const fit = fitRequant(T, ranges, lo, hi);
      expect(fit, `trial ${trial}`).toBeDefined();
      expectExact(code, ranges, lo, hi, fit!);
      // Where no floor fit exists (a tie reached that rounds down), half-even is what made it exact.
      if (!fitRequant(T, ranges, lo, hi, 40, ['floor'])) {
        expect(fit!.round).toBe('half-even');
        halfEven++;
      }
    }
    expect(halfEven).toBeGreaterThanOrEqual(10);
  });

  it('a float32 chain with power-of-two scales (x·2^-e + b, QuantizeLinear RNE): exact half-even fit', () => {
    const r = rng(14);
    for (let trial = 0; trial < 10; trial++) {
      const C = 4;
      const e = randInt(r, 6, 12);
      const bias = Array.from({ length: C }, () => Math.fround(randInt(r, -512, 512) / 64));
      const ranges = Array.from({ length: C }, () => ({ lo: -(2 ** (e + 7)), hi: 2 ** (e + 7) }));
      // Relu then QuantizeLinear(scale 2^-1, uint8): float32 ops like the executor's.
      const code = (c: number, a: number) => {
        const v = Math.max(0, Math.fround(Math.fround(a * 2 ** -e) + bias[c]));
        const y = Math.fround(v / 0.5);
        const f = Math.floor(y);
        const rne = y - f > 0.5 || (y - f === 0.5 && f % 2 !== 0) ? f + 1 : f;
        return Math.min(255, Math.max(0, rne));
      };
      const T = thresholdsOf(code, ranges, 0, 255);
      const fit = fitRequant(T, ranges, 0, 255)!;
      expect(fit, `trial ${trial}`).toBeDefined();
      expect(fit.round).toBe('half-even');
      expectExact(code, ranges, 0, 255, fit);
    }
  });

  it('floor functions keep their floor fit (floor is tried first)', () => {
    const ranges: ChannelRange[] = [{ lo: -1000, hi: 1000 }];
    const code = (_c: number, a: number) => Math.min(127, Math.max(-128, Math.floor(a * 0.0371 + 3.3)));
    const fit = fitRequant(thresholdsOf(code, ranges, -128, 127), ranges, -128, 127)!;
    expect(fit.round).toBe('floor');
    expectExact(code, ranges, -128, 127, fit);
  });
});

describe('half-even Requant layer', () => {
  const layer = (round?: 'half-even') => oneLayer({ kind: 'Requant', attrs: { elems: 4, channels: 2, pe: 2, shift: 5, ...(round ? { round } : {}), inType: 'INT16', outType: 'INT8' }, consts: { mul: [37, -11], bias: [1000, -77] } }, 'INT16', 4, 'INT8', 4);

  it('estimate: the rounding increment adds LUTs, floor designs are unchanged', () => {
    const floor = layerResources(layer().layers[0], 'xc7').lut;
    const he = layerResources(layer('half-even').layers[0], 'xc7').lut;
    expect(he).toBeGreaterThan(floor);
    expect(he - floor).toBeLessThan(3 * 2 * 32); // a few LUTs per lane and PW bit at most
  });

  it('rejects an unknown rounding', () => {
    const g = layer();
    g.layers[0].attrs.round = 'up';
    expect(() => compileDataflow(g, join(tmpdir(), 'never-written'))).toThrow(/round must be 'floor' or 'half-even'/);
  });

  const verilator = findTool('verilator');
  const iverilog = findTool('iverilog');
  it.skipIf(!verilator || !iverilog)('the generated design passes verilator --lint-only -Wall and iverilog -g2005', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-rq-lint-'));
    try {
      const out = join(dir, 'out');
      const design = compileDataflow(layer('half-even'), out, { fold: { l0: { pe: 2 } } as never });
      const lint = await execa(verilator!, ['--lint-only', '-Wall', '--top-module', 'kiln_top', ...design.manifest.files], { cwd: out, reject: false, all: true });
      expect(lint.all?.trim()).toBe('');
      const iv = await execa(iverilog!, ['-g2005', '-o', join(dir, 'a.vvp'), ...design.manifest.files], { cwd: out, reject: false, all: true });
      expect(iv.all?.trim()).toBe('');
      expect(iv.exitCode).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
