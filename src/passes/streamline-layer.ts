// One layer of the streamline driver: the layer rule of its op (src/lower/rules/) gives its integer
// weights, then the activation, integer-composition or output rule turns the float chain after the
// sum into the layer's activation.
import { KilnError } from '../diag/index.ts';
import type { Node } from '../ir/graph.ts';
import { Chain } from '../lower/chain.ts';
import { PIXEL_SHUFFLES, SPATIAL_MACS } from '../lower/ops.ts';
import type { InSide, StreamlineOptions } from '../lower/plan.ts';
import { lowerActivation } from '../lower/rules/activation.ts';
import { splitCodeOps } from '../lower/rules/code-ops.ts';
import { layerRuleFor } from '../lower/rules/index.ts';
import { integerComposition } from '../lower/rules/integer-composition.ts';
import { isLayoutPreserving } from '../lower/rules/layout.ts';
import { outputAffine } from '../lower/rules/output.ts';
import type { LayerCtx, LayerResult } from '../lower/rules/rule.ts';
import { lastActivation } from '../lower/support.ts';
import type { ChannelRange } from '../lower/thresholds.ts';
import { cannotLower, inRule, type GraphView } from '../lower/view.ts';
import { rowAccRange } from '../layers/mvu.ts';

export function lowerLayer(v: GraphView, mac: Node, chainNodes: Node[], last: boolean, input: InSide, opts: StreamlineOptions, notes: string[]): LayerResult {
  const spatial = SPATIAL_MACS.has(mac.op) || ((mac.op === 'Add' || mac.op === 'Concat') && (v.shapes.get(mac.outputs[0])?.length ?? 0) === 4);
  const rule = layerRuleFor(mac.op);
  const inZero = rule.inputZero ? inRule(rule.name, () => rule.inputZero!(v, mac, input)) : input.model.z;
  const mw = inRule(rule.name, () => rule.weights(v, mac, input, notes));
  const { rows, cols, W, sw } = mw;
  // The MAC's ideal float output per row: v = α[r]·acc + β[r] (a Conv's bias folds into β: the ONNX
  // Conv adds it to its float64 sum before the one rounding to float32).
  const sIn = input.model.s;
  const alpha = sw.map((s) => (mw.unit === 'avgpool' ? sIn / cols : sIn * s));
  const beta = alpha.map((a, r) => {
    let sum = 0;
    for (let c = 0; c < cols; c++) sum += W[r * cols + c];
    return (mw.bias?.[r] ?? 0) + (inZero === 0 ? 0 : -a * inZero * sum);
  });

  // Code ops (MaxPool, Pad) in the segment act on the activation's codes (rule code-ops).
  const split = inRule('code-ops', () => splitCodeOps(chainNodes));
  chainNodes = split.chain;

  const chain = new Chain(v, rows, spatial);
  inRule(rule.name, () => rule.chainPrefix?.(v, mac, chain, rows));
  for (const [i, n] of chainNodes.entries()) {
    // A pixel shuffle moves elements between channels: only after the activation (then it is an element order).
    if (PIXEL_SHUFFLES.has(n.op) && i < lastActivation(chainNodes)) throw new KilnError(cannotLower(n, `a ${n.op} before the activation quantizer (it moves elements between channels)`, { rule: 'layout', fix: `move the ${n.op} after the quantizer` }));
    if (!spatial && !isLayoutPreserving(v, n)) throw new KilnError(cannotLower(n, 'a transpose that reorders elements', { rule: 'layout', fix: 'move the transpose to the graph input or output (the host reorders there)' }));
    inRule('activation', () => chain.push(n));
  }
  const unitFields = { unit: mw.unit, ...(mw.concat ? { concat: mw.concat } : {}), ...(mw.window ? { window: mw.window, padCode: mw.padCode } : {}), ...(mw.global ? { global: true } : {}) };
  const origin = [mac.name, ...chainNodes.map((n) => n.name)];
  const qi = lastActivation(chainNodes);
  // Padding enters the window as the code of float 0 (the input zero point).
  const [xlo, xhi] = [Math.min(input.codes[0], mw.padCode ?? Infinity), Math.max(input.codes[input.codes.length - 1], mw.padCode ?? -Infinity)];
  const accRange = (ws: number[], r: number): ChannelRange => {
    const [lo, hi] = rowAccRange(ws, r, cols, xlo, xhi);
    return { lo, hi };
  };
  const ctx: LayerCtx = { v, mac, chainNodes, codeNodes: split.code, last, input, opts, notes, mw, chain, alpha, beta, origin, unitFields, accRange };
  if (qi < 0 && mac.op !== 'QLinearMatMul') return last ? inRule('output', () => outputAffine(ctx)) : inRule('integer-composition', () => integerComposition(ctx));
  return inRule('activation', () => lowerActivation(ctx, qi));
}
