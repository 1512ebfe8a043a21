// kiln inspect <model> [--json]: what a model is — interface, ops, weights, memory, MACs, problems.
import type { CommandModule } from 'yargs';
import { macCount } from '../analysis/macs.ts';
import { weightStats, type WeightSummary } from '../analysis/weights.ts';
import { formatDiagnostic, KilnError, type Diagnostic } from '../diag/index.ts';
import { qualifiedOp, runtimeInputs, type Graph } from '../ir/graph.ts';
import { printType } from '../ir/print.ts';
import { unsupportedNodes } from '../exec/run.ts';
import { sortNodes, verifyGraph } from '../ir/verify.ts';
import type { DType } from '../ir/tensor.ts';
import { importGraph } from '../onnx/import.ts';
import { loadModel } from '../onnx/load.ts';
import type { Refusal } from '../lower/view.ts';
import { lowerModel } from '../passes/to-dataflow.ts';
import { schemaProblems } from '../passes/schema-check.ts';
import { EXIT_USER_ERROR } from './errors.ts';
import { table } from './table.ts';

interface InspectArgs {
  model: string;
  json: boolean;
  'dump-after'?: string[];
  verify: boolean;
}

export interface InspectReport {
  model: string;
  irVersion: number;
  producer: string;
  opsets: Record<string, number>;
  inputs: { name: string; dtype: DType; shape: (number | string)[] | null }[];
  outputs: { name: string; dtype: DType; shape: (number | string)[] | null }[];
  /** Op histogram of the model as given (qualified 'domain:Op' for non-default domains). */
  ops: Record<string, number>;
  nodes: number;
  /** Nodes left after the tidy passes (constant folding, dead-code elimination, …). */
  nodesAfterTidy: number;
  weights: WeightSummary;
  macs: ReturnType<typeof macCount>;
  /** Every op importable and the graph well formed (exit status 0). */
  supported: boolean;
  /** Structural problems and unsupported ops, all of them. */
  diagnostics: Diagnostic[];
  /**
   * Whether the model lowers to hardware (as `kiln compile` lowers it): its dataflow layers by kind,
   * or the first refusal — the lowering rule that failed and the node — and how many causes in all.
   * Absent when the model does not import.
   */
  hardware?: { lowers: true; layers: Record<string, number> } | { lowers: false; rule?: string; node?: string; message: string; causes: number };
}

/** Lowers the imported graph as `kiln compile` does: the layers it becomes, or the first refusal. */
function hardwareOf(g: Graph, source: string): NonNullable<InspectReport['hardware']> {
  try {
    const df = lowerModel(g, { source });
    const layers: Record<string, number> = {};
    for (const l of df.layers) layers[l.kind] = (layers[l.kind] ?? 0) + 1;
    return { lowers: true, layers };
  } catch (e) {
    if (!(e instanceof KilnError)) throw e;
    const d = e.diagnostics[0] as Refusal;
    return { lowers: false, ...(d.rule ? { rule: d.rule } : {}), ...(d.node !== undefined ? { node: d.node } : {}), message: formatDiagnostic(d), causes: e.diagnostics.length };
  }
}

function histogram(g: Graph): Record<string, number> {
  const h: Record<string, number> = {};
  for (const n of g.nodes) h[qualifiedOp(n)] = (h[qualifiedOp(n)] ?? 0) + 1;
  return Object.fromEntries(Object.entries(h).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])));
}

export function inspectModel(path: string, opts: { dumpAfter?: string[]; verify?: boolean } = {}): InspectReport {
  const g = loadModel(path);
  const ops = histogram(g);
  const nodes = g.nodes.length;
  const io = (v: { name: string; dtype: DType; shape?: (number | string)[] }) => ({ name: v.name, dtype: v.dtype, shape: v.shape ?? null });
  const declared = { inputs: runtimeInputs(g).map(io), outputs: g.outputs.map(io) };
  // A cycle is fatal (KLN1006); other structural problems are reported with the rest, untidied.
  sortNodes(g);
  const structural = verifyGraph(g);
  if (!structural.length) structural.push(...schemaProblems(g));
  let graph = g;
  let diagnostics: Diagnostic[];
  if (structural.length) diagnostics = [...structural, ...(unsupportedNodes(g)?.diagnostics ?? [])];
  else {
    // tidy-exact keeps BatchNorm separate, so weight statistics describe the weights as given.
    const imported = importGraph(g, { pipeline: 'tidy-exact', allowUnsupported: true, dumpAfter: opts.dumpAfter, verify: opts.verify });
    graph = imported.graph;
    diagnostics = imported.unsupported;
  }
  return {
    model: path, irVersion: g.irVersion, producer: g.producer, opsets: g.opsets, ...declared, ops, nodes,
    nodesAfterTidy: graph.nodes.length, weights: weightStats(graph), macs: macCount(graph),
    supported: diagnostics.length === 0, diagnostics,
    ...(diagnostics.length === 0 ? { hardware: hardwareOf(graph, path) } : {}),
  };
}

const fmtInt = (n: number) => n.toLocaleString('en-US');
function fmtBits(b: number): string {
  const kib = b / 8 / 1024;
  return `${fmtInt(b)} bits (${kib >= 1024 ? `${(kib / 1024).toFixed(2)} MiB` : `${kib.toFixed(2)} KiB`})`;
}

export function formatReport(r: InspectReport): string {
  const out: string[] = [];
  const opsets = Object.entries(r.opsets).map(([d, v]) => `${d || 'ai.onnx'} ${v}`).join(', ');
  out.push(`model ${r.model}`, `  ir_version ${r.irVersion}; opsets ${opsets}${r.producer ? `; producer ${r.producer}` : ''}`, '');
  out.push('inputs');
  out.push(...table([['name', 'type'], ...r.inputs.map((i) => [i.name, printType(i.dtype, i.shape ?? undefined)])], '  '));
  out.push('outputs');
  out.push(...table([['name', 'type'], ...r.outputs.map((i) => [i.name, printType(i.dtype, i.shape ?? undefined)])], '  '));
  out.push('', `ops (${r.nodes} nodes; ${r.nodesAfterTidy} after tidy)`);
  out.push(...table([['op', 'count'], ...Object.entries(r.ops).map(([k, v]) => [k, String(v)])], '  '));
  const w = r.weights;
  out.push('', 'weights');
  if (w.layers.length === 0) out.push('  (no constant weights on Conv/Gemm/MatMul/QLinear* layers)');
  else {
    const macsOf = new Map(r.macs.layers.map((l) => [l.node, l.macs]));
    out.push(...table([
      ['node', 'op', 'shape', 'stored', 'levels', 'kind', 'bits', 'sparsity', 'MACs'],
      ...w.layers.map((l) => [
        l.node, l.op, `[${l.shape.join(',')}]`, l.storedDType, String(l.levels), l.kind, String(l.bits),
        `${(l.sparsity * 100).toFixed(1)}%`, macsOf.get(l.node) == null ? '?' : fmtInt(macsOf.get(l.node)!),
      ]),
    ], '  '));
  }
  out.push('', 'parameter memory (layer weights)');
  out.push(`  stored     ${fmtBits(w.storedBits)}`);
  out.push(`  quantized  ${fmtBits(w.quantizedBits)}`);
  out.push(`  compression ratio Cr = stored/quantized = ${w.compressionRatio.toFixed(2)}`);
  out.push('', `MACs ${r.macs.total === null ? 'unknown (some shapes could not be inferred)' : fmtInt(r.macs.total)}`);
  out.push('', r.diagnostics.length ? `diagnostics (${r.diagnostics.length})` : 'diagnostics: none — every op is supported');
  for (const d of r.diagnostics) out.push(`  ${formatDiagnostic(d)}`);
  const hw = r.hardware;
  if (hw?.lowers) out.push('', `hardware: lowers (${Object.entries(hw.layers).map(([k, n]) => `${n} ${k}`).join(', ')})`);
  else if (hw) {
    const where = [hw.rule ? `rule ${hw.rule}` : 'no rule', hw.node !== undefined ? `at node '${hw.node}'` : 'for the whole graph'].join(' ');
    out.push('', `hardware: does not lower — first refusal: ${where}${hw.causes > 1 ? ` (${hw.causes} causes in all)` : ''}`, `  ${hw.message}`);
  }
  return out.join('\n') + '\n';
}

export const inspectCommand: CommandModule<object, InspectArgs> = {
  command: 'inspect <model>',
  describe: 'Show a model: inputs/outputs, op histogram, per-layer weight statistics, memory, MACs, diagnostics',
  builder: (y) =>
    y
      .positional('model', { type: 'string', demandOption: true, describe: 'ONNX model file' })
      .option('json', { type: 'boolean', default: false, describe: 'Print the report as JSON' })
      .option('dump-after', { type: 'string', array: true, describe: "Print the IR after these passes ('all' for every pass) to stderr" })
      .option('verify', { type: 'boolean', default: false, describe: 'Verify the graph after every pass' })
      .example('$0 inspect model.onnx', 'Readable report; exit 2 when some op is unsupported'),
  handler: (a) => {
    const r = inspectModel(a.model, { dumpAfter: a['dump-after'], verify: a.verify });
    process.stdout.write(a.json ? `${JSON.stringify(r, null, 2)}\n` : formatReport(r));
    if (!r.supported) process.exitCode = EXIT_USER_ERROR;
  },
};
