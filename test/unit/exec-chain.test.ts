// The lowering's fast paths must give exactly what the slow, obviously faithful paths give:
//  - src/exec/chain.ts (compiled MAC → quantizer chains) against the ONNX reference executor
//    (runGraph) on random chains of Add/Sub/Mul/Div/Relu/Clip/QuantizeLinear/DequantizeLinear with
//    per-tensor and per-channel constants, ties and out-of-range values, bit for bit;
//  - searchThresholds (grouped levels) against searchThresholdsPerPair: the same thresholds and the
//    very same query batches, for monotone and non-monotone code functions;
//  - fitRequant (which skips channels proven infeasible, noFit) against fitRequantUnproven (every
//    channel through the search) on random staircases, exact or perturbed so that fits come and go.
import { describe, expect, it } from 'vitest';
import { compileChain } from '../../src/exec/chain.ts';
import { runGraph } from '../../src/exec/run.ts';
import { emptyGraph, type Node } from '../../src/ir/graph.ts';
import { makeTensor, nums, type DType, type Tensor } from '../../src/ir/tensor.ts';
import { fitRequant, fitRequantUnproven } from '../../src/lower/requant-fit.ts';
import { searchThresholds, searchThresholdsPerPair, type ChannelRange } from '../../src/lower/thresholds.ts';
import { randInt, rng } from './layers-helpers.ts';

interface RandomChain { nodes: Node[]; consts: Map<string, Tensor>; out: string }

/** A random chain on 'x' ([N, C] or [N, C, 1, 1]), as streamline builds them. */
function randomChain(r: () => number, C: number, spatial: boolean): RandomChain {
  const consts = new Map<string, Tensor>();
  const nodes: Node[] = [];
  let cur = 'x';
  let dtype: DType = 'float32';
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)];
  const scale = () => pick([0.5, 0.25, 0.125, 0.1, 0.0173, 3, 0.007843137718737125]) * (r() < 0.3 ? 1 + r() : 1);
  const constant = (name: string, dt: DType, values: number[], perChannel: boolean): string => {
    const shape = perChannel ? (spatial ? pick([[C, 1, 1], [1, C, 1, 1]]) : pick([[C], [1, C]])) : pick([[], [1]]);
    consts.set(name, makeTensor(dt, shape, values));
    return name;
  };
  const len = randInt(r, 1, 6);
  for (let k = 0; k < len; k++) {
    const out = `t${k}`;
    const name = `n${k}`;
    let node: Node | undefined;
    const ops = dtype === 'float32' ? ['Add', 'Sub', 'Mul', 'Div', 'Relu', 'Clip', 'QuantizeLinear', 'DequantizeLinear'] : ['Relu', 'Clip', 'DequantizeLinear'];
    const op = pick(ops);
    if (['Add', 'Sub', 'Mul', 'Div'].includes(op)) {
      const pc = r() < 0.5;
      const vals = Array.from({ length: pc ? C : 1 }, () => (op === 'Div' || op === 'Mul' ? scale() * (r() < 0.2 ? -1 : 1) : (r() - 0.5) * 20));
      const c = constant(`c${k}`, 'float32', vals, pc);
      node = { name, op, domain: '', inputs: r() < 0.5 ? [cur, c] : [c, cur], outputs: [out], attrs: {} };
    } else if (op === 'Relu') {
      node = { name, op, domain: '', inputs: [cur], outputs: [out], attrs: {} };
    } else if (op === 'Clip') {
      const lo = dtype === 'float32' ? (r() - 0.5) * 10 : randInt(r, dtype === 'int8' ? -100 : 0, 50);
      const hi = lo + (dtype === 'float32' ? r() * 20 : randInt(r, 0, 60));
      const ins = [cur, r() < 0.8 ? constant(`lo${k}`, dtype, [lo], false) : '', r() < 0.8 ? constant(`hi${k}`, dtype, [hi], false) : ''];
      while (ins[ins.length - 1] === '') ins.pop();
      node = { name, op, domain: '', inputs: ins, outputs: [out], attrs: {} };
    } else if (op === 'QuantizeLinear') {
      const pc = r() < 0.4;
      const zt: DType | undefined = pick(['uint8', 'int8', undefined]);
      const s = `s${k}`;
      consts.set(s, makeTensor('float32', pc ? [C] : pick([[], [1]]), Array.from({ length: pc ? C : 1 }, scale)));
      const ins = [cur, s];
      if (zt) {
        const z = `z${k}`;
        consts.set(z, makeTensor(zt, pc ? [C] : [], Array.from({ length: pc ? C : 1 }, () => randInt(r, zt === 'uint8' ? 0 : -20, zt === 'uint8' ? 200 : 20))));
        ins.push(z);
      }
      node = { name, op, domain: '', inputs: ins, outputs: [out], attrs: pc && r() < 0.5 ? { axis: { kind: 'int', v: 1 } } : {} };
      dtype = zt ?? 'uint8';
    } else {
      const pc = r() < 0.4;
      const s = `s${k}`;
      consts.set(s, makeTensor('float32', pc ? [C] : [], Array.from({ length: pc ? C : 1 }, scale)));
      const ins = [cur, s];
      if (dtype !== 'float32' && r() < 0.7) {
        const z = `z${k}`;
        consts.set(z, makeTensor(dtype, pc ? [C] : [], Array.from({ length: pc ? C : 1 }, () => randInt(r, dtype === 'uint8' ? 0 : -20, 20))));
        ins.push(z);
      }
      node = { name, op, domain: '', inputs: ins, outputs: [out], attrs: {} };
      dtype = 'float32';
    }
    nodes.push(node);
    cur = out;
  }
  return { nodes, consts, out: cur };
}

describe('compiled chains (src/exec/chain.ts)', () => {
  it('equal the reference executor bit for bit on 400 random chains (fused and per step)', () => {
    const r = rng(2026);
    let compiled = 0;
    for (let t = 0; t < 400; t++) {
      const C = randInt(r, 1, 5);
      const N = randInt(r, 1, 40);
      const spatial = r() < 0.3;
      const chain = randomChain(r, C, spatial);
      // MAC outputs: float32 values, some exactly on quantizer ties, some huge, zeros of both signs.
      const x = new Float32Array(N * C);
      for (let i = 0; i < x.length; i++) {
        const u = r();
        x[i] = u < 0.1 ? 0 : u < 0.15 ? -0 : u < 0.3 ? (randInt(r, -600, 600) + 0.5) * 0.0625 : u < 0.35 ? (r() - 0.5) * 1e6 : (r() - 0.5) * 300;
      }
      const shape = spatial ? [N, C, 1, 1] : [N, C];
      const g = { ...emptyGraph('chain'), nodes: chain.nodes, initializers: chain.consts, inputs: [{ name: 'x', dtype: 'float32' as const, shape }], outputs: [{ name: chain.out, dtype: 'float32' as const }] };
      const want = Array.from(nums(runGraph(g, new Map([['x', makeTensor('float32', shape, x)]])).get(chain.out)!));
      // Both forms: one fused loop (the default) and one typed array per step.
      for (const fuse of [true, false]) {
        const f = compileChain(chain.nodes, 'x', (n) => chain.consts.get(n), C, spatial, 13, fuse);
        expect(f, chain.nodes.map((n) => n.op).join(' > ')).toBeDefined();
        compiled++;
        const ch = Int32Array.from({ length: N * C }, (_, j) => j % C);
        const got = Array.from(f!(x, ch));
        const bad = got.findIndex((v, j) => !Object.is(v, want[j]));
        expect(bad, `${fuse ? 'fused' : 'steps'} ${chain.nodes.map((n) => n.op).join(' > ')}: element ${bad}: ${got[bad]} vs ${want[bad]}`).toBe(-1);
        // Queries in any order (the lowering's layout): the same values per (channel, input).
        const perm = Array.from({ length: N * C }, (_, j) => j).sort(() => r() - 0.5);
        const got2 = f!(Float32Array.from(perm, (j) => x[j]), Int32Array.from(perm, (j) => ch[j]));
        expect(perm.every((j, i) => Object.is(got2[i], want[j]))).toBe(true);
      }
    }
    expect(compiled).toBe(800);
  });

  it('declines what it does not compile (the caller then runs the generic executor)', () => {
    const C = 2;
    const consts = new Map<string, Tensor>([['c', makeTensor('float32', [3, C], [1, 2, 3, 4, 5, 6])], ['s', makeTensor('float32', [], [0.5])]]);
    const get = (n: string) => consts.get(n);
    const node = (op: string, inputs: string[], attrs: Node['attrs'] = {}, domain = ''): Node => ({ name: op, op, domain, inputs, outputs: ['y'], attrs });
    expect(compileChain([node('Sigmoid', ['x'])], 'x', get, C, false, 13)).toBeUndefined();
    expect(compileChain([node('Add', ['x', 'c'])], 'x', get, C, false, 13)).toBeUndefined(); // would grow the tensor
    expect(compileChain([node('Add', ['x', 's'], { broadcast: { kind: 'int', v: 1 } })], 'x', get, C, false, 6)).toBeUndefined(); // legacy broadcasting
    expect(compileChain([node('QuantizeLinear', ['x', 's'], {}, 'com.example')], 'x', get, C, false, 13)).toBeUndefined();
    expect(compileChain([node('Add', ['x', 'x'])], 'x', get, C, false, 13)).toBeUndefined();
    expect(compileChain([node('Add', ['x', 's'])], 'x', get, C, false, 13)).toBeDefined();
    expect(compileChain([], 'x', get, C, false, 13)!(Float32Array.of(1.5, -2), Int32Array.of(0, 1))).toEqual(Float64Array.of(1.5, -2));
  });
});

/** Thresholds T[c][ℓ] of floor((acc·m + b) / 2^s) over levels (lo, hi], with `jitter` of them moved by ±1. */
function staircase(r: () => number, range: ChannelRange, lo: number, hi: number, jitter: number): number[] {
  const s = randInt(r, 0, 12);
  const m = randInt(r, 1, 2 ** (s + 2));
  const b = randInt(r, -(2 ** (s + 4)), 2 ** (s + 4));
  const T: number[] = [];
  for (let l = lo + 1; l <= hi; l++) {
    // smallest acc in range with floor((acc·m + b)/2^s) ≥ l (clamped output), hi + 1 if none
    let t = Math.ceil((l * 2 ** s - b) / m);
    t = Math.min(Math.max(t, range.lo), range.hi + 1);
    T.push(t);
  }
  for (let k = 0; k < jitter; k++) {
    const i = randInt(r, 0, T.length - 1);
    T[i] += r() < 0.5 ? -1 : 1;
  }
  // keep it non-decreasing (a monotone code function's thresholds)
  for (let i = 1; i < T.length; i++) T[i] = Math.max(T[i], T[i - 1]);
  return T.map((t) => Math.min(Math.max(t, range.lo), range.hi + 1));
}

describe('fitRequant infeasibility proofs', () => {
  it('give the same fit (or none) as the unproven search on 300 random staircases', () => {
    const r = rng(77);
    let fits = 0;
    let none = 0;
    for (let t = 0; t < 300; t++) {
      const C = randInt(r, 1, 4);
      const [lo, hi] = r() < 0.5 ? [0, randInt(r, 16, 40)] : [-randInt(r, 8, 20), randInt(r, 8, 20)];
      const ranges = Array.from({ length: C }, () => {
        const a = randInt(r, -3000, 0);
        return { lo: a, hi: a + randInt(r, 50, 4000) };
      });
      const jitter = r() < 0.5 ? 0 : randInt(r, 1, 3);
      const T = ranges.map((rg) => staircase(r, rg, lo, hi, jitter));
      const maxShift = randInt(r, 8, 40);
      const a = fitRequant(T, ranges, lo, hi, maxShift);
      const b = fitRequantUnproven(T, ranges, lo, hi, maxShift);
      expect(a).toEqual(b);
      if (a) fits++;
      else none++;
    }
    // Both outcomes are exercised.
    expect(fits).toBeGreaterThan(30);
    expect(none).toBeGreaterThan(30);
  });
});

describe('searchThresholds grouped by interval', () => {
  it('asks the same batches and returns the same thresholds as one bisection per (channel, level)', () => {
    const r = rng(5);
    for (let t = 0; t < 200; t++) {
      const C = randInt(r, 1, 6);
      const kMin = randInt(r, -20, 5);
      const kMax = kMin + randInt(r, 1, 40);
      const ranges = Array.from({ length: C }, () => {
        const lo = randInt(r, -5000, 100);
        return { lo, hi: lo + randInt(r, 0, 6000) };
      });
      const monotone = r() < 0.6;
      const table = new Map<string, number>();
      const slope = Array.from({ length: C }, () => r() * 0.05);
      const k = (c: number, a: number): number => {
        if (monotone) return Math.max(kMin - 2, Math.min(kMax + 2, Math.floor((a - ranges[c].lo) * slope[c]) + kMin - 1));
        const key = `${c},${a}`;
        if (!table.has(key)) table.set(key, r() < 0.05 ? NaN : randInt(r, kMin - 3, kMax + 3) + (r() < 0.1 ? 0.5 : 0));
        return table.get(key)!;
      };
      const batches: string[][] = [[], []];
      const f = (side: number) => (ch: Int32Array, acc: Float64Array) => {
        batches[side].push(`${Array.from(ch)}|${Array.from(acc)}`);
        return Float64Array.from(ch, (c, j) => k(c, acc[j]));
      };
      const a = searchThresholds(f(0), ranges, kMin, kMax);
      const b = searchThresholdsPerPair(f(1), ranges, kMin, kMax);
      expect(a).toEqual(b);
      expect(batches[0]).toEqual(batches[1]);
    }
  });
});
