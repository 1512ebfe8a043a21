// The lowering rules, as data: src/passes/streamline.ts is a driver over this list (an op on a model's
// run-time path lowers only if a rule here claims it; the first claiming rule checks its operands),
// and docs/lowering.md is generated from it (scripts/lowering-doc.ts; a test checks the doc is current).
import { activationRule } from './activation.ts';
import { avgpoolRule } from './avgpool.ts';
import { codeOpsRule } from './code-ops.ts';
import { convRule } from './conv.ts';
import { dataflowGraphRule } from './dataflow-graph.ts';
import { floatActivationsRule } from './float-activations.ts';
import { hostBoundaryRule } from './host-boundary.ts';
import { integerCompositionRule } from './integer-composition.ts';
import { integerWeightsRule } from './integer-weights.ts';
import { joinRule } from './join.ts';
import { layoutRule } from './layout.ts';
import { matmulRule } from './matmul.ts';
import { outputRule } from './output.ts';
import { signal1dRule } from './signal-1d.ts';
import { isLayerRule, type LayerRule, type LoweringRule } from './rule.ts';

export const RULES: readonly LoweringRule[] = [
  dataflowGraphRule,
  hostBoundaryRule,
  layoutRule,
  signal1dRule,
  integerWeightsRule,
  matmulRule,
  convRule,
  avgpoolRule,
  codeOpsRule,
  activationRule,
  integerCompositionRule,
  joinRule,
  outputRule,
  floatActivationsRule,
];

/** The first rule claiming op, if any. */
export function ruleFor(op: string): LoweringRule | undefined {
  return RULES.find((r) => r.ops.has(op));
}

/** The layer rule of a layer node's op (MAC, pooling, join). */
export function layerRuleFor(op: string): LayerRule {
  const r = RULES.find((x): x is LayerRule => isLayerRule(x) && x.ops.has(op));
  if (!r) throw new Error(`no layer rule for ${op}`);
  return r;
}

export type { LayerRule, LoweringRule } from './rule.ts';
