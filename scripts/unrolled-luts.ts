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
// (Threshold, Requant) are independent logic. So per layer we synthesize k evenly spaced rows (SAMPLE,
// per MVU; the same row indices for models given the same k; REQUANT_SAMPLE channels of a Requant, by default all
// of them, THRESHOLD_SAMPLE of a Threshold) as one fully unrolled layer and extrapolate linearly:
// layer LUTs ≈ sample LUTs × rows / k (layers with ≤ k rows are synthesized whole). The
// sample's input register and control are counted once per sample, so they are over-counted by the
// extrapolation for both models alike. Same tool settings as `kiln synth` (src/synth: Yosys 0.23
// synth_xilinx -family xc7 -flatten, which also maps some products to DSP48s: DSPs are reported too),
// and once more with -nodsp so that every product is LUT logic and the LUT counts compare like with like.
// Yosys time grows with the lanes a design elaborates (zero products are removed only after
// elaboration), not with nonzero weights: the committed figures were made by
//   ONLY=0 SAMPLE=16,16,all LAYERS=fcs_1_Gemm,fcs_2_Gemm,<both Requants> PARTIAL=p3.json
//   ONLY=1 SAMPLE=16,all,all LAYERS=fcs_1_Gemm,fcs_2_Gemm,<both Requants> PARTIAL=p1.json
//   ONLY=1 SAMPLE=4 LAYERS=fcs_0_Gemm PARTIAL=p2.json
//   FROM=<previous docs/unrolled-luts.json>,p3.json,p1.json,p2.json   (writes the doc)
// (~25 min each for the bigger samples on the shared 2-core machine); a full default run takes hours.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileDataflow } from '../src/codegen/index.ts';
import { compress } from '../src/compress/index.ts';
import { bitWidth, parseQType, qtypeName } from '../src/ir/datatype.ts';
import type { DataflowGraph, Layer } from '../src/ir/dataflow.ts';
import { mvuOutType } from '../src/layers/mvu.ts';
import { importModel } from '../src/onnx/import.ts';
import { lowerModel } from '../src/passes/to-dataflow.ts';
import { execa } from 'execa';
import { requireTool } from '../src/tools/index.ts';
import type { Resources } from '../src/estimate/units.ts';
import { cellsToResources, synthesize } from '../src/synth/yosys.ts';
import { mnist, replaceBetweenMarkers, ROOT } from './mnist.ts';

// Rows per MVU, in layer order: one count for every MVU (SAMPLE=16) or one per MVU (SAMPLE=2,16,all).
const SAMPLE = (process.env.SAMPLE ?? '16').split(',');
const mvuSample = (i: number, rows: number) => {
  const s = SAMPLE[Math.min(i, SAMPLE.length - 1)];
  return s === 'all' ? rows : Number(s);
};
// A fully unrolled 8-bit Threshold channel is 255 constant comparators: Yosys needs minutes per channel.
const THRESHOLD_SAMPLE = Number(process.env.THRESHOLD_SAMPLE ?? 1);
// A Requant channel is one constant multiplier, an add, the rounding and a clamp: the whole layer is cheap.
const REQUANT_SAMPLE = Number(process.env.REQUANT_SAMPLE ?? 64);

/**
 * k of n indices, evenly spaced (index floor((2i + 1)·n / 2k), i < k): a rule fixed before any row is
 * synthesized, the same rows for every model with the same layer shape; all n when k ≥ n.
 */
function sample(n: number, k: number): number[] {
  if (k >= n) return Array.from({ length: n }, (_, i) => i);
  return Array.from({ length: k }, (_, i) => Math.floor(((2 * i + 1) * n) / (2 * k)));
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
interface LayerMeasure { layer: string; kind: string; sampled: number; of: number; rows?: number[]; chunks?: number; seconds?: number; nonzero?: number; layerNonzero?: number; key?: string; carried?: boolean; sample: Resources; extrapolated: Resources; lutNoDsp: number }

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

/** One fully unrolled design of the rows/channels in sub: its xc7 resources and its LUTs with -nodsp. */
async function synthChunk(df: DataflowGraph, l: Layer, sub: NonNullable<ReturnType<typeof subLayer>>, k: number): Promise<{ resources: Resources; noDsp: number }> {
  const g: DataflowGraph = {
    ...df,
    name: `${df.name}_${l.name}_sample`,
    layers: [{ ...sub.layer, inputs: ['x'], outputs: ['y'] }],
    inputs: ['x'],
    outputs: ['y'],
    streams: new Map([
      ['x', { name: 'x', qtype: parseQType(sub.inType), shape: [sub.inElems] }],
      ['y', { name: 'y', qtype: parseQType(sub.outType), shape: [k] }],
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
    const r = await synthesize(join(dir, 'd'), d.manifest.files, 'kiln_top', 'xc7');
    // Without DSPs in the first place, -nodsp changes nothing: skip the second run.
    const noDsp = (r.resources.dsp ?? 0) > 0 ? await lutsWithoutDsp(join(dir, 'd'), d.manifest.files) : r.resources.lut;
    return { resources: r.resources, noDsp };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Only these layers are measured (LAYERS=fcs_1_Gemm,fcs_2_Gemm); the others are left out of the partial result. */
const LAYERS = process.env.LAYERS ? new Set(process.env.LAYERS.split(',')) : undefined;

/** Measures df's layers into out, calling saved() after each (a long run keeps what it has measured so far). */
async function measureModel(df: DataflowGraph, out: LayerMeasure[], saved: () => void): Promise<LayerMeasure[]> {
  let mvuIndex = 0;
  for (const l of df.layers) {
    const n = (l.kind === 'MVU' ? l.attrs.rows : l.attrs.elems) as number;
    const pick = sample(n, l.kind === 'Threshold' ? THRESHOLD_SAMPLE : l.kind === 'Requant' ? REQUANT_SAMPLE : mvuSample(mvuIndex++, n));
    const sub = subLayer(l, pick);
    if (!sub || (KINDS && !KINDS.has(l.kind)) || (LAYERS && !LAYERS.has(l.name))) continue;
    // One cycle's weights are one constant (pe·simd·weight bits ≤ 65536, src/layers/mvu.ts): a sample of
    // more 784-input rows than fit is synthesized in chunks of rows, each its own design, and summed
    // (each chunk counts its own input register and control once more).
    const perChunk = l.kind === 'MVU' ? Math.max(1, Math.floor(65536 / ((l.attrs.cols as number) * bitWidth(parseQType(l.attrs.weightType as string))))) : pick.length;
    const nChunks = Math.ceil(pick.length / perChunk);
    const size = Math.ceil(pick.length / nChunks);
    const chunks = Array.from({ length: nChunks }, (_, i) => pick.slice(i * size, (i + 1) * size));
    const t = Date.now();
    const sum: Resources = { lut: 0, ff: 0, dsp: 0, bram18: 0 } as Resources;
    let noDsp = 0;
    for (const chunk of chunks) {
      const part = subLayer(l, chunk)!;
      const r = await synthChunk(df, l, part, chunk.length);
      for (const [k, v] of Object.entries(r.resources)) (sum as Record<string, number>)[k] = ((sum as Record<string, number>)[k] ?? 0) + (v as number);
      noDsp += r.noDsp;
    }
    const scale = sub.of / pick.length;
    const extrapolated = Object.fromEntries(Object.entries(sum).map(([k, v]) => [k, Math.round((v as number) * scale)])) as Resources;
    const nonzero = l.kind === 'MVU' ? sub.layer.consts.weights.filter((w) => w !== 0).length : undefined;
    const layerNonzero = l.kind === 'MVU' ? l.consts.weights.filter((w) => w !== 0).length : undefined;
    const seconds = Math.round((Date.now() - t) / 1000);
    out.push({ layer: l.name, kind: l.kind, sampled: pick.length, of: sub.of, rows: pick.length < sub.of ? pick : undefined, chunks: chunks.length > 1 ? chunks.length : undefined, seconds, nonzero, layerNonzero, key: sampleKey(sub), sample: sum, extrapolated, lutNoDsp: Math.round(noDsp * scale) });
    saved();
    process.stderr.write(`${df.name} ${l.name}: ${pick.length}/${sub.of} in ${chunks.length} chunk(s) → ${JSON.stringify(sum)}, -nodsp ${noDsp} LUT (${seconds} s)\n`);
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

// The models (and layers: LAYERS=...) can be measured by several processes (ONLY=<model index>, each
// writing PARTIAL=<file>, rewritten after every layer), then the doc is written from the files
// (FROM=<file>,<file>,...). FROM merges by model and layer, a later file's entry replacing an earlier
// one; a file in docs/unrolled-luts.json's own format ({ results }) supplies entries carried over from
// an earlier run, marked carried (so a layer too slow to re-measure keeps its earlier figure, said so).
type ModelResult = { model: string; layers: LayerMeasure[] };
let results: ModelResult[] = [];
if (process.env.FROM) {
  for (const f of process.env.FROM.split(',')) {
    const j = JSON.parse(readFileSync(f, 'utf8')) as ModelResult[] | { results: ModelResult[] };
    const carried = !Array.isArray(j);
    for (const r of Array.isArray(j) ? j : j.results) {
      let into = results.find((x) => x.model === r.model);
      if (!into) results.push((into = { model: r.model, layers: [] }));
      for (const m of r.layers) {
        const e = carried ? { ...m, carried: true } : m;
        const at = into.layers.findIndex((x) => x.layer === m.layer);
        if (at >= 0) into.layers[at] = e;
        else into.layers.push(e);
      }
    }
  }
  results.sort((a, b) => MODELS.findIndex(([l]) => l === a.model) - MODELS.findIndex(([l]) => l === b.model));
} else {
  const save = () => process.env.PARTIAL && writeFileSync(process.env.PARTIAL, JSON.stringify(results));
  for (const [i, [model, load]] of MODELS.entries()) {
    if (process.env.ONLY !== undefined && Number(process.env.ONLY) !== i) continue;
    const r: ModelResult = { model, layers: [] };
    results.push(r);
    await measureModel(load(), r.layers, save);
  }
  if (process.env.PARTIAL) {
    save();
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
// Rows of a pruned layer differ a lot in nonzero weights (2 random fc1 rows of mlp_pruned90 held 1.49× the layer's
// mean, the 4 evenly spaced ones 1.18×), so MVUs are also extrapolated by nonzero weights: sample LUTs × layer nonzeros / sample nonzeros.
const byNonzero = (pick: (m: LayerMeasure) => number) => (m: LayerMeasure) =>
  m.kind === 'MVU' && m.nonzero ? Math.round((pick(m) * m.layerNonzero!) / m.of * m.sampled / m.nonzero) : pick(m);
const dense = results[0].layers;
const pct = (a: number, b: number) => `${((100 * a) / b).toFixed(1)} %`;
const rows = results.map(({ model, layers: ls }) => {
  const mark = (l: LayerMeasure) => (l.carried ? ' †' : '');
  const sampled = ls.filter((l) => l.kind === 'MVU').map((l) => `${l.sampled}/${l.of}${mark(l)}`).join(', ');
  const acts = ls.filter((l) => l.kind !== 'MVU').map((l) => `${l.kind} ${l.sampled}/${l.of}${mark(l)}`).join(', ');
  return `| ${model} | ${sampled} | ${acts} | ${total(ls, lut, 'MVU')} | ${pct(total(ls, lut, 'MVU'), total(dense, lut, 'MVU'))} | ${total(ls, dsp, 'MVU')} | ${total(ls, lut)} | ${total(ls, dsp)} | ${pct(total(ls, lut), total(dense, lut))} | ${total(ls, noDsp, 'MVU')} | ${pct(total(ls, noDsp, 'MVU'), total(dense, noDsp, 'MVU'))} | ${total(ls, noDsp)} | ${pct(total(ls, noDsp), total(dense, noDsp))} | ${total(ls, byNonzero(lut))} | ${pct(total(ls, byNonzero(lut)), total(dense, byNonzero(lut)))} | ${pct(total(ls, byNonzero(noDsp)), total(dense, byNonzero(noDsp)))} |`;
});
const table = [
  `Fully unrolled (every layer PE = rows, SIMD = cols), Yosys 0.23 \`synth_xilinx -family xc7 -flatten\` as \`kiln synth\` runs it, and the same with \`-nodsp\` (every product in LUTs). Each MVU is synthesized on k of its n rows, evenly spaced (row ⌊(2i+1)·n/2k⌋, i < k; k/n per layer in the table, n/n = the whole layer, no extrapolation), activation layers on ${REQUANT_SAMPLE} channels per Requant and ${THRESHOLD_SAMPLE} per Threshold, and extrapolated linearly to the layer (by rows; the last three columns extrapolate MVUs by nonzero weights instead: sample LUTs × layer nonzeros / sample nonzeros). † = carried over from an earlier run that drew 2 seeded-random rows per MVU (64-row layers: rows 12 and 62; fc3: rows 1 and 5) and Threshold channel 12 (too slow to re-measure). Totals are MVUs + activation layers. Regenerate with \`make unrolled-luts\` (per-layer counts: SAMPLE=k1,k2,k3); per-layer figures, rows and seconds in docs/unrolled-luts.json.`,
  '',
  '| model | MVU rows sampled (fc1, fc2, fc3) | activation layers (channels sampled) | MVU LUT | MVU LUT vs dense | MVU DSP | total LUT | total DSP | total LUT vs dense | MVU LUT, -nodsp | vs dense | total LUT, -nodsp | vs dense, -nodsp | total LUT, MVUs by nonzero | vs dense | vs dense, -nodsp, MVUs by nonzero |',
  '|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ...rows,
].join('\n');
process.stdout.write(`${table}\n`);
const docPath = join(ROOT, 'docs/compression.md');
writeFileSync(docPath, replaceBetweenMarkers(readFileSync(docPath, 'utf8'), 'unrolled-luts', table));
writeFileSync(join(ROOT, 'docs/unrolled-luts.json'), `${JSON.stringify({ rowRule: 'k of n rows evenly spaced: floor((2i+1)n/2k), i < k (carried entries: seeded-random rows of an earlier run)', results }, null, 1)}\n`);
