// Sparse MVU mode (`--sparse`, docs/compression.md): folded MVUs skip all-zero SIMD groups. Marked
// on every MVU that can use it before folding (the default folding sees the sparse cycles), kept
// after folding only where it saves cycles (it costs an index ROM). The per-layer rules are the
// MVU's (src/layers/mvu.ts).
export { keepSparseWhereFaster, markSparse } from '../layers/mvu.ts';
