// Exact integer activation functions from a monotone per-channel function of the accumulator.
// The function k(c, acc) (output code of channel c for accumulator value acc) is only ever
// evaluated, never modelled algebraically, so thresholds match the float computation bit for bit.
// Batches of (channel, acc) queries go to one `evaluate` call (one executor run per search step).

/** Evaluates the code for every query: acc[j] on channel ch[j]. */
export type CodeFunction = (ch: Int32Array, acc: Float64Array) => Float64Array;

export interface ChannelRange {
  lo: number; // smallest accumulator value the channel can take
  hi: number; // largest
}

/**
 * For every channel c and level ℓ in (kMin, kMax]: the smallest accumulator in [lo_c, hi_c] whose
 * code is ≥ ℓ (lo_c if already there at lo_c, hi_c + 1 if never). k must be non-decreasing in acc.
 * Returns T[c][ℓ - kMin - 1]. Vectorised bisection: every (channel, level) pair at once.
 */
export function searchThresholds(f: CodeFunction, ranges: ChannelRange[], kMin: number, kMax: number): number[][] {
  if (!Number.isInteger(kMin) || !Number.isInteger(kMax)) return searchThresholdsPerPair(f, ranges, kMin, kMax);
  const C = ranges.length;
  const L = Math.max(0, kMax - kMin);
  const T = new Float64Array(C * L);
  // The (channel, level) pairs whose intervals are equal form a group: a channel's contiguous run of
  // levels [l0, l1) with one interval [lo, hi]. A group asks its midpoint once and splits where the
  // answer k stands: levels ≤ k keep [lo, mid], the others get [mid + 1, hi]. Every level sees the
  // queries and decisions it would see alone (searchThresholdsPerPair), and each round asks the same
  // queries in the same order (there, equal intervals are neighbours and ask once), in fewer steps.
  let gc = new Int32Array(C);
  let g0 = new Int32Array(C);
  let g1 = new Int32Array(C);
  let glo = new Float64Array(C);
  let ghi = new Float64Array(C);
  let count = 0;
  const close = (c: number, l0: number, l1: number, v: number) => T.fill(v, c * L + l0, c * L + l1);
  for (let c = 0; c < C && L > 0; c++) {
    const lo = ranges[c].lo;
    const hi = ranges[c].hi + 1; // "never reached" sentinel: the answer lies in [lo, hi]
    if (lo < hi) {
      gc[count] = c;
      g0[count] = 0;
      g1[count] = L;
      glo[count] = lo;
      ghi[count++] = hi;
    } else close(c, 0, L, lo);
  }
  while (count > 0) {
    const qc = gc.subarray(0, count);
    const qa = new Float64Array(count);
    for (let i = 0; i < count; i++) qa[i] = Math.floor((glo[i] + ghi[i]) / 2);
    const k = f(qc, qa);
    // At most two groups out of each.
    const nc = new Int32Array(2 * count);
    const n0 = new Int32Array(2 * count);
    const n1 = new Int32Array(2 * count);
    const nlo = new Float64Array(2 * count);
    const nhi = new Float64Array(2 * count);
    let next = 0;
    for (let i = 0; i < count; i++) {
      const c = gc[i];
      const l0 = g0[i];
      const l1 = g1[i];
      const mid = qa[i];
      const kk = k[i];
      // Levels kMin + 1 + l ≤ kk (k ≥ level): l < ⌊kk⌋ − kMin; none when kk is below (or NaN).
      const split = kk >= kMin + 1 + l0 ? Math.min(l1, Math.floor(kk) - kMin) : l0;
      if (split > l0) {
        if (glo[i] < mid) {
          nc[next] = c; n0[next] = l0; n1[next] = split; nlo[next] = glo[i]; nhi[next++] = mid;
        } else close(c, l0, split, glo[i]);
      }
      if (split < l1) {
        if (mid + 1 < ghi[i]) {
          nc[next] = c; n0[next] = split; n1[next] = l1; nlo[next] = mid + 1; nhi[next++] = ghi[i];
        } else close(c, split, l1, mid + 1);
      }
    }
    [gc, g0, g1, glo, ghi, count] = [nc, n0, n1, nlo, nhi, next];
  }
  const out: number[][] = [];
  for (let c = 0; c < C; c++) out.push(Array.from(T.subarray(c * L, (c + 1) * L)));
  return out;
}

/** searchThresholds as one bisection per (channel, level) pair: the reference the grouped search equals (tests), and non-integer level bounds. */
export function searchThresholdsPerPair(f: CodeFunction, ranges: ChannelRange[], kMin: number, kMax: number): number[][] {
  const C = ranges.length;
  const L = kMax - kMin;
  const n = C * L;
  const ch = new Int32Array(n);
  const level = new Float64Array(n);
  const lo = new Float64Array(n);
  const hi = new Float64Array(n);
  for (let c = 0; c < C; c++) {
    for (let l = 0; l < L; l++) {
      const j = c * L + l;
      ch[j] = c;
      level[j] = kMin + 1 + l;
      lo[j] = ranges[c].lo;
      hi[j] = ranges[c].hi + 1; // "never reached" sentinel: the answer lies in [lo, hi]
    }
  }
  // The open pairs, compacted each round (typed arrays: this loop runs ~log2(range) times over C·L
  // pairs). Neighbouring levels often share an interval, hence a midpoint: such a query is asked once.
  const open = new Int32Array(n);
  let count = 0;
  for (let j = 0; j < n; j++) if (lo[j] < hi[j]) open[count++] = j;
  const query = new Int32Array(n); // pair → its query
  while (count > 0) {
    const qc = new Int32Array(count);
    const qa = new Float64Array(count);
    let q = 0;
    for (let i = 0; i < count; i++) {
      const j = open[i];
      const mid = Math.floor((lo[j] + hi[j]) / 2);
      if (q === 0 || qc[q - 1] !== ch[j] || qa[q - 1] !== mid) {
        qc[q] = ch[j];
        qa[q++] = mid;
      }
      query[i] = q - 1;
    }
    const k = f(qc.subarray(0, q), qa.subarray(0, q));
    let still = 0;
    for (let i = 0; i < count; i++) {
      const j = open[i];
      const a = qa[query[i]];
      if (k[query[i]] >= level[j]) hi[j] = a;
      else lo[j] = a + 1;
      if (lo[j] < hi[j]) open[still++] = j;
    }
    count = still;
  }
  const T: number[][] = [];
  for (let c = 0; c < C; c++) T.push(Array.from(lo.subarray(c * L, (c + 1) * L)));
  return T;
}

/** Codes reached by channel c over its whole range, given its thresholds over levels (kMin, kMax]. */
export function reachedCodes(T: number[], range: ChannelRange, kMin: number): number[] {
  const out: number[] = [];
  for (let l = 0; l <= T.length; l++) {
    const from = Math.max(l === 0 ? -Infinity : T[l - 1], range.lo);
    const to = Math.min(l === T.length ? Infinity : T[l] - 1, range.hi);
    if (from <= to) out.push(kMin + l);
  }
  return out;
}

/** The step of an ascending arithmetic progression, or undefined (a single value has step 1). */
export function progressionStep(values: number[]): number | undefined {
  if (values.length < 2) return 1;
  const d = values[1] - values[0];
  return values.every((v, i) => i === 0 || v - values[i - 1] === d) ? d : undefined;
}
