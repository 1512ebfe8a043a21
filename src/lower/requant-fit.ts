// The Requant fit: per-channel (M, B), one shift and one rounding so that the Requant layer
// (requantValue, defined beside it) equals a threshold function exactly on every accumulator value
// in range. The thresholds come from searchThresholds (./thresholds.ts).
import type { RequantRound } from '../layers/common/requant-value.ts';
import type { ChannelRange } from './thresholds.ts';

export interface RequantFit {
  mul: number[];
  add: number[];
  shift: number;
  round: RequantRound;
}

/**
 * The smallest integer N = x·M + B whose rounded quotient R(N / 2^shift) is ≥ level: level·2^s for
 * floor; for half-even (s ≥ 1) level·2^s − 2^(s−1), + 1 when level is odd (the tie at level − ½ goes to
 * the even neighbour level − 1). So q ≥ level ⟺ N ≥ levelStart(level), and the fit's constraints stay
 * linear in B for both modes.
 */
export function levelStart(level: number, shift: number, round: RequantRound): number {
  const one = 2 ** shift;
  if (round === 'floor' || shift === 0) return level * one;
  return level * one - one / 2 + (Math.abs(level) % 2);
}

/**
 * Find per-channel (M, B), one shift and one rounding mode so that the Requant output equals the
 * threshold function exactly on every accumulator value in range. T[c] holds, for levels
 * ℓ = outLo+1 … outHi, the smallest accumulator with code ≥ ℓ (as from searchThresholds with
 * kMin = outLo, kMax = outHi). Floor is tried first at every shift; half-even only when no floor fit
 * exists (round-half-even quantizers with reachable exact ties, e.g. power-of-two scales, have none).
 *
 * Why checking the thresholds suffices: with M ≥ 0 the Requant output q is non-decreasing in acc (for
 * both roundings), and so is the threshold count. If for every level ℓ, q(T_ℓ) ≥ ℓ and q(T_ℓ − 1) ≤ ℓ − 1
 * (points inside the range only), then on [T_ℓ, T_ℓ+1 − 1] both functions equal ℓ. With
 * S(ℓ) = levelStart(ℓ), q(x) ≥ ℓ ⟺ x·M + B ≥ S(ℓ): the constraints are linear in B for fixed M, so
 * B's feasible set is an interval computed exactly in integers.
 */
export function fitRequant(T: number[][], ranges: ChannelRange[], outLo: number, outHi: number, maxShift = 40, rounds: RequantRound[] = ['floor', 'half-even']): RequantFit | undefined {
  for (const round of rounds) {
    const fit = fitRequantMode(T, ranges, outLo, maxShift, round, true);
    if (fit) return fit;
  }
  return undefined;
}

/** fitRequant without the infeasibility proofs (noFit): every channel goes through fitChannel. For tests: same results, slower. */
export function fitRequantUnproven(T: number[][], ranges: ChannelRange[], outLo: number, outHi: number, maxShift = 40, rounds: RequantRound[] = ['floor', 'half-even']): RequantFit | undefined {
  for (const round of rounds) {
    const fit = fitRequantMode(T, ranges, outLo, maxShift, round, false);
    if (fit) return fit;
  }
  return undefined;
}

function fitRequantMode(T: number[][], ranges: ChannelRange[], outLo: number, maxShift: number, round: RequantRound, prove: boolean): RequantFit | undefined {
  const C = T.length;
  const constraints: Constraints[] = []; // per channel, built on first use (they do not depend on the shift)
  // A shift fits when every channel fits, in any order (the result does not depend on it): the
  // channel that failed the last shift is tried first (it usually fails again, which settles the
  // shift after one channel, not C).
  let hardest = 0;
  const proofs: (Proof | undefined)[] = new Array(C); // per channel, the last infeasibility proof found
  // A channel that fitted at a smaller shift usually fits again: no proof is sought for it (a proof
  // only saves time; fitChannel decides either way).
  const fitted = new Uint8Array(C);
  for (let shift = round === 'floor' ? 0 : 1; shift <= maxShift; shift++) {
    // The shift fails when any channel fails: first the proofs found so far (cheap), for every channel.
    if (prove) {
      let failed = -1;
      for (let c = 0; c < C && failed < 0; c++) if (proofs[c] && proofHolds(constraints[c], ranges[c], shift, round, proofs[c]!)) failed = c;
      if (failed >= 0) {
        hardest = failed;
        continue;
      }
    }
    const mul: number[] = new Array(C);
    const add: number[] = new Array(C);
    let ok = true;
    for (let i = 0; i < C && ok; i++) {
      const c = i === 0 ? hardest : i <= hardest ? i - 1 : i;
      const cs = (constraints[c] ??= channelConstraints(T[c], ranges[c], outLo));
      // A channel with no (M ≥ 0, B) at all, not even real, fails fitChannel too (see noFit): skip it.
      const proof = prove && !fitted[c] ? noFit(cs, ranges[c], shift, round, proofs[c]) : undefined;
      if (proof) proofs[c] = proof;
      const fit = proof ? undefined : fitChannel(cs, T[c].length, ranges[c], outLo, shift, round);
      if (!fit) {
        ok = false;
        hardest = c;
      } else {
        mul[c] = fit[0];
        add[c] = fit[1];
        fitted[c] = 1;
      }
    }
    if (ok) return { mul, add, shift, round };
  }
  return undefined;
}

/** q(geAt[i]) ≥ geLevel[i] and q(leAt[i]) ≤ leLevel[i] − 1, as parallel arrays (fitChannel's inner loops). */
interface Constraints { geAt: Float64Array; geLevel: Float64Array; leAt: Float64Array; leLevel: Float64Array }

function channelConstraints(T: number[], r: ChannelRange, outLo: number): Constraints {
  const geAt: number[] = [];
  const geLevel: number[] = [];
  const leAt: number[] = [];
  const leLevel: number[] = [];
  T.forEach((t, i) => {
    const level = outLo + 1 + i;
    if (t <= r.hi) {
      geAt.push(Math.max(t, r.lo));
      geLevel.push(level);
    }
    if (t - 1 >= r.lo) {
      leAt.push(Math.min(t - 1, r.hi));
      leLevel.push(level);
    }
  });
  return { geAt: Float64Array.from(geAt), geLevel: Float64Array.from(geLevel), leAt: Float64Array.from(leAt), leLevel: Float64Array.from(leLevel) };
}

/**
 * Why a channel cannot fit: a pair of constraints, ge[i] and le[j], gives (leAt[j] − geAt[i])·M ≤
 * S(leLevel[j]) − 1 − S(geLevel[i]) (B eliminated). A proof is one such pair with no M ≥ 0 (upper
 * bound below 0, or 0·M ≤ negative), or an upper-bound pair and a lower-bound pair with no integer
 * between them (fitChannel's m is an integer). ui = −1 stands for fitChannel's size limit M ≤ 2^52 / X.
 */
interface Proof { ui: number; uj: number; li: number; lj: number }

/**
 * A proof that no integer M in [0, 2^52 / X] and real B meet the channel's constraints at this shift
 * and rounding (the previous proof's pairs when they still hold, else the tightest bounds over every
 * pair), or undefined. Exact: the pairs are found in float64 and checked in BigInt. fitChannel returns
 * undefined whenever a proof exists: it only returns an integer m ≥ 0 with X·m ≤ 2^52 (its size check)
 * and bInterval(m) = [bLo, bHi] non-empty, where bInterval's float64 arithmetic is exact (|x·m| ≤ 2^52
 * for every x in range), so (m, bLo) would meet every constraint. Skipping it changes nothing but
 * the time (fitRequant's results are the same).
 */
function noFit(cs: Constraints, r: ChannelRange, shift: number, round: RequantRound, last: Proof | undefined): Proof | undefined {
  const { geAt, leAt } = cs;
  if (geAt.length === 0 || leAt.length === 0) return undefined;
  // fitChannel also needs X·m ≤ 2^52 (X = the largest |accumulator|): M ≤ 2^52 / X, the upper bound
  // of a proof with ui = −1.
  const X = Math.max(Math.abs(r.lo), Math.abs(r.hi));
  // Pair (i, j): d·M ≤ n with d = leAt[j] − geAt[i], n = leS(j) − geS(i) (integers).
  const geS = (i: number) => levelStart(cs.geLevel[i], shift, round);
  const leS = (j: number) => levelStart(cs.leLevel[j], shift, round) - 1;
  const holds = (p: Proof): boolean => proofHolds(cs, r, shift, round, p);
  if (last && holds(last)) return last;
  // The tightest bounds usually come from nearby levels (both lists are in level order): pairs
  // within a band first, then every pair.
  return tightest(12) ?? tightest(Infinity);

  function tightest(band: number): Proof | undefined {
    const geSs = new Float64Array(geAt.length);
    const leSs = new Float64Array(leAt.length);
    for (let i = 0; i < geAt.length; i++) geSs[i] = geS(i);
    for (let j = 0; j < leAt.length; j++) leSs[j] = leS(j);
    let upper = X > 0 ? 2 ** 52 / X : Infinity;
    let lower = -Infinity;
    const p: Proof = { ui: -1, uj: -1, li: -1, lj: -1 };
    for (let i = 0; i < geAt.length; i++) {
      const a = geAt[i];
      const s = geSs[i];
      const jEnd = Math.min(leAt.length, i + band + 1);
      for (let j = Math.max(0, i - band); j < jEnd; j++) {
        const d = leAt[j] - a;
        const n = leSs[j] - s;
        if (d > 0) {
          const u = n / d;
          if (u < upper) {
            upper = u;
            p.ui = i;
            p.uj = j;
          }
        } else if (d < 0) {
          const l = n / d;
          if (l > lower) {
            lower = l;
            p.li = i;
            p.lj = j;
          }
        } else if (n < 0) {
          const q = { ui: i, uj: j, li: -1, lj: -1 };
          if (holds(q)) return q;
        }
      }
    }
    if (p.ui < 0 && X === 0) return undefined;
    if (upper < 0) {
      const q = { ...p, li: -1, lj: -1 };
      if (holds(q)) return q;
    }
    return p.li >= 0 && Math.floor(upper) < lower && holds(p) ? p : undefined;
  }
}

/** Whether proof p holds for the channel at this shift and rounding (BigInt arithmetic, exact). */
function proofHolds(cs: Constraints, r: ChannelRange, shift: number, round: RequantRound, p: Proof): boolean {
  const big = (x: number): bigint => {
    if (!Number.isSafeInteger(x)) throw new RangeError('not exact');
    return BigInt(x);
  };
  const geS = (i: number) => levelStart(cs.geLevel[i], shift, round);
  const leS = (j: number) => levelStart(cs.leLevel[j], shift, round) - 1;
  try {
    const dU = p.ui < 0 ? big(Math.max(Math.abs(r.lo), Math.abs(r.hi))) : big(cs.leAt[p.uj]) - big(cs.geAt[p.ui]);
    const nU = p.ui < 0 ? 2n ** 52n : big(leS(p.uj)) - big(geS(p.ui));
    if (dU >= 0n && nU < 0n) return true; // 0·M ≤ n < 0, or M ≤ n/d < 0
    if (p.li < 0 || dU <= 0n) return false;
    const dL = big(cs.leAt[p.lj]) - big(cs.geAt[p.li]);
    const nL = big(leS(p.lj)) - big(geS(p.li));
    if (dL >= 0n) return false;
    // M ≥ nL/dL = (−nL)/(−dL) and M ≤ nU/dU (≥ 0 here), and m is an integer: none when k = ⌊nU/dU⌋ < (−nL)/(−dL).
    const k = nU / dU;
    return k * -dL < -nL;
  } catch {
    return false; // a value beyond 2^53: no proof
  }
}

/** Feasible B interval [bLo, bHi] for a given M, exactly (integers). */
function bInterval(cs: Constraints, m: number, shift: number, round: RequantRound): [number, number] {
  let bLo = -Infinity;
  let bHi = Infinity;
  // atLeast: at·M + B ≥ S(level) ;  else: at·M + B ≤ S(level) − 1   (S = levelStart)
  for (let i = 0; i < cs.geAt.length; i++) bLo = Math.max(bLo, levelStart(cs.geLevel[i], shift, round) - cs.geAt[i] * m);
  for (let i = 0; i < cs.leAt.length; i++) bHi = Math.min(bHi, levelStart(cs.leLevel[i], shift, round) - 1 - cs.leAt[i] * m);
  return [bLo, bHi];
}

function fitChannel(cs: Constraints, levels: number, r: ChannelRange, outLo: number, shift: number, round: RequantRound): [number, number] | undefined {
  const one = 2 ** shift;
  if (cs.geAt.length + cs.leAt.length === 0) return [0, outLo * one];
  // Best real slope: maximise the width of the feasible intercept interval (a concave function), in
  // units of the output step: at·a + b ≥ S(level)/2^s and at·a + b ≤ (S(level) − 1)/2^s.
  const { geAt, leAt } = cs;
  const geLow = cs.geLevel.map((l) => levelStart(l, shift, round) / one);
  const leTop = cs.leLevel.map((l) => (levelStart(l, shift, round) - 1) / one);
  // width(a) = hi(a) − lo(a), evaluated at both probe slopes in one pass over the constraints.
  const widerAtSecond = (p: number, q: number): boolean => {
    let loP = -Infinity;
    let hiP = Infinity;
    let loQ = -Infinity;
    let hiQ = Infinity;
    for (let i = 0; i < geAt.length; i++) {
      loP = Math.max(loP, geLow[i] - geAt[i] * p);
      loQ = Math.max(loQ, geLow[i] - geAt[i] * q);
    }
    for (let i = 0; i < leAt.length; i++) {
      hiP = Math.min(hiP, leTop[i] - leAt[i] * p);
      hiQ = Math.min(hiQ, leTop[i] - leAt[i] * q);
    }
    return hiP - loP < hiQ - loQ;
  };
  let a0 = 0;
  let a1 = (outLo + levels + 1 - outLo) * 2; // slope can't exceed #levels per acc step
  for (let it = 0; it < 200; it++) {
    const m1 = a0 + (a1 - a0) / 3;
    const m2 = a1 - (a1 - a0) / 3;
    if (m1 === a0 && m2 === a1) break; // at float resolution: every further step changes nothing
    if (widerAtSecond(m1, m2)) a0 = m1;
    else a1 = m2;
  }
  const alpha = (a0 + a1) / 2;
  const m0 = Math.round(alpha * one);
  for (const m of [m0, m0 - 1, m0 + 1, m0 - 2, m0 + 2]) {
    if (m < 0) continue;
    const [bLo, bHi] = bInterval(cs, m, shift, round);
    if (bLo > bHi) continue;
    // Prefer the middle of the feasible interval; infinities come from one-sided constraints.
    const b = Number.isFinite(bLo) && Number.isFinite(bHi) ? Math.floor((bLo + bHi) / 2) : Number.isFinite(bLo) ? bLo : bHi;
    // The half-even RTL adds up to 2^(s−1) before the shift.
    const extreme = Math.max(Math.abs(r.lo), Math.abs(r.hi)) * m + Math.abs(b) + (round === 'half-even' ? one / 2 : 0);
    if (!Number.isSafeInteger(b) || extreme > 2 ** 52) return undefined;
    return [m, b];
  }
  return undefined;
}
