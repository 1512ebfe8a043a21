// Low-rank factorization (Denton et al. 2014; the survey's "low-rank" family): a fully-connected
// layer W (out × in) becomes W ≈ (U_r·√Σ_r)(√Σ_r·V_rᵀ), two layers with r·(out + in) weights instead
// of out·in; 1×1 convolutions likewise (two 1×1 convs). The SVD is one-sided Jacobi (Hestenes):
// short, and accurate to float64 rounding.
import { fail } from '../diag/index.ts';
import { attrInt, type Graph, type Node } from '../ir/graph.ts';
import { makeTensor } from '../ir/tensor.ts';
import { freshName, getMatrix, tidyAfterEdit, weightLayers, type WeightLayer } from './layers.ts';

export interface Svd { u: Float64Array; s: number[]; v: Float64Array; k: number }

/**
 * Thin SVD of the row-major m×n matrix a: a = u·diag(s)·vᵀ with u m×k, v n×k (row-major),
 * k = min(m, n), s descending.
 */
export function svd(a: Float64Array, m: number, n: number): Svd {
  // Orthogonalize the columns of b (p×q, q ≤ p): b = aᵀ when a is wide.
  const wide = n > m;
  const p = wide ? n : m;
  const q = wide ? m : n;
  const b = new Float64Array(p * q);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) b[wide ? j * q + i : i * q + j] = a[i * n + j];
  const v = new Float64Array(q * q);
  for (let i = 0; i < q; i++) v[i * q + i] = 1;
  for (let sweep = 0; sweep < 60; sweep++) {
    let rotated = false;
    for (let i = 0; i < q - 1; i++) {
      for (let j = i + 1; j < q; j++) {
        let alpha = 0, beta = 0, gamma = 0;
        for (let r = 0; r < p; r++) {
          const x = b[r * q + i], y = b[r * q + j];
          alpha += x * x; beta += y * y; gamma += x * y;
        }
        if (Math.abs(gamma) <= 1e-15 * Math.sqrt(alpha * beta) || gamma === 0) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        for (let r = 0; r < p; r++) {
          const x = b[r * q + i], y = b[r * q + j];
          b[r * q + i] = c * x - s * y; b[r * q + j] = s * x + c * y;
        }
        for (let r = 0; r < q; r++) {
          const x = v[r * q + i], y = v[r * q + j];
          v[r * q + i] = c * x - s * y; v[r * q + j] = s * x + c * y;
        }
      }
    }
    if (!rotated) break;
  }
  // Column norms are the singular values; normalized columns the left vectors of b.
  const norms = Array.from({ length: q }, (_, i) => {
    let s = 0;
    for (let r = 0; r < p; r++) s += b[r * q + i] ** 2;
    return Math.sqrt(s);
  });
  const order = norms.map((_, i) => i).sort((x, y) => norms[y] - norms[x]);
  const ub = new Float64Array(p * q);
  const vb = new Float64Array(q * q);
  order.forEach((src, dst) => {
    for (let r = 0; r < p; r++) ub[r * q + dst] = norms[src] ? b[r * q + src] / norms[src] : 0;
    for (let r = 0; r < q; r++) vb[r * q + dst] = v[r * q + src];
  });
  const s = order.map((i) => norms[i]);
  // b = ub·Σ·vbᵀ; for a wide a = bᵀ = vb·Σ·ubᵀ.
  return wide ? { u: vb, s, v: ub, k: q } : { u: ub, s, v: vb, k: q };
}

export interface LowRankOptions {
  /** One rank for every eligible layer where it saves weights, or ranks by layer (node or weight name). */
  rank: number | Record<string, number>;
}

export interface Factored { layer: string; rank: number; rows: number; cols: number; energy: number }

function eligible(g: Graph, l: WeightLayer): boolean {
  if (l.node.op !== 'Conv') return true;
  const w = g.initializers.get(l.weight)!;
  return w.shape.slice(2).every((d) => d === 1) && attrInt(l.node, 'group', 1) === 1;
}

/** Factors the chosen layers of g in place. */
export function lowRank(g: Graph, opts: LowRankOptions): Factored[] {
  const layers = weightLayers(g).filter((l) => eligible(g, l));
  const plan: [WeightLayer, number][] = [];
  if (typeof opts.rank === 'number') {
    const r = opts.rank;
    if (!Number.isInteger(r) || r < 1) fail('BadArgument', `rank must be a positive integer, not ${r}`);
    const fits = layers.filter((l) => r <= Math.min(l.rows, l.cols));
    if (!fits.length) fail('BadArgument', `rank ${r} is larger than every factorable matrix (largest smaller side: ${Math.max(0, ...layers.map((l) => Math.min(l.rows, l.cols)))})`);
    for (const l of fits) if (r * (l.rows + l.cols) < l.rows * l.cols) plan.push([l, r]);
  } else {
    for (const [name, r] of Object.entries(opts.rank)) {
      const l = layers.find((x) => x.node.name === name || x.weight === name);
      if (!l) fail('BadArgument', `no factorable layer '${name}' (layers: ${layers.map((x) => x.node.name).join(', ')})`);
      if (!Number.isInteger(r) || r < 1 || r > Math.min(l.rows, l.cols)) {
        fail('BadArgument', `rank ${r} for '${name}' must be an integer from 1 to ${Math.min(l.rows, l.cols)} (the matrix is ${l.rows}×${l.cols})`);
      }
      plan.push([l, r]);
    }
  }
  const done: Factored[] = [];
  for (const [l, r] of plan) {
    const { u, s, v, k } = svd(getMatrix(g, l), l.rows, l.cols);
    // First layer: √Σ·Vᵀ (r × cols); second: U·√Σ (rows × r).
    const first = new Float32Array(r * l.cols);
    const second = new Float32Array(l.rows * r);
    for (let j = 0; j < r; j++) {
      const sq = Math.sqrt(s[j]);
      for (let c = 0; c < l.cols; c++) first[j * l.cols + c] = sq * v[c * k + j];
      for (let o = 0; o < l.rows; o++) second[o * r + j] = sq * u[o * k + j];
    }
    replace(g, l, r, first, second);
    const total = s.reduce((a, x) => a + x * x, 0);
    done.push({ layer: l.node.name, rank: r, rows: l.rows, cols: l.cols, energy: total ? s.slice(0, r).reduce((a, x) => a + x * x, 0) / total : 1 });
  }
  tidyAfterEdit(g);
  return done;
}

/** Splits the node of l into two: first (r × cols, no bias) then second (rows × r, with l's bias). */
function replace(g: Graph, l: WeightLayer, r: number, first: Float32Array, second: Float32Array): void {
  const n = l.node;
  const conv = n.op === 'Conv';
  const w1 = freshName(g, `${l.weight}_lowrank_a`);
  const w2 = freshName(g, `${l.weight}_lowrank_b`);
  g.initializers.set(w1, makeTensor('float32', conv ? [r, l.cols, 1, 1] : [r, l.cols], first));
  g.initializers.set(w2, makeTensor('float32', conv ? [l.rows, r, 1, 1] : [l.rows, r], second));
  const mid = freshName(g, `${n.outputs[0]}_lowrank`);
  const a: Node = conv
    ? { name: freshName(g, `${n.name}_lowrank_a`), op: 'Conv', domain: '', inputs: [n.inputs[0], w1], outputs: [mid], attrs: { ...n.attrs } }
    : { name: freshName(g, `${n.name}_lowrank_a`), op: 'Gemm', domain: '', inputs: [n.inputs[0], w1], outputs: [mid], attrs: { transB: { kind: 'int', v: 1 } } };
  const bias = n.op === 'MatMul' ? [] : n.inputs.slice(2).filter((x) => x !== '');
  const b: Node = conv
    ? { name: n.name, op: 'Conv', domain: '', inputs: [mid, w2, ...bias], outputs: n.outputs, attrs: {} }
    : { name: n.name, op: 'Gemm', domain: '', inputs: [mid, w2, ...bias], outputs: n.outputs, attrs: { transB: { kind: 'int', v: 1 } } };
  g.nodes.splice(g.nodes.indexOf(n), 1, a, b);
}
