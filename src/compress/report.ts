// What a compressed model costs and how well it still works: weight memory and compression ratio
// Cr, MACs, multipliers a fully unrolled design needs, whether it lowers to kiln's integer hardware,
// and accuracy on labelled data through the reference executor.
import { KilnError } from '../diag/index.ts';
import { evalConstant, WEIGHT_INPUT, weightStats, type LayerWeights } from '../analysis/weights.ts';
import { macCount } from '../analysis/macs.ts';
import { runGraph } from '../exec/run.ts';
import { attrInt, producers, runtimeInputs, type Graph } from '../ir/graph.ts';
import { makeTensor, toNumbers } from '../ir/tensor.ts';
import { runPipeline } from '../passes/runner.ts';
import { lowerModel } from '../passes/to-dataflow.ts';
import { foldedDataflow } from '../dataflow/pipeline.ts';
import { estimateNetwork } from '../estimate/network.ts';
import { BUDGET_DEVICE, fastestThatFits, type BudgetResult } from './budget.ts';

export interface Metrics {
  /** Nonzero weights (biases not counted). */
  weights: number;
  /** Weight memory in bits: see layerBits. */
  memoryBits: number;
  /** MACs per inference of the dense layers as they stand (structural methods reduce it). */
  macs: number | null;
  /** MACs whose weight is not zero (what a sparse/unrolled design really computes). */
  nonzeroMacs: number | null;
  multipliers: number;
  /** Bits per weight of the widest layer ('float' when unquantized). */
  bits: string;
  /** 'yes', or the error code lowering stops with. */
  lowers: string;
  accuracy?: number;
  /**
   * Estimated hardware (src/estimate) of the design `kiln compile` would build with its default
   * folding: steady-state cycles per inference and xc7 LUT / DSP / BRAM18. Absent when it does not lower.
   */
  hardware?: { cycles: number; lut: number; dsp: number; bram18: number };
  /** The fastest design that fits a device (src/compress/budget.ts); absent when it does not lower. */
  budget?: BudgetResult;
}

/**
 * Memory of one layer's weights in bits: integer-grid weights at their bit width; float weights
 * with few distinct values (weight sharing) as an index per weight plus a float32 codebook;
 * otherwise 32 bits each. A sparse layer may instead store its nonzeros with a column index
 * (CSR-like, ⌈log2 cols⌉ bits each) — whichever is smaller counts.
 */
export function layerBits(l: LayerWeights, cols: number): number {
  const dense = l.kind === 'float' && l.levels <= 256
    ? { per: Math.max(1, Math.ceil(Math.log2(l.levels))), extra: l.levels * 32 }
    : { per: l.bits, extra: 0 };
  const nnz = Math.round(l.elements * (1 - l.sparsity));
  return Math.min(l.elements * dense.per, nnz * (dense.per + Math.ceil(Math.log2(Math.max(2, cols))))) + dense.extra;
}

const isPow2 = (a: number) => a > 0 && Math.log2(a) === Math.round(Math.log2(a));

/**
 * Multipliers of a fully unrolled design: each input x_j is multiplied once by every distinct
 * nonzero weight magnitude of its column (products are shared between outputs, signs are free);
 * magnitudes that are powers of two (1, 2, ½ …) are wiring shifts and need none.
 */
function layerMultipliers(node: Graph['nodes'][number], values: number[], shape: number[]): number {
  let rowsAxis0: boolean;
  if (node.op === 'Conv' || node.op.startsWith('QLinearConv') || node.op === 'ConvInteger') rowsAxis0 = true;
  else if (node.op === 'Gemm') rowsAxis0 = attrInt(node, 'transB', 0) === 1;
  else rowsAxis0 = false;
  const rows = rowsAxis0 ? shape[0] : shape[shape.length - 1];
  const cols = values.length / rows;
  const perCol = Array.from({ length: cols }, () => new Set<number>());
  values.forEach((v, i) => {
    const a = Math.abs(v);
    if (a === 0 || isPow2(a)) return;
    perCol[rowsAxis0 ? i % cols : Math.floor(i / rows)].add(a);
  });
  return perCol.reduce((s, c) => s + c.size, 0);
}

export interface EvalData { inputs: Float32Array[]; labels: number[] }

export function accuracy(g: Graph, data: EvalData): number {
  const decl = runtimeInputs(g)[0];
  const shape = (decl.shape ?? []).map((d) => (typeof d === 'number' ? d : 1));
  const out = g.outputs[0].name;
  let ok = 0;
  data.inputs.forEach((x, i) => {
    const y = toNumbers(runGraph(g, new Map([[decl.name, makeTensor('float32', shape, x)]])).get(out)!);
    let best = 0;
    for (let k = 1; k < y.length; k++) if (y[k] > y[best]) best = k;
    if (best === data.labels[i]) ok++;
  });
  return data.inputs.length ? ok / data.inputs.length : NaN;
}

/** `device`: also the II of the fastest design that fits it (budget; a few seconds of estimates). */
export function measure(g: Graph, data?: EvalData, opts: { device?: string } = {}): Metrics {
  const shaped: Graph = structuredClone(g);
  runPipeline(shaped, ['infer-shapes']);
  const ws = weightStats(shaped);
  const prod = producers(shaped);
  const cache = new Map();
  let memoryBits = 0;
  let weights = 0;
  let multipliers = 0;
  let nonzeroMacs: number | null = 0;
  const macs = macCount(shaped);
  for (const l of ws.layers) {
    const node = shaped.nodes.find((n) => n.name === l.node)!;
    const ev = evalConstant(shaped, node.inputs[WEIGHT_INPUT[node.op]], cache, prod);
    const values = ev ? toNumbers(ev.value) : [];
    const rows = node.op === 'Gemm' && attrInt(node, 'transB', 0) === 1 || node.op.includes('Conv') ? l.shape[0] : l.shape[l.shape.length - 1];
    memoryBits += layerBits(l, l.elements / rows);
    const nnz = Math.round(l.elements * (1 - l.sparsity));
    weights += nnz;
    multipliers += layerMultipliers(node, values, l.shape);
    const m = macs.layers.find((x) => x.node === l.node)?.macs;
    nonzeroMacs = m === null || m === undefined || nonzeroMacs === null ? null : nonzeroMacs + Math.round((m * nnz) / l.elements);
  }
  const widest = ws.layers.reduce((a, l) => Math.max(a, l.kind === 'float' ? 32 : l.bits), 0);
  let lowers = 'yes';
  let hardware: Metrics['hardware'];
  let lowered: ReturnType<typeof lowerModel> | undefined;
  try {
    lowered = lowerModel(g);
    const { df, checked } = foldedDataflow(lowered);
    const e = estimateNetwork(df, checked);
    hardware = { cycles: e.cyclesPerInference, lut: Math.round(e.total.xc7.lut ?? 0), dsp: Math.round(e.total.xc7.dsp ?? 0), bram18: Math.round(e.total.xc7.bram18 ?? 0) };
  } catch (e) {
    if (!(e instanceof KilnError)) throw e;
    lowers = `no (${e.code})`;
    lowered = undefined;
  }
  const budget = hardware && lowered && opts.device ? fastestThatFits(lowered, opts.device) : undefined;
  return {
    weights, memoryBits, macs: macs.total, nonzeroMacs, multipliers,
    bits: widest >= 32 ? 'float' : String(widest), lowers, hardware, budget,
    accuracy: data ? accuracy(g, data) : undefined,
  };
}

export interface ReportRow extends Metrics {
  name: string;
  /** Compression ratio vs the baseline's weight memory. */
  cr: number;
  /**
   * Speedup ratio under the same device budget: II of the hardware baseline's fastest design that
   * fits the device / this design's (when both lower and fit).
   */
  sr?: number;
  notes: string[];
}

/** `hwBaseline`: the design Sr is measured against (a float baseline has no hardware). */
export function reportRow(name: string, m: Metrics, baseline: Metrics, notes: string[] = [], hwBaseline?: Metrics): ReportRow {
  const ref = (hwBaseline ?? baseline).budget?.cycles;
  const own = m.budget?.cycles;
  return { name, ...m, cr: baseline.memoryBits / m.memoryBits, ...(ref && own ? { sr: ref / own } : {}), notes };
}

/** The terminal table. */
export function formatTable(rows: ReportRow[], baseline?: Metrics): string {
  const device = rows.find((r) => r.budget)?.budget?.device ?? BUDGET_DEVICE;
  const head = ['method', 'weights', 'memory KiB', 'Cr', 'MACs', 'nonzero MACs', 'multipliers', 'bits', 'lowers', 'cycles', 'LUT', 'DSP', 'BRAM18', `II @${device}`, 'Sr', 'accuracy', 'Δacc'];
  const body = rows.map((r) => [
    r.name, String(r.weights), (r.memoryBits / 8192).toFixed(1), `${r.cr.toFixed(1)}×`, String(r.macs ?? '?'), String(r.nonzeroMacs ?? '?'),
    String(r.multipliers), r.bits, r.lowers,
    String(r.hardware?.cycles ?? ''),
    String(r.hardware?.lut ?? ''), String(r.hardware?.dsp ?? ''), String(r.hardware?.bram18 ?? ''),
    r.budget === undefined ? '' : r.budget.cycles === undefined ? `no fit (${r.budget.over})` : String(r.budget.cycles),
    r.sr === undefined ? '' : `${r.sr.toFixed(2)}×`,
    r.accuracy === undefined ? '' : `${(100 * r.accuracy).toFixed(2)} %`,
    r.accuracy === undefined || baseline?.accuracy === undefined ? '' : `${(100 * (r.accuracy - baseline.accuracy)).toFixed(2)}`,
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join(' | ')} |`;
  return [line(head), `|${w.map((x, i) => (i === 0 ? '-'.repeat(x + 2) : `${'-'.repeat(x + 1)}:`)).join('|')}|`, ...body.map(line)].join('\n');
}

