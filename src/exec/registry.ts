// The ONNX-level op table: every op kiln can import is an entry here, with its exact semantics.
// Op files export plain tables; this file merges them (an explicit list, no magic registration).
import type { Node } from '../ir/graph.ts';
import type { ExecContext, OpImpl, OpTable } from './op-types.ts';
import { elementwiseOps } from './ops/elementwise.ts';
import { nnOps } from './ops/nn.ts';
import { qoperatorOps } from './ops/qoperator.ts';
import { CHANNELS_LAST_OPS, channelsLast, quantOps } from './ops/quant.ts';
import { shapeOps } from './ops/shape.ts';


// Op tables, one per file under ./ops.
const tables: OpTable[] = [elementwiseOps, nnOps, shapeOps, quantOps, qoperatorOps];

function opTable(): Map<string, OpImpl> {
  const m = new Map<string, OpImpl>();
  for (const t of tables) for (const [k, v] of Object.entries(t)) m.set(k, v);
  return m;
}

/**
 * Domains whose ops kiln executes. QONNX custom ops (Quant, BipolarQuant, Trunc, …) are matched
 * by op name in ANY domain, since exporters use five different ones, some undeclared.
 */
const STANDARD_DOMAINS = new Set(['', 'ai.onnx', 'com.microsoft']);
export const ANY_DOMAIN_OPS = new Set(['Quant', 'IntQuant', 'BipolarQuant', 'Trunc', 'MultiThreshold', 'DebugMarker']);

let cache: Map<string, OpImpl> | undefined;

export function lookupOp(node: Node): OpImpl | undefined {
  cache ??= opTable();
  // qonnx channels_last Conv/MaxPool/… (NHWC data, OHWI weights): the standard op wrapped in
  // transposes, so a domain-qualified Conv is never mistaken for the standard NCHW one.
  if (node.domain.includes('channels_last')) {
    const standard = CHANNELS_LAST_OPS.has(node.op) ? cache.get(node.op) : undefined;
    return standard && channelsLast(node.op, standard);
  }
  if (!STANDARD_DOMAINS.has(node.domain) && !ANY_DOMAIN_OPS.has(node.op)) return undefined;
  return cache.get(node.op);
}

export function supportedOps(): string[] {
  cache ??= opTable();
  return [...cache.keys()].sort();
}
