// Weight sharing (Han et al. 2016, "Deep Compression"): per layer, the weights are clustered into
// k centroids (1-D k-means, linear initialization between min and max — the paper's best — then
// Lloyd iterations; deterministic) and each weight is replaced by its centroid. Zeros left by
// pruning stay exactly zero and are not clustered. In hardware: an index ROM plus a k-entry codebook.
import type { Graph } from '../ir/graph.ts';
import { checkInteger, getMatrix, setMatrix, weightLayers } from './layers.ts';

export interface KMeansResult { layer: string; centroids: number[] }

const MAX_ITERATIONS = 100;

/** 1-D k-means on values; returns the sorted centroids and each value's cluster. */
export function kmeans1d(values: Float64Array, k: number): { centroids: number[]; assign: Int32Array } {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  const kk = Math.min(k, values.length);
  let c = Array.from({ length: kk }, (_, i) => (kk === 1 ? (lo + hi) / 2 : lo + ((hi - lo) * i) / (kk - 1)));
  const assign = new Int32Array(values.length);
  for (let it = 0; it < MAX_ITERATIONS; it++) {
    // Centroids stay sorted, so the nearest one is found by a binary search on midpoints.
    const mids = c.slice(1).map((x, i) => (c[i] + x) / 2);
    const sum = new Float64Array(kk);
    const cnt = new Float64Array(kk);
    for (let i = 0; i < values.length; i++) {
      let a = 0;
      let b = mids.length;
      while (a < b) { const m = (a + b) >> 1; if (values[i] > mids[m]) a = m + 1; else b = m; }
      assign[i] = a;
      sum[a] += values[i];
      cnt[a]++;
    }
    const next = c.map((x, j) => (cnt[j] ? sum[j] / cnt[j] : x));
    const moved = next.some((x, j) => x !== c[j]);
    c = next;
    if (!moved) break;
  }
  return { centroids: c, assign };
}

/** Shares weights in every layer of g in place (k clusters per layer). */
export function shareWeights(g: Graph, k: number): KMeansResult[] {
  checkInteger('k-means clusters', k, 2, 65536);
  const out: KMeansResult[] = [];
  for (const l of weightLayers(g)) {
    const m = getMatrix(g, l);
    const idx: number[] = [];
    for (let i = 0; i < m.length; i++) if (m[i] !== 0) idx.push(i);
    const vals = Float64Array.from(idx, (i) => m[i]);
    const { centroids, assign } = kmeans1d(vals, k);
    // Centroids are stored as float32: round once so every weight equals its codebook entry.
    const c32 = centroids.map(Math.fround);
    idx.forEach((i, j) => (m[i] = c32[assign[j]]));
    setMatrix(g, l, m);
    out.push({ layer: l.node.name, centroids: c32 });
  }
  return out;
}
