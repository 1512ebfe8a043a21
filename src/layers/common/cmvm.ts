// Not a layer kind: the constant-matrix-vector multiplication (CMVM) optimizer of a fully unrolled
// MVU (hw form: a generated adder graph, ../cmvm-rtl.ts), read by the layer (../mvu.ts: its RTL and
// its latency) and its cost form (../cost/mvu-cmvm.ts).
//
// y = W·x with W constant: every weight becomes canonical signed digits (CSD, at most one of every
// two bits nonzero), so row r is a sum of terms ±(x_c << s). Then greedy pairwise common
// subexpression elimination over the whole matrix (the approach of da4ml): the pair of terms
// (a << sa) ± (b << sb) found most often (in any rows, up to a common shift) becomes one adder
// node, a new variable its occurrences use; repeat while a pair occurs twice. What is left of each
// row is summed by an adder tree that joins the two earliest-ready terms first.
//
// Every node is P ± (Q << d): its low d bits are P's (wires), its adder is only as wide as the rest.
// Widths come from each value's exact range (a value is Σ_c k_c·x_c; its range follows from the
// input range). Register stages: a node goes to the next stage when its path from the stage's
// registers would be deeper than maxLevels cells as Yosys's `ltp -noff` counts them after
// synth_xilinx (a bit of an adder is one LUT and its CARRY4; a carry crossing four bits one more
// CARRY4), so the cycle model, the RTL and the measured depth agree.
import { signedBits } from '../define.ts';

/**
 * Logic levels per register stage by default: ~200 MHz on 7-series -1 (5 ns: about a dozen LUT /
 * CARRY4 cells with their nets, the CARRY4 hops being the fast ones).
 */
export const DEFAULT_MAX_LOGIC_LEVELS = 12;

/** One adder: value = P + Q·2^shift (sub: P − Q·2^shift); p = -1 is a zero P (a negation). */
export interface CmvmNode {
  p: number;
  q: number;
  shift: number;
  sub: boolean;
}

/** A value of the graph: inputs 0..cols-1, then node k at cols + k. */
export interface CmvmValue {
  lo: number;
  hi: number;
  /** Two's complement bits holding [lo, hi]. */
  width: number;
  /** Register stage it is computed in (inputs: 0, from the input register). */
  stage: number;
}

/** Output row r = value << shift (value -1: the row is 0). */
export interface CmvmOutput {
  value: number;
  shift: number;
}

export interface CmvmGraph {
  cols: number;
  rows: number;
  values: CmvmValue[];
  nodes: CmvmNode[];
  outputs: CmvmOutput[];
  /** Register stages after the input register, the output register included (≥ 1). */
  stages: number;
  /** Deepest path (ltp cells) in any stage, by the model above. */
  depth: number;
  /** Adder bits (Σ over nodes of the adder's width): the LUT count on 7-series, one LUT a bit. */
  adderBits: number;
  /** Pipeline register bits between stages (not the input / output registers). */
  pipelineBits: number;
}

/** CSD digits of an integer: [shift, sign] pairs, no two adjacent shifts. */
export function csd(w: number): [number, number][] {
  const out: [number, number][] = [];
  let n = w;
  for (let s = 0; n !== 0; s++) {
    if (n % 2 !== 0) {
      // n mod 4 == 3 → digit -1 (so the next bit becomes a 0), else +1.
      const d = ((n % 4) + 4) % 4 === 3 ? -1 : 1;
      out.push([s, d]);
      n -= d;
    }
    n /= 2;
  }
  return out;
}

interface Term { v: number; s: number; g: number; alive: boolean }

// Pattern key: first (var a, shift ra), second (var b, shift rb), relative sign g of the second;
// min(ra, rb) = 0; (a, ra) < (b, rb). Packed in one safe integer (vars < 2^20, shifts < 2^6).
const SHIFTS = 64;
const VARS = 1 << 20;
function patternKey(a: number, ra: number, b: number, rb: number, g: number): number {
  return (((a * SHIFTS + ra) * VARS + b) * SHIFTS + rb) * 2 + (g > 0 ? 1 : 0);
}
function unpackKey(k: number): [number, number, number, number, number] {
  const g = k % 2 === 1 ? 1 : -1;
  let x = Math.floor(k / 2);
  const rb = x % SHIFTS; x = Math.floor(x / SHIFTS);
  const b = x % VARS; x = Math.floor(x / VARS);
  const ra = x % SHIFTS;
  const a = Math.floor(x / SHIFTS);
  return [a, ra, b, rb, g];
}
/** The pattern two terms of a row form, or -1 for a term with itself at the same shift. */
function pairKey(t1: Term, t2: Term): number {
  const [f, l] = t1.v < t2.v || (t1.v === t2.v && t1.s < t2.s) ? [t1, t2] : [t2, t1];
  if (f.v === l.v && f.s === l.s) return -1;
  const m = Math.min(f.s, l.s);
  return patternKey(f.v, f.s - m, l.v, l.s - m, f.g * l.g);
}

/** Patterns by count (a bucket per count): bump and take-the-most-frequent in O(1). */
class PatternCounts {
  private count = new Map<number, number>();
  private buckets: Set<number>[] = [];
  private max = 0;
  bump(k: number, by: number): void {
    if (k < 0) return;
    const old = this.count.get(k) ?? 0;
    const n = old + by;
    if (old > 0) this.buckets[old].delete(k);
    if (n > 0) {
      this.count.set(k, n);
      (this.buckets[n] ??= new Set()).add(k);
      if (n > this.max) this.max = n;
    } else this.count.delete(k);
  }
  get(k: number): number {
    return this.count.get(k) ?? 0;
  }
  /** A pattern seen at least twice, the most frequent (the first to reach that count), or -1. */
  best(): number {
    while (this.max >= 2 && !(this.buckets[this.max]?.size)) this.max--;
    if (this.max < 2) return -1;
    return this.buckets[this.max].values().next().value as number;
  }
}

interface Builder {
  cols: number;
  nodes: CmvmNode[];
  /** Σ_c k_c·x_c of every value (dense over the inputs). */
  coeffs: Float64Array[];
}

/** Adds node P ± (Q << shift) and returns its value index. */
function addNode(b: Builder, p: number, q: number, shift: number, sub: boolean): number {
  const k = new Float64Array(b.cols);
  const f = (sub ? -1 : 1) * 2 ** shift;
  const kq = b.coeffs[q];
  if (p >= 0) k.set(b.coeffs[p]);
  for (let c = 0; c < b.cols; c++) k[c] += f * kq[c];
  b.nodes.push({ p, q, shift, sub });
  b.coeffs.push(k);
  return b.cols + b.nodes.length - 1;
}

/**
 * Node for pattern (a << ra) + g·(b << rb), min(ra, rb) = 0, in the form P ± (Q << d) (P unshifted):
 * [value, sign] with value = sign·pattern.
 */
function patternNode(bld: Builder, a: number, ra: number, b: number, rb: number, g: number): [number, number] {
  if (ra === 0) return [addNode(bld, a, b, rb, g < 0), 1];
  // (a << ra) + b, or (a << ra) − b = −(b − (a << ra)).
  return [addNode(bld, b, a, ra, g < 0), g];
}

/** The CMVM adder graph of a rows×cols integer matrix for inputs in [xlo, xhi]. */
export function cmvmGraph(weights: readonly number[], rows: number, cols: number, xlo: number, xhi: number, maxLevels = DEFAULT_MAX_LOGIC_LEVELS): CmvmGraph {
  const bld: Builder = { cols, nodes: [], coeffs: [] };
  for (let c = 0; c < cols; c++) {
    const k = new Float64Array(cols);
    k[c] = 1;
    bld.coeffs.push(k);
  }
  // Rows as CSD terms.
  const rowTerms: Term[][] = [];
  for (let r = 0; r < rows; r++) {
    const terms: Term[] = [];
    for (let c = 0; c < cols; c++) for (const [s, g] of csd(weights[r * cols + c])) terms.push({ v: c, s, g, alive: true });
    rowTerms.push(terms);
  }

  // ---- greedy pairwise CSE ----
  const counts = new PatternCounts();
  const bump = (k: number, by: number) => counts.bump(k, by);
  for (const terms of rowTerms) {
    for (let i = 0; i < terms.length; i++) for (let j = i + 1; j < terms.length; j++) bump(pairKey(terms[i], terms[j]), 1);
  }
  // Rows holding a term of each variable (a superset: terms die, rows stay listed).
  const rowsOf: Set<number>[] = [];
  rowTerms.forEach((terms, r) => { for (const t of terms) (rowsOf[t.v] ??= new Set()).add(r); });
  const pairsWith = (terms: Term[], t: Term, by: number) => {
    for (const u of terms) if (u !== t && u.alive) bump(pairKey(t, u), by);
  };
  for (;;) {
    const key = counts.best();
    if (key < 0) break;
    const [a, ra, b, rb, g] = unpackKey(key);
    let node = -1;
    let sign = 1;
    for (const r of rowsOf[a] ?? []) {
      const terms = rowTerms[r];
      const at = new Map<number, Term>();
      const firsts: Term[] = [];
      for (const t of terms) {
        if (!t.alive) continue;
        at.set(t.v * SHIFTS + t.s, t);
        if (t.v === a) firsts.push(t);
      }
      for (const t1 of firsts) {
        if (!t1.alive || t1.v !== a || t1.s < ra) continue;
        const m = t1.s - ra;
        const t2 = at.get(b * SHIFTS + m + rb);
        if (!t2 || !t2.alive || t2 === t1 || t1.g * t2.g !== g) continue;
        if (node < 0) [node, sign] = patternNode(bld, a, ra, b, rb, g);
        pairsWith(terms, t1, -1);
        t1.alive = false;
        pairsWith(terms, t2, -1);
        t2.alive = false;
        const t: Term = { v: node, s: m, g: t1.g * sign, alive: true };
        pairsWith(terms, t, 1);
        terms.push(t);
        (rowsOf[node] ??= new Set()).add(r);
        at.set(t.v * SHIFTS + t.s, t);
      }
      if (terms.length > 2 * at.size) rowTerms[r] = terms.filter((t) => t.alive);
    }
    if (node < 0) counts.bump(key, -counts.get(key)); // (never expected: a counted pair is in a row)
  }

  // ---- what is left of each row: an adder tree, earliest-ready pair first ----
  // Levels here only order the joins (adders deep in the CSE nodes join last); stages come after.
  const level: number[] = new Array<number>(cols).fill(0);
  const levelOf = (v: number) => level[v];
  for (const nd of bld.nodes) level.push(Math.max(nd.p >= 0 ? levelOf(nd.p) : 0, levelOf(nd.q)) + 1);
  const outputs: CmvmOutput[] = [];
  for (const terms of rowTerms) {
    let live = terms.filter((t) => t.alive).map((t) => ({ ...t }));
    if (live.length === 0) {
      outputs.push({ value: -1, shift: 0 });
      continue;
    }
    while (live.length > 1) {
      live.sort((x, y) => levelOf(x.v) - levelOf(y.v) || x.v - y.v || x.s - y.s);
      const [x, y] = live;
      // Unshifted (relative) one is P; a negative P with a positive Q swaps the roles' signs.
      const [p, q] = x.s <= y.s ? [x, y] : [y, x];
      const m = p.s;
      let v: number;
      let g: number;
      if (p.g > 0 || q.g < 0) {
        v = addNode(bld, p.v, q.v, q.s - m, p.g !== q.g);
        g = p.g;
      } else {
        // −P + Q·2^d = −(P − Q·2^d)
        v = addNode(bld, p.v, q.v, q.s - m, true);
        g = -1;
      }
      level.push(Math.max(levelOf(p.v), levelOf(q.v)) + 1);
      live = [{ v, s: m, g, alive: true }, ...live.slice(2)];
    }
    let { v, s, g } = live[0];
    if (g < 0) {
      level.push(levelOf(v) + 1);
      v = addNode(bld, -1, v, 0, true);
    }
    outputs.push({ value: v, shift: s });
  }
  return schedule(bld, rows, outputs, xlo, xhi, maxLevels);
}

/** Exact ranges and widths, register stages (the ltp cell model) and the totals. */
function schedule(bld: Builder, rows: number, outputs: CmvmOutput[], xlo: number, xhi: number, maxLevels: number): CmvmGraph {
  const { cols, nodes, coeffs } = bld;
  const values: CmvmValue[] = coeffs.map((k) => {
    let lo = 0;
    let hi = 0;
    for (let c = 0; c < cols; c++) {
      lo += Math.min(k[c] * xlo, k[c] * xhi);
      hi += Math.max(k[c] * xlo, k[c] * xhi);
    }
    return { lo, hi, width: signedBits(lo, hi), stage: 0 };
  });
  // Cells from the stage's registers to each bit of each value.
  const arrival: number[][] = values.slice(0, cols).map((v) => new Array<number>(v.width).fill(0));
  const lastUse: number[] = new Array<number>(values.length).fill(0);
  let depth = 0;
  let adderBits = 0;
  const bitOf = (v: number, stage: number, bit: number) => {
    if (values[v].stage < stage) return 0; // from a pipeline register
    const a = arrival[v];
    return a[Math.min(bit, a.length - 1)];
  };
  nodes.forEach((nd, k) => {
    const id = cols + k;
    const val = values[id];
    const d = splitShift(nd, values, val.width);
    const addW = val.width - d;
    adderBits += addW;
    const arrive = (stage: number) => {
      const out: number[] = [];
      for (let i = 0; i < d; i++) out.push(bitOf(nd.p, stage, i));
      // Bit i of the adder: one LUT (inputs P bit d+i, Q bit i) then CARRY4s up to bit i's.
      let carry = 0;
      for (let i = 0; i < addW; i++) {
        const inBit = Math.max(nd.p >= 0 ? bitOf(nd.p, stage, d + i) : 0, i + d - nd.shift >= 0 ? bitOf(nd.q, stage, i + d - nd.shift) : 0) + 1;
        carry = i % 4 === 0 ? Math.max(carry + 1, inBit + 1) : Math.max(carry, inBit + 1);
        out.push(carry);
      }
      return out;
    };
    let stage = Math.max(nd.p >= 0 ? values[nd.p].stage : 0, values[nd.q].stage);
    let bits = arrive(stage);
    if (bits.some((b) => b > maxLevels)) bits = arrive(++stage);
    val.stage = stage;
    arrival.push(bits);
    for (const b of bits) depth = Math.max(depth, b);
    if (nd.p >= 0) lastUse[nd.p] = Math.max(lastUse[nd.p], stage);
    lastUse[nd.q] = Math.max(lastUse[nd.q], stage);
  });
  const last = Math.max(0, ...outputs.filter((o) => o.value >= 0).map((o) => values[o.value].stage));
  for (const o of outputs) if (o.value >= 0) lastUse[o.value] = last;
  let pipelineBits = 0;
  values.forEach((v, i) => { pipelineBits += Math.max(0, lastUse[i] - v.stage) * v.width; });
  return { cols, rows, values, nodes, outputs, stages: last + 1, depth, adderBits, pipelineBits };
}

/**
 * Low bits of a node that are P's bits as they are (the adder starts above them): its shift, when
 * P is a real operand wider than the shift and the node is wider still; else 0 (a full-width adder).
 */
export function splitShift(nd: CmvmNode, values: readonly CmvmValue[], width: number): number {
  if (nd.p < 0 || nd.shift === 0) return 0;
  return values[nd.p].width > nd.shift && width > nd.shift ? nd.shift : 0;
}

/** Exact value of every output for one input vector (the graph's own semantics, for tests). */
export function evalCmvm(g: CmvmGraph, x: readonly number[]): number[] {
  const v: number[] = [...x];
  for (const nd of g.nodes) v.push((nd.p >= 0 ? v[nd.p] : 0) + (nd.sub ? -1 : 1) * v[nd.q] * 2 ** nd.shift);
  return g.outputs.map((o) => (o.value < 0 ? 0 : v[o.value] * 2 ** o.shift));
}
