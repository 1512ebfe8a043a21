// The small numerical kernels: one-sided Jacobi SVD and 1-D k-means.
import { describe, expect, it } from 'vitest';
import { kmeans1d } from '../../src/compress/kmeans.ts';
import { svd } from '../../src/compress/lowrank.ts';

function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
}

describe('svd', () => {
  for (const [m, n] of [[7, 3], [3, 7], [12, 12], [64, 10]]) {
    it(`reconstructs a random ${m}×${n} matrix with orthonormal factors and sorted singular values`, () => {
      const r = random(m * 100 + n);
      const a = Float64Array.from({ length: m * n }, r);
      const { u, s, v, k } = svd(a, m, n);
      expect(k).toBe(Math.min(m, n));
      for (let i = 1; i < k; i++) expect(s[i]).toBeLessThanOrEqual(s[i - 1]);
      for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
        let x = 0;
        for (let t = 0; t < k; t++) x += u[i * k + t] * s[t] * v[j * k + t];
        expect(Math.abs(x - a[i * n + j])).toBeLessThan(1e-12);
      }
      for (const [f, rows] of [[u, m], [v, n]] as const) for (let p = 0; p < k; p++) for (let q = 0; q < k; q++) {
        let d = 0;
        for (let i = 0; i < rows; i++) d += f[i * k + p] * f[i * k + q];
        expect(Math.abs(d - (p === q ? 1 : 0))).toBeLessThan(1e-12);
      }
    });
  }

  it('finds the exact rank of a rank-2 matrix (third singular value ~0)', () => {
    const x = [1, 2, 3, 4, 5], y = [2, -1, 0.5, 3], p = [0, 1, -1, 2, 1], q = [1, 1, 1, -2];
    const a = Float64Array.from({ length: 20 }, (_, i) => x[Math.floor(i / 4)] * y[i % 4] + p[Math.floor(i / 4)] * q[i % 4]);
    const { s } = svd(a, 5, 4);
    expect(s[2]).toBeLessThan(1e-12);
    expect(s[1]).toBeGreaterThan(1);
  });
});

describe('kmeans1d', () => {
  it('recovers well-separated clusters deterministically, centroids sorted', () => {
    const vals = Float64Array.from([0.9, 1.1, 1.0, -2.1, -1.9, -2.0, 5.0, 5.2, 4.8]);
    const a = kmeans1d(vals, 3);
    const b = kmeans1d(vals, 3);
    expect(a.centroids.map((c) => Math.round(c * 1e9) / 1e9)).toEqual([-2, 1, 5]);
    expect(Array.from(a.assign)).toEqual(Array.from(b.assign));
    expect(Array.from(a.assign)).toEqual([1, 1, 1, 0, 0, 0, 2, 2, 2]);
  });
});
