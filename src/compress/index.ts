// One compression recipe = a set of methods applied in a fixed order that makes combinations
// meaningful: structure first (filter pruning, low rank change the shapes), then sparsity
// (magnitude pruning), then values (weight sharing or binary/ternary codes), then post-training
// quantization last (it calibrates on the model as the earlier steps left it).
import type { Graph } from '../ir/graph.ts';
import { binarizeActivations, binarizeWeights, type WeightCode } from './binarize.ts';
import { filterPrune } from './filter-prune.ts';
import { shareWeights } from './kmeans.ts';
import { lowRank, type LowRankOptions } from './lowrank.ts';
import { magnitudePrune, type PruneOptions } from './prune.ts';
import { quantize, type QuantizeOptions } from './quantize.ts';

export interface Recipe {
  filterPrune?: number;
  lowRank?: LowRankOptions;
  prune?: PruneOptions;
  kmeans?: number;
  weightCode?: WeightCode;
  binarizeActivations?: boolean;
  quantize?: Omit<QuantizeOptions, 'calibration'>;
}

export interface CompressOptions {
  calibration?: Float32Array[];
}

/** A compressed copy of g (g itself is not modified). Notes say what each step did. */
export function compress(g: Graph, recipe: Recipe, opts: CompressOptions = {}): { graph: Graph; notes: string[] } {
  const out: Graph = structuredClone(g);
  const notes: string[] = [];
  if (recipe.filterPrune !== undefined) {
    const r = filterPrune(out, recipe.filterPrune);
    notes.push(`filter pruning: ${r.map((x) => `${x.layer} ${x.kept}/${x.of}`).join(', ') || 'no prunable layer'}`);
  }
  if (recipe.lowRank) {
    const r = lowRank(out, recipe.lowRank);
    notes.push(`low rank: ${r.map((x) => `${x.layer} ${x.rows}×${x.cols} → rank ${x.rank} (${(100 * x.energy).toFixed(1)} % energy)`).join(', ') || 'no layer where the rank saves weights'}`);
  }
  if (recipe.prune) notes.push(`magnitude pruning: ${magnitudePrune(out, recipe.prune)} weights set to zero (${recipe.prune.scope ?? 'global'})`);
  if (recipe.kmeans !== undefined) notes.push(`weight sharing: ${shareWeights(out, recipe.kmeans).length} layers, ≤ ${recipe.kmeans} shared values each`);
  if (recipe.weightCode) {
    binarizeWeights(out, recipe.weightCode);
    notes.push(`${recipe.weightCode} weights with per-channel α`);
  }
  if (recipe.binarizeActivations) notes.push(`binarized activations: ${binarizeActivations(out)} Relu → Sign`);
  if (recipe.quantize) {
    const r = quantize(out, { ...recipe.quantize, calibration: opts.calibration });
    notes.push(`quantization: ${r.weights.length} weight tensors at ${recipe.quantize.weightBits} bits, ${r.activations.length} activation quantizers`);
  }
  return { graph: out, notes };
}

export { binarizeWeights, filterPrune, lowRank, magnitudePrune, quantize, shareWeights };
