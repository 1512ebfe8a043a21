// numpy matmul: 1-D operands are promoted (and the added dim removed again), batch dims broadcast.
// Accumulates in float64 (exact for integer operands below 2^53), so MatMulInteger/QLinearMatMul
// can reuse it on zero-point-adjusted operands.
import { fail } from '../../diag/index.ts';
import { formatShape } from '../../ir/tensor.ts';
import { broadcastIndex, broadcastShapes } from './broadcast.ts';
import { prod } from './util.ts';

export function matmulAccumulate(a: ArrayLike<number>, aShape: number[], b: ArrayLike<number>, bShape: number[]): { data: Float64Array; shape: number[] } {
  if (aShape.length === 0 || bShape.length === 0) fail('ShapeMismatch', 'MatMul operands must have rank >= 1, not scalars');
  const as = aShape.length === 1 ? [1, aShape[0]] : aShape;
  const bs = bShape.length === 1 ? [bShape[0], 1] : bShape;
  const [M, K] = as.slice(-2);
  const [K2, N] = bs.slice(-2);
  if (K !== K2) fail('ShapeMismatch', `MatMul inner dims must agree, not ${formatShape(aShape)} x ${formatShape(bShape)}`);
  const batch = broadcastShapes([as.slice(0, -2), bs.slice(0, -2)]);
  const nb = prod(batch);
  const ia = broadcastIndex(as.slice(0, -2), batch);
  const ib = broadcastIndex(bs.slice(0, -2), batch);
  const out = new Float64Array(nb * M * N);
  const row = new Float64Array(N);
  for (let t = 0; t < nb; t++) {
    const ao = ia[t] * M * K;
    const bo = ib[t] * K * N;
    for (let i = 0; i < M; i++) {
      row.fill(0);
      for (let k = 0; k < K; k++) {
        const av = a[ao + i * K + k];
        const br = bo + k * N;
        for (let j = 0; j < N; j++) row[j] += av * b[br + j];
      }
      out.set(row, (t * M + i) * N);
    }
  }
  const shape = [...batch, ...(aShape.length === 1 ? [] : [M]), ...(bShape.length === 1 ? [] : [N])];
  return { data: out, shape };
}
