// Einsum by direct summation over every index combination (fine for the small operands ONNX
// models pass it; kiln lowers real matrix products through MatMul/Gemm instead).
import { fail } from '../../diag/index.ts';
import { makeTensor, nums, strides, type Tensor } from '../../ir/tensor.ts';
import { broadcastShapes } from './broadcast.ts';
import { storer } from './util.ts';

/** Letters standing for ellipsis dims (never valid einsum letters). */
const ELL = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

export function einsum(equation: string, xs: Tensor[]): Tensor {
  const eq = equation.replace(/\s+/g, '');
  const [lhs, rhs] = eq.includes('->') ? eq.split('->') : [eq, undefined];
  const terms = lhs.split(',');
  if (terms.length !== xs.length) fail('BadAttribute', `Einsum equation '${equation}' has ${terms.length} operands, not ${xs.length}`);
  // Expand '...' into placeholder letters, right-aligned like numpy broadcasting.
  const ellShapes: number[][] = [];
  let ellRank = 0;
  const expanded = terms.map((term, k) => {
    const r = xs[k].shape.length;
    if (!term.includes('...')) {
      if (term.length !== r) fail('ShapeMismatch', `Einsum term '${term}' has ${term.length} letters for an operand of rank ${r}`);
      return term.split('');
    }
    const [pre, post] = term.split('...');
    const n = r - pre.length - post.length;
    if (n < 0) fail('ShapeMismatch', `Einsum term '${term}' does not fit an operand of rank ${r}`);
    ellRank = Math.max(ellRank, n);
    ellShapes.push(xs[k].shape.slice(pre.length, pre.length + n));
    return [...pre.split(''), ...Array.from({ length: n }, (_, i) => `#${n - i}`), ...post.split('')];
  });
  const ellDims = broadcastShapes(ellShapes);
  const ellLetters = Array.from({ length: ellRank }, (_, i) => ELL[i]);
  const fix = (l: string) => (l.startsWith('#') ? ellLetters[ellRank - Number(l.slice(1))] : l);
  const letters = expanded.map((t) => t.map(fix));
  const dims = new Map<string, number>();
  ellLetters.forEach((l, i) => dims.set(l, ellDims[i]));
  letters.forEach((t, k) => t.forEach((l, a) => {
    const d = xs[k].shape[a];
    const prev = dims.get(l);
    if (l >= '0' && l <= '9') return;
    if (prev !== undefined && prev !== d && prev !== 1 && d !== 1) fail('ShapeMismatch', `Einsum letter '${l}' has sizes ${prev} and ${d}`);
    dims.set(l, prev === undefined || prev === 1 ? d : prev);
  }));
  let outLetters: string[];
  if (rhs !== undefined) {
    outLetters = rhs.includes('...') ? rhs.replace('...', ellLetters.join('')).split('') : rhs.split('');
  } else {
    const count = new Map<string, number>();
    letters.flat().forEach((l) => count.set(l, (count.get(l) ?? 0) + 1));
    outLetters = [...ellLetters, ...[...count].filter(([l, c]) => c === 1 && !ellLetters.includes(l)).map(([l]) => l).sort()];
  }
  const all = [...new Set([...outLetters, ...letters.flat()])];
  const size = all.map((l) => dims.get(l)!);
  const outShape = outLetters.map((l) => dims.get(l)!);
  const out = new Float64Array(outShape.reduce((a, b) => a * b, 1));
  const outStr = strides(outShape);
  // Per operand, the stride of each letter in `all` (0 when absent or broadcast).
  const opStr = xs.map((x, k) => {
    const s = strides(x.shape);
    return all.map((l) => letters[k].reduce((acc, m, a) => (m === l && x.shape[a] !== 1 ? acc + s[a] : acc), 0));
  });
  const oStr = all.map((l) => { const i = outLetters.indexOf(l); return i < 0 ? 0 : outStr[i]; });
  const data = xs.map(nums);
  const total = size.reduce((a, b) => a * b, 1);
  const idx = new Array<number>(all.length).fill(0);
  for (let k = 0; k < total; k++) {
    let p = 1;
    for (let o = 0; o < xs.length; o++) {
      let off = 0;
      for (let a = 0; a < all.length; a++) off += idx[a] * opStr[o][a];
      p *= data[o][off];
    }
    let oo = 0;
    for (let a = 0; a < all.length; a++) oo += idx[a] * oStr[a];
    out[oo] += p;
    for (let a = all.length - 1; a >= 0; a--) {
      if (++idx[a] < size[a]) break;
      idx[a] = 0;
    }
  }
  const res = makeTensor(xs[0].dtype, outShape);
  const st = storer(res.dtype);
  nums(res).set(st ? out.map(st) : out);
  return res;
}
