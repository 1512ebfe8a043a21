// Every node against its op's schema before shape inference computes anything: the number of inputs
// and outputs at the model's opset, and window attributes (kernel_shape, strides, dilations, pads,
// output_padding) with one value per spatial axis of the input. The ONNX ops come from the table
// generated from ONNX's own schemas (src/ir/onnx-schemas.ts); the QONNX/FINN ops, which ONNX does
// not define, from the small table below. Ops in no table are left to the unsupported-op check.
import { Code, KilnError, type Diagnostic } from '../diag/index.ts';
import { quantizerParams, quantizerProblem } from '../exec/ops/quant.ts';
import { ANY_DOMAIN_OPS } from '../exec/registry.ts';
import { tensorType, type Graph, type Node } from '../ir/graph.ts';
import { ONNX_MAX_OPSET, ONNX_SCHEMAS, type SchemaRow } from '../ir/onnx-schemas.ts';
import type { Pass } from './pass.ts';

/** QONNX / FINN custom ops (any domain, as exporters use several): inputs and outputs. */
const QONNX_SCHEMAS: Record<string, SchemaRow> = {
  Quant: [1, 4, 4, 1, 1, 'narrow:int rounding_mode:string signed:int'],
  IntQuant: [1, 4, 4, 1, 1, 'narrow:int rounding_mode:string signed:int'],
  BipolarQuant: [1, 2, 2, 1, 1, ''],
  // v1: x, scale, zeropt, in_bitwidth, out_bitwidth; v2 adds out_scale, out_zeropt.
  Trunc: [1, 5, 7, 1, 1, 'narrow:int rounding_mode:string signed:int'],
  MultiThreshold: [1, 2, 2, 1, 1, 'data_layout:string out_bias:float out_dtype:string out_scale:float'],
  DebugMarker: [1, 1, 1, 1, 1, 'export_debug_name:string'],
};

const STANDARD = new Set(['', 'ai.onnx']);

/** The schema row in force for n at the graph's ai.onnx opset, if kiln knows the op. */
export function schemaOf(g: Graph, n: Node): SchemaRow | undefined {
  if (ANY_DOMAIN_OPS.has(n.op)) return QONNX_SCHEMAS[n.op];
  // qonnx channels_last ops are the standard ones on NHWC data: same inputs and attributes.
  if (!STANDARD.has(n.domain) && !n.domain.includes('channels_last')) return undefined;
  const rows = ONNX_SCHEMAS[n.op];
  if (!rows) return undefined;
  const opset = g.opsets[''] ?? 13;
  // Before the op existed, its first version is the best description there is.
  return [...rows].reverse().find((r) => r[0] <= opset) ?? rows[0];
}

function between(what: string, min: number, max: number): string {
  const noun = (k: number) => `${k} ${what}${k === 1 ? '' : 's'}`;
  if (min === max) return noun(min);
  if (max === Infinity) return `at least ${noun(min)}`;
  return `${min} to ${noun(max)}`;
}

/** Count up to the last non-empty name ('' marks an omitted optional input or output). */
function given(names: string[]): number {
  let k = names.length;
  while (k > 0 && names[k - 1] === '') k--;
  return k;
}

/** Window attributes and how many values each needs per spatial axis. */
const WINDOW_ATTRS: [name: string, perAxis: number][] = [['kernel_shape', 1], ['strides', 1], ['dilations', 1], ['pads', 2], ['output_padding', 1]];

/** Where the data input and the weight input of a windowed op are (weights give the spatial rank too). */
const WINDOW_OPS: Record<string, { x: number; w?: number }> = {
  Conv: { x: 0, w: 1 }, ConvInteger: { x: 0, w: 1 }, QLinearConv: { x: 0, w: 3 }, ConvTranspose: { x: 0, w: 1 },
  MaxPool: { x: 0 }, AveragePool: { x: 0 }, LpPool: { x: 0 }, MaxRoiPool: { x: 0 }, MaxUnpool: { x: 0 },
};

function listLength(n: Node, name: string): number | undefined {
  const a = n.attrs[name];
  if (!a) return undefined;
  return a.kind === 'ints' ? a.v.length : a.kind === 'int' ? 1 : undefined;
}

function windowProblems(g: Graph, n: Node, attrs: string): Diagnostic[] {
  const at = WINDOW_OPS[n.op];
  if (!at) return [];
  const out: Diagnostic[] = [];
  const rankOf = (i: number | undefined) => (i === undefined || !n.inputs[i] ? undefined : tensorType(g, n.inputs[i])?.shape?.length);
  const xRank = rankOf(at.x);
  if (xRank !== undefined && xRank < 3) {
    return [{ code: Code.ShapeMismatch, message: `${n.op} needs an input of rank 3 or more (batch, channels, spatial axes), not rank ${xRank}`, node: n.name }];
  }
  const wRank = rankOf(at.w);
  if (xRank !== undefined && wRank !== undefined && wRank !== xRank) {
    return [{ code: Code.ShapeMismatch, message: `${n.op} weights have rank ${wRank} but its input has rank ${xRank}: they must be equal`, node: n.name }];
  }
  // The input's spatial rank decides; without a known input shape, the weights' or the kernel's.
  const [spatial, from] =
    xRank !== undefined ? [xRank - 2, `the input has ${xRank - 2} spatial axes`]
    : wRank !== undefined && wRank >= 3 ? [wRank - 2, `the weights have ${wRank - 2} spatial axes`]
    : [listLength(n, 'kernel_shape'), `kernel_shape has ${listLength(n, 'kernel_shape')} values`];
  if (spatial === undefined) return [];
  const known = new Set(attrs.split(' ').map((a) => a.split(':')[0]));
  for (const [name, per] of WINDOW_ATTRS) {
    const len = listLength(n, name);
    if (len === undefined || !known.has(name) || len === spatial * per) continue;
    const want = spatial * per;
    const fix = per === 2 ? `give ${want} values (all begins, then all ends)` : `give ${want} values`;
    out.push({ code: Code.BadAttribute, message: `attribute '${name}' of ${n.op} has ${len} value${len === 1 ? '' : 's'} but ${from}: ${fix}`, node: n.name });
  }
  return out;
}

/** The schema problems of one node, with what is known of its inputs' shapes so far. */
export function nodeSchemaProblems(g: Graph, n: Node): Diagnostic[] {
  const row = schemaOf(g, n);
  if (!row) return [];
  const [, minIn, tableMaxIn, minOut, tableMaxOut, attrs] = row;
  // Past the table's last opset an op may have gained optional inputs or outputs: only minima hold.
  const beyond = !ANY_DOMAIN_OPS.has(n.op) && (g.opsets[''] ?? 13) > ONNX_MAX_OPSET;
  const maxIn = beyond ? Infinity : tableMaxIn;
  const maxOut = beyond ? Infinity : tableMaxOut;
  const at = ANY_DOMAIN_OPS.has(n.op) ? '' : ` at opset ${g.opsets[''] ?? 13}`;
  const ins = given(n.inputs);
  const outs = given(n.outputs);
  const problems: Diagnostic[] = [];
  const malformed = (message: string) => problems.push({ code: Code.MalformedModel, message, node: n.name });
  if (ins < minIn || ins > maxIn) malformed(`${n.op} takes ${between('input', minIn, maxIn)}${at}, but has ${ins === 0 ? 'none' : ins}`);
  else {
    const empty = n.inputs.slice(0, minIn).indexOf('');
    if (empty >= 0) malformed(`input ${empty + 1} of ${n.op} is required but empty`);
  }
  if (outs < minOut || outs > maxOut) malformed(`${n.op} gives ${between('output', minOut, maxOut)}${at}, but has ${outs === 0 ? 'none' : outs}`);
  if (problems.length) return problems;
  return [...windowProblems(g, n, attrs), ...quantizerProblems(g, n)];
}

/** A quantizer's constant scales and bit widths (the usual case: initializers), checked before use. */
function quantizerProblems(g: Graph, n: Node): Diagnostic[] {
  const p = ANY_DOMAIN_OPS.has(n.op) || STANDARD.has(n.domain) ? quantizerParams(n) : undefined;
  if (!p) return [];
  const out: Diagnostic[] = [];
  for (const k of [...p.scales, ...p.zeroPoints, ...p.bits]) {
    const t = g.initializers.get(n.inputs[k]);
    const problem = t && quantizerProblem(n, k, t);
    if (problem) out.push({ code: Code.BadAttribute, message: problem, node: n.name });
  }
  return out;
}

/** Every node's schema problems (shapes known so far). */
export function schemaProblems(g: Graph): Diagnostic[] {
  return g.nodes.flatMap((n) => nodeSchemaProblems(g, n));
}

/** Throws n's schema problems: shape inference calls this before computing n's output types. */
export function checkNodeSchema(g: Graph, n: Node): void {
  const problems = nodeSchemaProblems(g, n);
  if (problems.length) throw new KilnError(problems);
}

/** The pass: reports every node's schema problems at once, before the passes that compute shapes. */
export const schemaCheck: Pass = {
  name: 'schema-check',
  run(g: Graph): boolean {
    const problems = schemaProblems(g);
    if (problems.length) throw new KilnError(problems);
    return false;
  },
};
