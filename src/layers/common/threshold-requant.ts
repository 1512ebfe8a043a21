// The Threshold layer's 'requant' form (hw/threshold/threshold_requant.v): the threshold count
// n(x) = #{ i : x ≥ T[c][i] } of a channel whose thresholds are nearly evenly spaced (a QDQ float32
// chain with a non-power-of-two scale) as a fixed-point requantization plus a short exception list:
//   x < first[c] → 0;  x ≥ last[c] → steps;  x in exceptions[c] → its n;  else ⌊(x·M[c] + B[c]) / 2^shift⌋
// with first/last the channel's lowest and highest threshold (the stacks of thresholds the lowering
// puts at a range's ends are these guards, not the linear part). Exact on every input by
// construction: q(x) ≠ n(x) only where some level ℓ ∈ [0, steps + 1] separates them, i.e. x lies
// between T_ℓ and the requantization's own threshold T'_ℓ; every such x is listed.
// Shared by the layer (RTL parameters) and its cost form.
import { type QType } from '../../ir/datatype.ts';
import { clampedThresholds } from './threshold-search.ts';

/** At most this many exceptions per channel: beyond, the form is not offered (the others are cheaper). */
export const MAX_EXCEPTIONS = 16;

export interface RequantForm {
  shift: number;
  mul: number[];
  bias: number[];
  first: number[]; // per channel: below, n = 0
  last: number[]; // per channel: from here, n = steps
  exceptions: { acc: number; n: number }[][]; // per channel, ascending acc
  maxExceptions: number;
  tw: number; // compare width (clampedThresholds)
}

const cache = new Map<string, RequantForm | string>();

/** The requant form of these thresholds, or why there is none (a sentence for the refusal). */
export function requantForm(inType: QType, channels: number, steps: number, thresholds: readonly number[]): RequantForm | string {
  const key = `${JSON.stringify(inType)}|${channels}|${steps}|${thresholds.join(',')}`;
  let v = cache.get(key);
  if (v === undefined) {
    v = buildForm(inType, channels, steps, thresholds);
    if (cache.size > 64) cache.clear();
    cache.set(key, v);
  }
  return v;
}

interface ChannelFit { m: number; b: number; exceptions: { acc: number; n: number }[] }

function buildForm(inType: QType, channels: number, steps: number, thresholds: readonly number[]): RequantForm | string {
  const { t, tw } = clampedThresholds(inType, thresholds);
  const chT = Array.from({ length: channels }, (_, c) => t.slice(c * steps, (c + 1) * steps));
  // The slope of each channel (levels per accumulator step) by least squares over its interior thresholds.
  // Two estimates: from the crossings alone, and with the stacks (better for channels with few crossings).
  const slopes = chT.map((T) => [slopeOf(T, false), slopeOf(T, true)]);
  // Per channel, its own shift: enough bits that M changes the far end's thresholds by under one step
  // per unit, plus headroom for the float chain's rounding (candidates in order while they help); then
  // every channel is scaled to the largest (M·2^d, B·2^d at shift s + d is the same function).
  const fits: (ChannelFit & { shift: number })[] = [];
  for (let c = 0; c < channels; c++) {
    const T = chT[c];
    const span = T[steps - 1] - T[0];
    let need = 0;
    for (const a of slopes[c]) if (a > 0 && span > 0) need = Math.max(need, Math.ceil(Math.log2(span / a)));
    let best: (ChannelFit & { shift: number }) | undefined;
    let why = '';
    for (const extra of [3, 5, 7, 9]) {
      const shift = need + extra;
      const [f0, f1] = slopes[c].map((a) => fitChannel(T, steps, a, shift));
      const f = typeof f0 === 'string' || (typeof f1 !== 'string' && f1.exceptions.length < f0.exceptions.length) ? f1 : f0;
      if (typeof f === 'string') {
        why = f;
        continue;
      }
      if (best && f.exceptions.length >= best.exceptions.length) break; // more bits stopped helping
      best = { ...f, shift };
      if (best.exceptions.length === 0) break;
    }
    if (!best) return `channel ${c}: ${why}`;
    fits.push(best);
  }
  const shift = Math.max(...fits.map((f) => f.shift));
  const mul = fits.map((f) => f.m * 2 ** (shift - f.shift));
  const bias = fits.map((f) => f.b * 2 ** (shift - f.shift));
  const x0 = Math.max(...t.map(Math.abs));
  const top = Math.max(...mul.map((m, c) => x0 * m + Math.abs(bias[c])));
  if (top + 2 ** shift > 2 ** 52) return `x·M + B would reach 2^52 at the channels' common shift ${shift}`;
  return {
    shift,
    mul,
    bias,
    first: chT.map((T) => T[0]),
    last: chT.map((T) => T[steps - 1]),
    exceptions: fits.map((f) => f.exceptions),
    maxExceptions: Math.max(...fits.map((f) => f.exceptions.length)),
    tw,
  };
}

function slopeOf(T: number[], withStacks: boolean): number {
  const first = T[0];
  const last = T[T.length - 1];
  // The line's crossings: (T_ℓ, ℓ) at each threshold value held by one level. A stack of equal thresholds
  // is not a crossing (at a range's end: levels passed below it or never reached), unless nothing else is.
  const pts: [number, number][] = [];
  const stacks: [number, number][] = [];
  T.forEach((v, i) => {
    if (T[i - 1] === v) return;
    // The ends are the guards and may be clamped (the range's lo or hi + 1): fallbacks, like stacks.
    if (T[i + 1] === v || v === first || v === last) stacks.push([v, v === first ? T.lastIndexOf(v) + 1 : i + 1]);
    else pts.push([v, i + 1]);
  });
  if (withStacks || pts.length < 2) pts.push(...stacks);
  if (pts.length < 2) return 0;
  const mx = pts.reduce((s, p) => s + p[0], 0) / pts.length;
  const my = pts.reduce((s, p) => s + p[1], 0) / pts.length;
  let sxy = 0;
  let sxx = 0;
  for (const [x, y] of pts) {
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) ** 2;
  }
  return sxx > 0 ? Math.max(0, sxy / sxx) : 0;
}

/** The count n(x) of one channel's ascending thresholds. */
function countOf(T: number[], x: number): number {
  let lo = 0;
  let hi = T.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (x >= T[mid]) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** ⌊(x·m + b) / 2^shift⌋, exact (the operands are checked to stay below 2^52). */
export const requantCount = (x: number, m: number, b: number, shift: number): number => Math.floor((x * m + b) / 2 ** shift);

/** The n the form gives channel c at x (the RTL's function; tests compare it with the thresholds). */
export function requantFormCount(f: RequantForm, steps: number, c: number, x: number): number {
  if (x >= f.last[c]) return steps;
  if (x < f.first[c]) return 0;
  const e = f.exceptions[c].find((q) => q.acc === x);
  return e ? e.n : requantCount(x, f.mul[c], f.bias[c], f.shift);
}

/**
 * (M, B) for one channel at this shift with the fewest levels wrong (M near the least-squares slope,
 * B by interval stabbing: level ℓ is right for B in one interval), then its exceptions, exactly.
 */
function fitChannel(T: number[], steps: number, slope: number, shift: number): ChannelFit | string {
  const first = T[0];
  const last = T[steps - 1];
  const one = 2 ** shift;
  if (first >= last) return { m: 0, b: 0, exceptions: [] }; // the guards decide every input
  const x0 = Math.max(Math.abs(first), Math.abs(last));
  const m0 = Math.round(slope * one);
  // The slope's least-squares error in units of M (≈ M / span) bounds how far to look.
  const reach = Math.min(256, Math.ceil((4 * m0) / (last - first)) + 8);
  let best: ChannelFit | undefined;
  const levels = steps + 2; // ℓ = 0 … steps + 1
  const los = new Float64Array(levels);
  const his = new Float64Array(levels);
  // M from the least-squares value outwards; the search stops `patience` steps past the best so far.
  const patience = 24;
  let since = 0;
  for (let k = 0; k <= 2 * reach && since < patience; k++) {
    const m = m0 + (k % 2 === 0 ? k / 2 : -(k + 1) / 2);
    if (m < 0) continue;
    since++;
    if (2 * x0 * m + (steps + 2) * one > 2 ** 52) return `x·M + B would reach 2^52 at shift ${shift}`;
    // Level ℓ is right for B in [lo, hi]: q(T_ℓ) ≥ ℓ (T_ℓ in the domain [first, last − 1]) and q(T_ℓ − 1) ≤ ℓ − 1.
    let count = 0;
    for (let l = 0; l < levels; l++) {
      const at = l === 0 ? -Infinity : l === steps + 1 ? Infinity : T[l - 1];
      const ge = Math.max(at, first);
      const le = Math.min(at - 1, last - 1);
      const lo = ge <= last - 1 ? l * one - ge * m : -Infinity;
      const hi = le >= first ? l * one - 1 - le * m : Infinity;
      if (lo <= hi) {
        los[count] = lo;
        his[count++] = hi;
      }
    }
    // The B inside the most intervals: at some interval's start; sweep both sorted ends.
    const sl = los.subarray(0, count).sort();
    const sh = his.subarray(0, count).sort();
    let top = -1;
    let b = 0;
    for (let i = 0, j = 0; i < count; i++) {
      while (j < count && sh[j] < sl[i]) j++;
      if (i + 1 - j > top) {
        top = i + 1 - j;
        b = sl[i];
      }
    }
    if (!Number.isFinite(b)) b = Number.isFinite(sh[0]) ? sh[0] : 0;
    if (best && levels - top > best.exceptions.length) continue; // each wrong level costs ≥ 1 exception
    const exceptions = exceptionsOf(T, first, last, m, b, shift, best ? best.exceptions.length : MAX_EXCEPTIONS + 1);
    if (exceptions && (!best || exceptions.length < best.exceptions.length)) {
      best = { m, b, exceptions };
      since = 0;
    }
    if (best && best.exceptions.length === 0) break;
  }
  return best ?? `more than ${MAX_EXCEPTIONS} exceptions in a channel`;
}

/** Every x in [first, last − 1] where the requantization differs from the count, or undefined past `limit`. */
function exceptionsOf(T: number[], first: number, last: number, m: number, b: number, shift: number, limit: number): { acc: number; n: number }[] | undefined {
  const one = 2 ** shift;
  const steps = T.length;
  const found = new Map<number, number>();
  for (let l = 0; l <= steps + 1; l++) {
    const at = l === 0 ? first : l === steps + 1 ? last : Math.min(Math.max(T[l - 1], first), last);
    // The requantization's threshold for level ℓ: the least x with x·m + b ≥ ℓ·2^s.
    let own = m === 0 ? (b >= l * one ? -Infinity : Infinity) : Math.ceil((l * one - b) / m);
    own = Math.min(Math.max(own, first), last);
    // ± 1 around the float quotient's ceiling (the check below is exact).
    const from = Math.max(first, Math.min(at, own) - 1);
    const to = Math.min(last, Math.max(at, own) + 1);
    if (to - from > 4 * limit + 2) return undefined;
    for (let x = from; x < to; x++) {
      if (found.has(x)) continue;
      const n = countOf(T, x);
      if (requantCount(x, m, b, shift) === n) continue;
      found.set(x, n);
      if (found.size >= limit) return undefined;
    }
  }
  const out = [...found].map(([acc, n]) => ({ acc, n })).sort((p, q) => p.acc - q.acc);
  return out;
}
