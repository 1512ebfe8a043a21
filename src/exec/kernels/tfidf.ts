// TfIdfVectorizer over integer token ids: count the pool's n-grams (with skips) per row.
import { fail } from '../../diag/index.ts';
import { attrFloats, attrInt, attrInts, attrString, type Node } from '../../ir/graph.ts';
import { nums, type Tensor } from '../../ir/tensor.ts';

export function tfidf(node: Node, X: Tensor): { data: Float64Array; shape: number[] } {
  if (X.dtype === 'string') fail('UnsupportedDType', 'TfIdfVectorizer on strings is not supported (integer token ids only)');
  const minN = attrInt(node, 'min_gram_length');
  const maxN = attrInt(node, 'max_gram_length');
  const maxSkip = attrInt(node, 'max_skip_count');
  const mode = attrString(node, 'mode');
  const starts = attrInts(node, 'ngram_counts');
  const indexes = attrInts(node, 'ngram_indexes');
  const pool = attrInts(node, 'pool_int64s');
  const weights = node.attrs.weights ? attrFloats(node, 'weights') : undefined;
  // Pool: (k+1)-grams from starts[k] up to the next start; key → position in ngram_indexes.
  const lookup = new Map<string, number>();
  let gram = 0;
  for (let k = 0; k < starts.length; k++) {
    const n = k + 1;
    const end = k + 1 < starts.length ? starts[k + 1] : pool.length;
    for (let p = starts[k]; p + n <= end; p += n) lookup.set(`${n}:${pool.slice(p, p + n).join(',')}`, gram++);
  }
  const width = Math.max(...indexes) + 1;
  const [rows, len] = X.shape.length === 1 ? [1, X.shape[0]] : [X.shape[0], X.shape[1]];
  const v = nums(X);
  const out = new Float64Array(rows * width);
  for (let r = 0; r < rows; r++) {
    const tok = (i: number) => v[r * len + i];
    for (let s = 0; s < len; s++) {
      for (let skip = 0; skip <= maxSkip; skip++) {
        for (let n = Math.max(minN, 1); n <= maxN; n++) {
          if (n === 1 && skip > 0) continue; // a unigram has no gaps: count it once
          const last = s + (n - 1) * (skip + 1);
          if (last >= len) break;
          const key = `${n}:${Array.from({ length: n }, (_, j) => tok(s + j * (skip + 1))).join(',')}`;
          const g = lookup.get(key);
          if (g !== undefined) out[r * width + indexes[g]]++;
        }
      }
    }
    for (let c = 0; c < width; c++) {
      const at = r * width + c;
      const w = weights ? weights[indexes.indexOf(c)] ?? 1 : 1;
      if (mode === 'IDF') out[at] = out[at] > 0 ? w : 0;
      else if (mode === 'TFIDF') out[at] *= w;
      else if (mode !== 'TF') fail('BadAttribute', `TfIdfVectorizer mode must be TF, IDF or TFIDF, not ${mode}`);
    }
  }
  return { data: out, shape: X.shape.length === 1 ? [width] : [rows, width] };
}
