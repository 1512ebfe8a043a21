// Unstructured magnitude pruning: the smallest-magnitude weights become exactly zero, either by one
// threshold over all layers ('global') or by the same ratio in each layer ('layer').
import type { Graph } from '../ir/graph.ts';
import { checkRange, getMatrix, setMatrix, weightLayers } from './layers.ts';

export interface PruneOptions {
  /** Fraction of weights set to zero, in [0, 1). */
  ratio: number;
  scope?: 'global' | 'layer';
}

/** The k-th smallest |value| (k ≥ 1) — everything at or below it is pruned. */
function kthMagnitude(values: Float64Array[], k: number): number {
  const all = new Float64Array(values.reduce((a, v) => a + v.length, 0));
  let o = 0;
  for (const v of values) for (const x of v) all[o++] = Math.abs(x);
  all.sort();
  return all[k - 1];
}

/** Prunes g in place; returns the number of weights set to zero. */
export function magnitudePrune(g: Graph, opts: PruneOptions): number {
  checkRange('pruning ratio', opts.ratio, 0, 1, true);
  const layers = weightLayers(g);
  const mats = layers.map((l) => getMatrix(g, l));
  const zeroBelow = (m: Float64Array, ratio: number, pool: Float64Array[]): number => {
    const total = pool.reduce((a, v) => a + v.length, 0);
    const k = Math.floor(ratio * total);
    if (k === 0) return 0;
    const t = kthMagnitude(pool, k);
    let n = 0;
    // Ties at the threshold are pruned too: pruning is deterministic, the ratio a lower bound.
    for (let i = 0; i < m.length; i++) if (Math.abs(m[i]) <= t && m[i] !== 0) { m[i] = 0; n++; }
    return n;
  };
  let pruned = 0;
  if ((opts.scope ?? 'global') === 'global') {
    const k = Math.floor(opts.ratio * mats.reduce((a, m) => a + m.length, 0));
    const t = k > 0 ? kthMagnitude(mats, k) : -1;
    for (const m of mats) for (let i = 0; i < m.length; i++) if (Math.abs(m[i]) <= t && m[i] !== 0) { m[i] = 0; pruned++; }
  } else {
    for (const m of mats) pruned += zeroBelow(m, opts.ratio, [m]);
  }
  layers.forEach((l, i) => setMatrix(g, l, mats[i]));
  return pruned;
}
