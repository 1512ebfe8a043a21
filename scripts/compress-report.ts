// `make compress-report`: every compression method and several combinations on the zoo's float
// MNIST models, measured on the 2,000-image MNIST test split (examples/tfc_w1a1). Rewrites the table
// between the report markers in docs/compression.md and writes docs/compression-report.json and
// docs/compression-report.html (rate–distortion plot + table, self-contained).
// Calibration uses the first 200 test images (the zoo ships no training data); accuracy is over all 2,000.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compress, type Recipe } from '../src/compress/index.ts';
import { BUDGET_DEVICE } from '../src/compress/budget.ts';
import { renderCompressionHtml, type HtmlSection } from '../src/compress/html.ts';
import { formatTable, measure, reportRow, type EvalData, type Metrics, type ReportRow } from '../src/compress/report.ts';
import { importModel } from '../src/onnx/import.ts';
import { mnist, ROOT } from './mnist.ts';

const CALIBRATION = 200;

const q = (weightBits: number, extra: Partial<NonNullable<Recipe['quantize']>> = {}): Recipe['quantize'] => ({ weightBits, ...extra });
const RECIPES: [string, Recipe][] = [
  ['int8 PTQ (w8a8, per-channel, min-max)', { quantize: q(8) }],
  ['int8 per-tensor', { quantize: q(8, { perChannel: false }) }],
  ['int8 asymmetric, percentile 99.99', { quantize: q(8, { symmetric: false, method: 'percentile' }) }],
  ['int8 MSE, no bias correction', { quantize: q(8, { method: 'mse', biasCorrection: false }) }],
  ['int4 PTQ (w4a4)', { quantize: q(4) }],
  ['w4a8', { quantize: q(4, { actBits: 8 }) }],
  ['w2a8', { quantize: q(2, { actBits: 8 }) }],
  ['binary weights (BWN) + a8', { weightCode: 'binary', quantize: q(8) }],
  ['ternary weights (TWN) + a8', { weightCode: 'ternary', quantize: q(8) }],
  ['binary weights + binary activations', { weightCode: 'binary', binarizeActivations: true, quantize: q(8) }],
  ['magnitude pruning 50 % (float)', { prune: { ratio: 0.5 } }],
  ['magnitude pruning 90 % (float)', { prune: { ratio: 0.9 } }],
  ['L1 filter pruning 25 % (float)', { filterPrune: 0.25 }],
  ['L1 filter pruning 50 % (float)', { filterPrune: 0.5 }],
  ['SVD rank 16 (float)', { lowRank: { rank: 16 } }],
  ['SVD rank 8 (float)', { lowRank: { rank: 8 } }],
  ['k-means 16 (float)', { kmeans: 16 }],
  ['k-means 4 (float)', { kmeans: 4 }],
  ['prune 70 % + int4', { prune: { ratio: 0.7 }, quantize: q(4) }],
  ['prune 90 % + int8', { prune: { ratio: 0.9 }, quantize: q(8) }],
  ['SVD rank 16 + int8', { lowRank: { rank: 16 }, quantize: q(8) }],
  ['k-means 16 + prune 50 %', { prune: { ratio: 0.5 }, kmeans: 16 }],
  ['k-means 16 + prune 50 % + int8', { prune: { ratio: 0.5 }, kmeans: 16, quantize: q(8) }],
  ['filter pruning 25 % + int8', { filterPrune: 0.25, quantize: q(8) }],
];

function run(model: string, data: EvalData, recipes: [string, Recipe][]): { rows: ReportRow[]; baseline: Metrics } {
  const g = importModel(join(ROOT, 'test/fixtures/zoo', model, 'model.onnx'), { pipeline: 'tidy-exact' });
  const calibration = data.inputs.slice(0, CALIBRATION);
  const baseline = measure(g, data, { device: BUDGET_DEVICE });
  const rows: ReportRow[] = [reportRow('float32 original', baseline, baseline)];
  let hwBaseline: Metrics | undefined;
  for (const [name, recipe] of recipes) {
    const t = Date.now();
    let row: ReportRow;
    try {
      const { graph, notes } = compress(g, recipe, { calibration });
      const m = measure(graph, data, { device: BUDGET_DEVICE });
      hwBaseline ??= m; // the int8 PTQ design (first recipe) is the hardware reference for Sr
      row = reportRow(name, m, baseline, notes, hwBaseline);
    } catch (e) {
      process.stderr.write(`${model} ${name}: ${(e as Error).message}\n`);
      continue;
    }
    rows.push(row);
    process.stderr.write(`${model} ${name}: ${((row.accuracy ?? 0) * 100).toFixed(2)} % (${Date.now() - t} ms)\n`);
  }
  return { rows, baseline };
}

const data = mnist(process.env.N ? Number(process.env.N) : undefined);
const sections: string[] = [];
const html: HtmlSection[] = [];
const json: Record<string, ReportRow[]> = {};
// The zoo's fine-tuned 90 %-sparse MLP: what quantization adds to pruning done with retraining.
const MODELS: [string, [string, Recipe][]][] = [
  ['mlp_fp32', RECIPES],
  ['lenet5_fp32', RECIPES],
  ['mlp_pruned90', RECIPES.filter(([name]) => ['int8 PTQ (w8a8, per-channel, min-max)', 'int4 PTQ (w4a4)', 'w4a8', 'ternary weights (TWN) + a8', 'k-means 16 (float)'].includes(name))],
];
for (const [model, recipes] of MODELS) {
  const { rows, baseline } = run(model, data, recipes);
  json[model] = rows;
  html.push({ title: `${model} (${data.inputs.length} MNIST test images)`, rows, baseline });
  sections.push(`### ${model} (${data.inputs.length} MNIST test images, calibration on the first ${CALIBRATION})\n\n${formatTable(rows, baseline)}\n`);
  process.stdout.write(`${model}\n${formatTable(rows, baseline)}\n\n`);
}
const docPath = join(ROOT, 'docs/compression.md');
const doc = readFileSync(docPath, 'utf8');
const begin = '<!-- report:begin (make compress-report) -->';
const end = '<!-- report:end -->';
const a = doc.indexOf(begin);
const b = doc.indexOf(end);
if (a < 0 || b < a) throw new Error(`docs/compression.md lacks the ${begin} … ${end} markers`);
writeFileSync(docPath, `${doc.slice(0, a + begin.length)}\n\n${sections.join('\n')}\n${doc.slice(b)}`);
writeFileSync(join(ROOT, 'docs/compression-report.json'), `${JSON.stringify(json, null, 1)}\n`);
writeFileSync(join(ROOT, 'docs/compression-report.html'), renderCompressionHtml('kiln compress: every method on the zoo MNIST models', html, [
  `Post-training compression without retraining; accuracy on ${data.inputs.length} MNIST test images, calibration on the first ${CALIBRATION}. Sr: against the int8 PTQ design of the same model. Regenerate with make compress-report.`,
]));
