// kiln compress <model> -o <out.onnx> [methods] [--calib x.npy] [--eval x.npy --labels y.npy] [--report-html r.html]:
// post-training compression (src/compress) and a report of what it bought and cost. The output
// file is written only when everything succeeded (temp file, then rename).
import { renameSync, writeFileSync } from 'node:fs';
import { checkOutputPath } from '../io/output-path.ts';
import { basename } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { compress, encodeModel, importModel } from '../api/index.ts';
import type { Recipe } from '../compress/index.ts';
import { splitSamples } from '../compress/calibrate.ts';
import type { CalibrationMethod } from '../compress/quantize.ts';
import { formatTable, measure, reportRow, type EvalData } from '../compress/report.ts';
import { BUDGET_DEVICE } from '../compress/budget.ts';
import { renderCompressionHtml } from '../compress/html.ts';
import { fail } from '../diag/index.ts';
import { loadDevice } from '../dataflow/fold-auto.ts';
import { toNumbers } from '../ir/tensor.ts';
import { readTensorFile } from '../api/tensors.ts';
import { numberOption } from './options.ts';

interface CompressArgs {
  model: string;
  out: string;
  bits?: number;
  actBits?: string;
  perTensor: boolean;
  asymmetric: boolean;
  calibMethod: string;
  percentile: number;
  biasCorrection: boolean;
  scales: string;
  binarize: boolean;
  ternarize: boolean;
  binarizeActs: boolean;
  prune?: number;
  pruneScope: string;
  filterPrune?: number;
  rank?: string[];
  kmeans?: number;
  calib?: string;
  calibCount: number;
  eval?: string;
  labels?: string;
  json?: string;
  reportHtml?: string;
  device: string;
}

/** --rank 16 (every layer it fits and saves weights in) or --rank fc1=16 --rank fc2=8. */
function parseRank(specs: string[]): Recipe['lowRank'] {
  if (specs.length === 1 && !specs[0].includes('=')) return { rank: Number(specs[0]) };
  const byLayer: Record<string, number> = {};
  for (const s of specs) {
    const k = s.lastIndexOf('=');
    if (k < 1) fail('BadArgument', `--rank must be N or <layer>=N, not '${s}'`);
    byLayer[s.slice(0, k)] = Number(s.slice(k + 1));
  }
  return { rank: byLayer };
}

export function recipeFromArgs(a: CompressArgs): Recipe {
  const r: Recipe = {};
  if (a.binarize && a.ternarize) fail('BadArgument', '--binarize and --ternarize exclude each other');
  if (!['minmax', 'percentile', 'mse'].includes(a.calibMethod)) fail('BadArgument', `--calib-method must be minmax, percentile or mse, not '${a.calibMethod}'`);
  if (!['pow2', 'float'].includes(a.scales)) fail('BadArgument', `--scales must be pow2 or float, not '${a.scales}'`);
  if (!['global', 'layer'].includes(a.pruneScope)) fail('BadArgument', `--prune-scope must be global or layer, not '${a.pruneScope}'`);
  if (a.filterPrune !== undefined) r.filterPrune = a.filterPrune;
  if (a.rank?.length) r.lowRank = parseRank(a.rank);
  if (a.prune !== undefined) r.prune = { ratio: a.prune, scope: a.pruneScope as 'global' | 'layer' };
  if (a.kmeans !== undefined) r.kmeans = a.kmeans;
  if (a.binarize) r.weightCode = 'binary';
  if (a.ternarize) r.weightCode = 'ternary';
  if (a.binarizeActs) r.binarizeActivations = true;
  if (a.bits !== undefined) {
    const act = a.actBits === undefined ? a.bits : a.actBits === 'float' ? null : Number(a.actBits);
    r.quantize = {
      weightBits: a.bits, actBits: act, perChannel: !a.perTensor, symmetric: !a.asymmetric,
      method: a.calibMethod as CalibrationMethod, percentile: a.percentile, biasCorrection: a.biasCorrection,
      scales: a.scales as 'pow2' | 'float',
    };
  }
  if (!Object.keys(r).length) fail('BadArgument', 'give at least one method: --bits, --binarize, --ternarize, --prune, --filter-prune, --rank or --kmeans');
  return r;
}

export const compressCommand: CommandModule<object, CompressArgs> = {
  command: 'compress <model>',
  describe: 'Compress a float model (quantize, binarize, prune, low-rank, weight sharing) and report Cr, MACs, accuracy',
  builder: (y) => y
    .positional('model', { type: 'string', demandOption: true, describe: 'ONNX model file' })
    .option('out', { alias: 'o', type: 'string', demandOption: true, describe: 'compressed ONNX file to write' })
    .option('bits', numberOption('bits', { describe: 'post-training quantization: weight bits (2–16)' }))
    .option('act-bits', { type: 'string', describe: 'activation bits (2–16, default --bits) or float' })
    .option('per-tensor', { type: 'boolean', default: false, describe: 'one weight scale per tensor (default per channel)' })
    .option('asymmetric', { type: 'boolean', default: false, describe: 'asymmetric ranges with zero points (default symmetric)' })
    .option('calib-method', { type: 'string', default: 'minmax', describe: 'activation range: minmax, percentile or mse' })
    .option('percentile', numberOption('percentile', { default: 99.99, describe: 'percentile kept by --calib-method percentile' }))
    .option('bias-correction', { type: 'boolean', default: true, describe: 'correct biases for the weight quantization error (--no-bias-correction)' })
    .option('scales', { type: 'string', default: 'pow2', describe: 'pow2 (exact in every executor and in hardware) or float' })
    .option('binarize', { type: 'boolean', default: false, describe: 'BWN: weights α·sign(w), α per channel' })
    .option('ternarize', { type: 'boolean', default: false, describe: 'TWN: weights α·{−1,0,1}, Δ = 0.7·mean|w|' })
    .option('binarize-acts', { type: 'boolean', default: false, describe: 'XNOR-Net style: Relu before weight layers becomes Sign' })
    .option('prune', numberOption('prune', { describe: 'magnitude pruning ratio in [0, 1)' }))
    .option('prune-scope', { type: 'string', default: 'global', describe: 'global (one threshold) or layer (same ratio per layer)' })
    .option('filter-prune', numberOption('filter-prune', { describe: 'L1 filter pruning: fraction of output channels removed per layer, [0, 1)' }))
    .option('rank', { type: 'string', array: true, describe: 'low-rank SVD: N, or <layer>=N (repeatable)' })
    .option('kmeans', numberOption('kmeans', { describe: 'weight sharing: k-means clusters per layer' }))
    .option('calib', { type: 'string', describe: 'calibration inputs .npy float32 [N, …input dims]' })
    .option('calib-count', numberOption('calib-count', { integer: true, min: 1, default: 256, describe: 'use at most this many calibration vectors' }))
    .option('eval', { type: 'string', describe: 'evaluation inputs .npy float32 [N, …]' })
    .option('labels', { type: 'string', describe: 'evaluation labels .npy integer [N]' })
    .option('json', { type: 'string', describe: 'also write the report as JSON to this file' })
    .option('report-html', { type: 'string', describe: 'also write the report as HTML (rate–distortion plot, table) to this file' })
    .option('device', { type: 'string', default: BUDGET_DEVICE, describe: 'device budget for II and Sr (fastest folding that fits; src/estimate/devices)' }) as unknown as Argv<CompressArgs>,
  handler: (a) => {
    const recipe = recipeFromArgs(a);
    checkOutputPath(a.out, 'file', '--out file');
    if (a.json) checkOutputPath(a.json, 'file', '--json file');
    if (a.reportHtml) checkOutputPath(a.reportHtml, 'file', '--report-html file');
    loadDevice(a.device); // KLN2004 before any work
    const g = importModel(a.model);
    const calibration = a.calib ? splitSamples(g, readTensorFile(a.calib), `calibration file '${a.calib}'`).slice(0, a.calibCount) : undefined;
    let data: EvalData | undefined;
    if (a.eval || a.labels) {
      if (!a.eval || !a.labels) fail('BadArgument', '--eval and --labels go together');
      const inputs = splitSamples(g, readTensorFile(a.eval), `evaluation file '${a.eval}'`);
      const labels = toNumbers(readTensorFile(a.labels));
      if (labels.length !== inputs.length) fail('InputMismatch', `'${a.labels}' holds ${labels.length} labels for ${inputs.length} evaluation inputs`);
      data = { inputs, labels };
    }
    const { graph, notes } = compress(g, recipe, { calibration });
    const bytes = encodeModel(graph);
    const opts = { device: a.device };
    const base = measure(g, data, opts);
    // A float original has no hardware: Sr is then measured against its int8 PTQ design.
    const reference = base.lowers === 'yes' || !calibration ? undefined : measure(compress(g, { quantize: { weightBits: 8 } }, { calibration }).graph, data, opts);
    const rows = [
      reportRow('original', base, base),
      ...(reference ? [reportRow('int8 PTQ of the original (hardware reference for Sr)', reference, base)] : []),
      reportRow('compressed', measure(graph, data, opts), base, notes, reference),
    ];
    const tmp = `${a.out}.tmp-${process.pid}`;
    writeFileSync(tmp, bytes);
    renameSync(tmp, a.out);
    if (a.json) writeFileSync(a.json, JSON.stringify({ model: a.model, out: a.out, recipe, rows }, null, 2) + '\n');
    if (a.reportHtml) writeFileSync(a.reportHtml, renderCompressionHtml(`kiln compress: ${basename(a.model)}`, [{ title: basename(a.model), rows, baseline: base }], notes));
    process.stdout.write(`${formatTable(rows, base)}\n${notes.map((n) => `  ${n}`).join('\n')}\nwrote ${a.out} (${bytes.length} bytes)\n`);
  },
};

