// Folding: how many PE (output lanes) and SIMD (input lanes) each layer gets, i.e. the trade of
// area for cycles. Either given as JSON { "<layer>": { "pe": n, "simd": m } } or chosen by default.
//
// Default folding (kept simple on purpose):
//  - a small network (at most FULLY_PARALLEL_WEIGHTS weights in all MVUs) is fully unrolled:
//    pe = rows, simd = cols, so every layer takes one cycle per inference;
//  - otherwise the biggest MVU gets at most MAX_LANES multiply lanes (pe·simd), which sets the
//    target II = its cycles; every other MVU gets the fewest lanes that keep it within the target
//    (so all layers run near the slowest one's pace, none wastes area going faster);
//  - other kinds keep the pe they were lowered with;
//  - element-wise layers (Threshold, Requant, LabelSelect) take their producer's beat width when
//    their own constraints allow it (no width converter needed), else the fewest lanes within target.
import { fail } from '../diag/index.ts';
import type { DataflowGraph, Layer } from '../ir/dataflow.ts';

export type Folding = Record<string, { pe?: number; simd?: number }>;

// Kept low: fully unrolled wide multipliers are cheap to describe but slow to build in Verilator
// (a 512-weight INT16×INT8 layer took minutes); ask for full parallelism explicitly with --fold.
export const FULLY_PARALLEL_WEIGHTS = 256;
export const MAX_LANES = 64;

const divisors = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1).filter((d) => n % d === 0);
const num = (l: Layer, k: string): number => l.attrs[k] as number;

/** Returns a copy of df with the given pe/simd set (checked later by each layer's checkFolding). */
export function applyFolding(df: DataflowGraph, folding: Folding): DataflowGraph {
  if (typeof folding !== 'object' || folding === null || Array.isArray(folding)) {
    fail('BadFolding', `folding must be an object { "<layer>": { "pe": n, "simd": m } }, not ${JSON.stringify(folding)}`);
  }
  const names = new Set(df.layers.map((l) => l.name));
  for (const [name, f] of Object.entries(folding)) {
    if (!names.has(name)) fail('BadFolding', `folding names layer '${name}', which is not in the design (layers: ${[...names].join(', ')})`);
    for (const [k, v] of Object.entries(f ?? {})) {
      if (k !== 'pe' && k !== 'simd') fail('BadFolding', `folding of '${name}' may set pe and simd, not '${k}'`);
      if (!Number.isInteger(v) || (v as number) < 1) fail('BadFolding', `${k} of '${name}' must be a positive integer, not ${JSON.stringify(v)}`);
    }
    const layer = df.layers.find((l) => l.name === name)!;
    if (f.simd !== undefined && layer.kind !== 'MVU') fail('BadFolding', `simd applies to MVU layers, not ${layer.kind} '${name}'`);
  }
  return {
    ...df,
    layers: df.layers.map((l) => (folding[l.name] ? { ...l, attrs: { ...l.attrs, ...folding[l.name] } } : l)),
  };
}

/** The (pe, simd) with the fewest lanes that keeps an MVU within `target` cycles (ties: more simd). */
function mvuFold(rows: number, cols: number, target: number): { pe: number; simd: number } {
  let best = { pe: rows, simd: cols };
  for (const pe of divisors(rows)) {
    for (const simd of divisors(cols)) {
      if ((rows / pe) * (cols / simd) > target) continue;
      const lanes = pe * simd;
      const bestLanes = best.pe * best.simd;
      if (lanes < bestLanes || (lanes === bestLanes && simd > best.simd)) best = { pe, simd };
    }
  }
  return best;
}

/** The default folding described at the top of this file. */
export function defaultFolding(df: DataflowGraph): Folding {
  const mvus = df.layers.filter((l) => l.kind === 'MVU');
  const weights = mvus.reduce((s, l) => s + num(l, 'rows') * num(l, 'cols'), 0);
  const unroll = weights <= FULLY_PARALLEL_WEIGHTS;
  let target = 1;
  if (!unroll) {
    for (const l of mvus) {
      const rows = num(l, 'rows');
      const cols = num(l, 'cols');
      // Fewest cycles this layer can reach with at most MAX_LANES lanes.
      let fastest = rows * cols;
      for (const pe of divisors(rows)) for (const simd of divisors(cols)) {
        if (pe * simd <= MAX_LANES) fastest = Math.min(fastest, (rows / pe) * (cols / simd));
      }
      target = Math.max(target, fastest);
    }
  }
  const folding: Folding = {};
  const outFold = new Map<string, number>(); // stream → elements per beat of its producer
  for (const l of df.layers) {
    let pe: number;
    if (l.kind === 'MVU') {
      const f = mvuFold(num(l, 'rows'), num(l, 'cols'), target);
      folding[l.name] = f;
      pe = f.pe;
    } else if (l.kind !== 'Threshold' && l.kind !== 'Requant' && l.kind !== 'LabelSelect') {
      // Other kinds keep the folding they were lowered with.
      pe = typeof l.attrs.pe === 'number' ? l.attrs.pe : 1;
    } else {
      const elems = l.kind === 'LabelSelect' ? num(l, 'n') : num(l, 'elems');
      const channels = l.kind === 'LabelSelect' ? 1 : num(l, 'channels');
      const legal = (p: number) => elems % p === 0 && (channels === 1 || channels % p === 0);
      const ok = (p: number) => legal(p) && elems / p <= target;
      const upstream = outFold.get(l.inputs[0]);
      pe = upstream !== undefined && ok(upstream) ? upstream : (divisors(elems).find(ok) ?? divisors(elems).reverse().find(legal)!);
      folding[l.name] = { pe };
    }
    if (l.kind !== 'LabelSelect') outFold.set(l.outputs[0], pe);
  }
  return folding;
}
