// `make unrolled-luts`: Yosys-measured LUTs of the FULLY UNROLLED designs of the zoo's fine-tuned
// mlp_pruned90 and the dense mlp_fp32, both quantized by kiln compress to the same bit width (w8a8),
// plus the zoo's own QDQ export of the fine-tuned model (mlp_pruned90_int8_qdq), written into
// docs/compression.md (between the unrolled-luts markers) and docs/unrolled-luts.json.
// kiln compress's power-of-two scales let the 8-bit activations lower to Requant (round half to even);
// the QDQ export's arbitrary float scales leave float32 rounding in the chain that no exact Requant
// reproduces, so its hidden activations stay 255-step Thresholds.
//
// A whole fully unrolled dense design (54,912 constant int8 multipliers) is beyond what Yosys does in
// reasonable time on this machine, but a fully unrolled layer's output rows (MVU) and channels
// (Threshold, Requant) are independent logic. So per layer we synthesize SAMPLE random rows (seeded,
// the same row indices for every model; REQUANT_SAMPLE channels of a Requant, by default all of
// them, THRESHOLD_SAMPLE of a Threshold) as one fully unrolled layer and extrapolate linearly:
// layer LUTs ≈ sample LUTs × rows / SAMPLE (layers with ≤ SAMPLE rows are synthesized whole). The
// sample's input register and control are counted once per sample, so they are over-counted by the
// extrapolation for both models alike. Same tool settings as `kiln synth` (src/synth: Yosys 0.23
// synth_xilinx -family xc7 -flatten, which also maps some products to DSP48s: DSPs are reported too),
// and once more with -nodsp so that every product is LUT logic and the LUT counts compare like with like.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileDataflow } from '../src/codegen/index.ts';
import { compress } from '../src/compress/index.ts';
import { parseQType, qtypeName } from '../src/ir/datatype.ts';
import type { DataflowGraph, Layer } from '../src/ir/dataflow.ts';
import { mvuOutType } from '../src/layers/mvu.ts';
import { importModel } from '../src/onnx/import.ts';
import { lowerModel } from '../src/passes/to-dataflow.ts';
import { execa } from 'execa';
import { requireTool } from '../src/sim/tools.ts';
import { cellsToResources, synthesize, type Resources } from '../src/synth/yosys.ts';
import { mnist, replaceBetweenMarkers, ROOT } from './mnist.ts';

const SAMPLE = Number(process.env.SAMPLE ?? 2);
// A fully unrolled 8-bit Threshold channel is 255 constant comparators: Yosys needs minutes per channel.
const THRESHOLD_SAMPLE = Number(process.env.THRESHOLD_SAMPLE ?? 1);
// A Requant channel is one constant multiplier, an add, the rounding and a clamp: the whole layer is cheap.
const REQUANT_SAMPLE = Number(process.env.REQUANT_SAMPLE ?? 64);
const SEED = 6;

/** Seeded choice of k of n indices, sorted. */
function sample(n: number, k: number, seed: number): number[] {
  if (k >= n) return Array.from({ length: n }, (_, i) => i);
  let s = seed >>> 0;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const idx = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  return idx.slice(0, k).sort((a, b) => a - b);
}

/** The rows/channels of a layer as its own fully unrolled layer, or undefined for a layer kind we do not sample. */
function subLayer(l: Layer, pick: number[]): { layer: Layer; inType: string; inElems: number; outType: string; of: number } | undefined {
  const a = l.attrs as Record<string, number | string>;
  const k = pick.length;
  if (l.kind === 'MVU') {
    const cols = a.cols as number;
    const weights = pick.flatMap((r) => l.consts.weights.slice(r * cols, (r + 1) * cols));
    const outType = qtypeName(mvuOutType(k, cols, parseQType(a.inType as string), weights));
    return { layer: { ...l, attrs: { ...a, rows: k, pe: k, simd: cols, outType }, consts: { weights } }, inType: a.inType as string, inElems: cols, outType, of: a.rows as number };
  }
  if (l.kind === 'Threshold' || l.kind === 'Requant') {
    const perChannel = a.channels === a.elems;
    const per = (name: string) => {
      const c = l.consts[name];
      const w = c.length / (a.channels as number);
      return perChannel ? pick.flatMap((ch) => c.slice(ch * w, (ch + 1) * w)) : c;
    };
    const consts = Object.fromEntries(Object.keys(l.consts).map((name) => [name, per(name)]));
    return { layer: { ...l, attrs: { ...a, elems: k, channels: perChannel ? k : a.channels, pe: k }, consts }, inType: a.inType as string, inElems: k, outType: a.outType as string, of: a.elems as number };
  }
  return undefined;
}

/**
 * key: content hash of the synthesized sample (its layer attrs and consts, stream types): equal keys
 * are the same logic, so a measurement may be carried over to a later run by comparing keys.
 */
interface LayerMeasure { layer: string; kind: string; sampled: number; of: number; nonzero?: number; layerNonzero?: number; key?: string; carried?: boolean; sample: Resources; extrapolated: Resources; lutNoDsp: number }

/** Only these layer kinds are measured (KINDS=Requant,Threshold); the others are left out of the partial result. */
const KINDS = process.env.KINDS ? new Set(process.env.KINDS.split(',')) : undefined;

const sampleKey = (sub: { layer: Layer; inType: string; outType: string }) =>
  createHash('sha256').update(JSON.stringify({ kind: sub.layer.kind, attrs: sub.layer.attrs, consts: sub.layer.consts, inType: sub.inType, outType: sub.outType })).digest('hex').slice(0, 16);

/** src/synth's xc7 run with -nodsp (not cached): LUTs when no product may use a DSP48. */
async function lutsWithoutDsp(dir: string, files: string[]): Promise<number> {
  // Cached by the sources, as src/synth caches its own runs (a fully unrolled 784-input row takes minutes).
  const key = createHash('sha256').update(JSON.stringify({ v: 1, files: files.map((f) => readFileSync(join(dir, f), 'utf8')) })).digest('hex');
  const cacheDir = join(ROOT, '.cache/synth-nodsp');
  const cached = join(cacheDir, `${key}.json`);
  if (existsSync(cached)) return (JSON.parse(readFileSync(cached, 'utf8')) as { lut: number }).lut;
  const lut = await runWithoutDsp(dir, files);
  mkdirSync(cacheDir, { recursive: true });
  writeFileSync(cached, JSON.stringify({ lut }));
  return lut;
}

async function runWithoutDsp(dir: string, files: string[]): Promise<number> {
  const stat = join(dir, 'stat-nodsp.json');
  const script = `read_verilog -defer ${files.join(' ')}; synth_xilinx -family xc7 -noiopad -flatten -nodsp -top kiln_top; tee -q -o ${stat} stat -json`;
  await execa(requireTool('yosys'), ['-q', '-p', script], { cwd: dir });
  const j = JSON.parse(readFileSync(stat, 'utf8')) as { design?: { num_cells_by_type?: Record<string, number> }; modules: Record<string, { num_cells_by_type?: Record<string, number> }> };
  const cells = (j.design ?? Object.values(j.modules)[0]).num_cells_by_type ?? {};
  return cellsToResources(cells, 'xc7').lut;
}

async function measureModel(df: DataflowGraph): Promise<LayerMeasure[]> {
  const out: LayerMeasure[] = [];
  for (const l of df.layers) {
    const n = (l.kind === 'MVU' ? l.attrs.rows : l.attrs.elems) as number;
    const pick = sample(n, l.kind === 'Threshold' ? THRESHOLD_SAMPLE : l.kind === 'Requant' ? REQUANT_SAMPLE : SAMPLE, SEED);
    const sub = subLayer(l, pick);
    if (!sub || (KINDS && !KINDS.has(l.kind))) continue;
    const g: DataflowGraph = {
      ...df,
      name: `${df.name}_${l.name}_sample`,
      layers: [{ ...sub.layer, inputs: ['x'], outputs: ['y'] }],
      inputs: ['x'],
      outputs: ['y'],
      streams: new Map([
        ['x', { name: 'x', qtype: parseQType(sub.inType), shape: [sub.inElems] }],
        ['y', { name: 'y', qtype: parseQType(sub.outType), shape: [pick.length] }],
      ]),
      inputQuant: [],
      outputAffine: [],
    };
    const dir = mkdtempSync(join(tmpdir(), 'kiln-unrolled-'));
    try {
      // Explicit folding: without it compileDataflow applies the default folding (at most MAX_LANES
      // lanes per MVU), which folds a 784-input row instead of unrolling it.
      const pe = sub.layer.attrs.pe as number;
      const d = compileDataflow(g, join(dir, 'd'), { fold: { [l.name]: l.kind === 'MVU' ? { pe, simd: sub.layer.attrs.simd as number } : { pe } } });
      const built = d.report.layers.find((r) => r.name === l.name);
      if (built?.pe !== pe || (l.kind === 'MVU' && built.simd !== sub.layer.attrs.simd)) throw new Error(`${l.name}: not fully unrolled (pe ${built?.pe}, simd ${built?.simd})`);
      const t = Date.now();
      const r = await synthesize(join(dir, 'd'), d.manifest.files, 'kiln_top', 'xc7');
      // Without DSPs in the first place, -nodsp changes nothing: skip the second run.
      const noDsp = (r.resources.dsp ?? 0) > 0 ? await lutsWithoutDsp(join(dir, 'd'), d.manifest.files) : r.resources.lut;
      const scale = sub.of / pick.length;
      const extrapolated = Object.fromEntries(Object.entries(r.resources).map(([k, v]) => [k, Math.round(v * scale)]));
      const nonzero = l.kind === 'MVU' ? sub.layer.consts.weights.filter((w) => w !== 0).length : undefined;
      const layerNonzero = l.kind === 'MVU' ? l.consts.weights.filter((w) => w !== 0).length : undefined;
      out.push({ layer: l.name, kind: l.kind, sampled: pick.length, of: sub.of, nonzero, layerNonzero, key: sampleKey(sub), sample: r.resources, extrapolated, lutNoDsp: Math.round(noDsp * scale) });
      process.stderr.write(`${df.name} ${l.name}: ${pick.length}/${sub.of} → ${JSON.stringify(r.resources)}, -nodsp ${noDsp} LUT (${((Date.now() - t) / 1000).toFixed(0)} s)\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return out;
}

const total = (ms: LayerMeasure[], pick: (m: LayerMeasure) => number, kind?: string) => ms.filter((m) => !kind || m.kind === kind).reduce((a, m) => a + pick(m), 0);
const lut = (m: LayerMeasure) => m.extrapolated.lut ?? 0;
const dsp = (m: LayerMeasure) => m.extrapolated.dsp ?? 0;
const noDsp = (m: LayerMeasure) => m.lutNoDsp;

const zoo = (m: string) => importModel(join(ROOT, 'test/fixtures/zoo', m, 'model.onnx'), { pipeline: 'tidy-exact' });
const calibration = mnist(200).inputs;
const int8 = { quantize: { weightBits: 8 } };
const MODELS: [string, () => DataflowGraph][] = [
  ['mlp_fp32 → kiln compress w8a8 (dense)', () => lowerModel(compress(zoo('mlp_fp32'), int8, { calibration }).graph)],
  ['mlp_pruned90 → kiln compress w8a8 (zoo, fine-tuned, 90 % zeros)', () => lowerModel(compress(zoo('mlp_pruned90'), int8, { calibration }).graph)],
  ['mlp_pruned90_int8_qdq (zoo\'s own QDQ export of the same fine-tuned model)', () => lowerModel(zoo('mlp_pruned90_int8_qdq'))],
];

// The two models can be measured by two processes (ONLY=0 / ONLY=1, each writing PARTIAL=<file>),
// then the doc is written from both files (FROM=<file0>,<file1>).
type ModelResult = { model: string; layers: LayerMeasure[] };
let results: ModelResult[] = [];
if (process.env.FROM) {
  results = process.env.FROM.split(',').flatMap((f) => JSON.parse(readFileSync(f, 'utf8')) as ModelResult[]);
} else {
  for (const [i, [model, load]] of MODELS.entries()) {
    if (process.env.ONLY === undefined || Number(process.env.ONLY) === i) results.push({ model, layers: await measureModel(load()) });
  }
  if (process.env.PARTIAL) {
    writeFileSync(process.env.PARTIAL, JSON.stringify(results));
    process.exit(0);
  }
}
// MVU nonzero weights per layer for partial results written without them (lowering is quick).
results.forEach((r, i) => {
  if (!r.layers.some((m) => m.kind === 'MVU' && m.layerNonzero === undefined)) return;
  const df = MODELS.find(([label]) => label === r.model)?.[1]() ?? MODELS[i][1]();
  for (const m of r.layers) {
    if (m.kind === 'MVU') m.layerNonzero = df.layers.find((l) => l.name === m.layer)!.consts.weights.filter((w) => w !== 0).length;
  }
});
// Rows of a pruned layer differ a lot in nonzero weights (the 2 sampled fc1 rows of mlp_pruned90 hold ~1.5× the
// layer's mean), so MVUs are also extrapolated by nonzero weights: sample LUTs × layer nonzeros / sample nonzeros.
const byNonzero = (pick: (m: LayerMeasure) => number) => (m: LayerMeasure) =>
  m.kind === 'MVU' && m.nonzero ? Math.round((pick(m) * m.layerNonzero!) / m.of * m.sampled / m.nonzero) : pick(m);
const dense = results[0].layers;
const pct = (a: number, b: number) => `${((100 * a) / b).toFixed(1)} %`;
const rows = results.map(({ model, layers: ls }) => {
  const sampled = ls.filter((l) => l.kind === 'MVU').map((l) => `${l.sampled}/${l.of}`).join(', ');
  const acts = ls.filter((l) => l.kind !== 'MVU').map((l) => `${l.kind} ${l.sampled}/${l.of}`).join(', ');
  return `| ${model} | ${sampled} | ${acts} | ${total(ls, lut, 'MVU')} | ${pct(total(ls, lut, 'MVU'), total(dense, lut, 'MVU'))} | ${total(ls, dsp, 'MVU')} | ${total(ls, lut)} | ${total(ls, dsp)} | ${pct(total(ls, lut), total(dense, lut))} | ${total(ls, noDsp, 'MVU')} | ${pct(total(ls, noDsp, 'MVU'), total(dense, noDsp, 'MVU'))} | ${total(ls, noDsp)} | ${pct(total(ls, noDsp), total(dense, noDsp))} | ${total(ls, byNonzero(lut))} | ${pct(total(ls, byNonzero(lut)), total(dense, byNonzero(lut)))} | ${pct(total(ls, byNonzero(noDsp)), total(dense, byNonzero(noDsp)))} |`;
});
const table = [
  `Fully unrolled (every layer PE = rows, SIMD = cols), Yosys 0.23 \`synth_xilinx -family xc7 -flatten\` as \`kiln synth\` runs it, and the same with \`-nodsp\` (every product in LUTs); ${SAMPLE} random rows per MVU, ${REQUANT_SAMPLE} channels per Requant and ${THRESHOLD_SAMPLE} random channels per Threshold (seed ${SEED}; layers with fewer are synthesized whole), extrapolated linearly to the layer (by rows; the last three columns extrapolate MVUs by nonzero weights instead). Totals are MVUs + activation layers. Regenerate with \`make unrolled-luts\`; per-layer figures in docs/unrolled-luts.json.`,
  '',
  '| model | MVU rows sampled (fc1, fc2, fc3) | activation layers (channels sampled) | MVU LUT | MVU LUT vs dense | MVU DSP | total LUT | total DSP | total LUT vs dense | MVU LUT, -nodsp | vs dense | total LUT, -nodsp | vs dense, -nodsp | total LUT, MVUs by nonzero | vs dense | vs dense, -nodsp, MVUs by nonzero |',
  '|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ...rows,
].join('\n');
process.stdout.write(`${table}\n`);
const docPath = join(ROOT, 'docs/compression.md');
writeFileSync(docPath, replaceBetweenMarkers(readFileSync(docPath, 'utf8'), 'unrolled-luts', table));
writeFileSync(join(ROOT, 'docs/unrolled-luts.json'), `${JSON.stringify({ sample: SAMPLE, requantSample: REQUANT_SAMPLE, thresholdSample: THRESHOLD_SAMPLE, seed: SEED, results }, null, 1)}\n`);
