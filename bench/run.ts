// `make bench`: import and reference-execution times of kiln against onnxruntime-node.
// Sections are named entries of SECTIONS; other engineers add theirs (compile, sim, …) there.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KilnError } from '../src/diag/index.ts';
import { runGraph } from '../src/exec/run.ts';
import { runtimeInputs, type Graph } from '../src/ir/graph.ts';
import { isFloat, makeTensor, nums, type Tensor } from '../src/ir/tensor.ts';
import { importModel } from '../src/onnx/import.ts';
import { decodeTensorFile } from '../src/onnx/tensor.ts';
import { mlpSection } from './mlp.ts';
import { estimateCliSection, estimateSection } from './estimate.ts';
import { cnnSection } from './cnn.ts';
import { thresholdsSection } from './thresholds.ts';
import { medianMs, type BenchContext, type BenchSection } from './section.ts';
import { lowerCorpusSection } from './lower-corpus.ts';
import { peersSection } from './peers.ts';
import { scaleSection } from './scale.ts';
import { unrolledSection } from './unrolled.ts';

export function table(rows: string[][]): string[] {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  '));
}

interface CorpusRecord {
  file: string;
  size: number;
  tier: string;
}

/** The model's first golden input set, or deterministic pseudo-random inputs. */
function inputsFor(g: Graph, modelPath: string): Tensor[] {
  const set = join(modelPath.replace(/\.onnx$/, ''), 'test_data_set_0');
  const decls = runtimeInputs(g);
  return decls.map((d, k) => {
    const pb = join(set, `input_${k}.pb`);
    if (existsSync(pb)) return decodeTensorFile(readFileSync(pb), pb);
    const shape = (d.shape ?? []).map((x) => (typeof x === 'number' ? x : 1));
    const t = makeTensor(d.dtype, shape);
    const data = nums(t);
    let s = 1234 + k;
    for (let i = 0; i < data.length; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      data[i] = isFloat(d.dtype) ? s / 2 ** 32 - 0.5 : s % 8;
    }
    return t;
  });
}

type Ort = typeof import('onnxruntime-node');

/** ORT warns about every initializer an old exporter also lists as a graph input; only errors matter here. */
const QUIET = { logSeverityLevel: 3 as const };

async function loadOrt(): Promise<Ort | undefined> {
  try {
    const mod = (await import('onnxruntime-node')) as unknown as Ort & { default?: Ort };
    const ort = mod.default?.InferenceSession ? mod.default : mod;
    ort.env.logLevel = 'error';
    return ort;
  } catch {
    return undefined;
  }
}

function ortTensor(ort: Ort, t: Tensor): InstanceType<Ort['Tensor']> {
  const d = nums(t);
  switch (t.dtype) {
    case 'float32': return new ort.Tensor('float32', Float32Array.from(d), t.shape);
    case 'int64': return new ort.Tensor('int64', BigInt64Array.from(Array.from(d, (v) => BigInt(v))), t.shape);
    case 'int8': return new ort.Tensor('int8', Int8Array.from(d), t.shape);
    case 'uint8': return new ort.Tensor('uint8', Uint8Array.from(d), t.shape);
    case 'int32': return new ort.Tensor('int32', Int32Array.from(d), t.shape);
    default: throw new Error(`bench: no ORT tensor for ${t.dtype}`);
  }
}

/** Times kiln and ORT on one model; returns the table row. */
async function benchModel(ctx: BenchContext, ort: Ort | undefined, rel: string, path: string): Promise<string[]> {
  const importMs = await medianMs(ctx.repeats, () => importModel(path, { pipeline: 'tidy-exact' }));
  const g = importModel(path, { pipeline: 'tidy-exact' });
  const inputs = inputsFor(g, path);
  const feeds = new Map(runtimeInputs(g).map((d, k) => [d.name, inputs[k]]));
  const execMs = await medianMs(ctx.repeats, () => runGraph(g, feeds));
  let ortImport = 'n/a', ortRun = 'n/a', ratio = 'n/a', note = '';
  if (ort) {
    try {
      const bytes = readFileSync(path);
      const loadMs = await medianMs(ctx.repeats, () => ort.InferenceSession.create(bytes, QUIET));
      const session = await ort.InferenceSession.create(bytes, QUIET);
      const names = session.inputNames;
      const ortFeeds = Object.fromEntries(names.map((n, k) => [n, ortTensor(ort, inputs[k])]));
      const runMs = await medianMs(ctx.repeats, () => session.run(ortFeeds));
      ortImport = loadMs.toFixed(1);
      ortRun = runMs.toFixed(2);
      ratio = `${(execMs / runMs).toFixed(1)}×`;
    } catch (e) {
      note = `ORT: ${(e as Error).message.split('\n')[0].slice(0, 70)}`;
    }
  } else note = 'onnxruntime-node not installed';
  return [rel, (readFileSync(path).length / 1024).toFixed(0), importMs.toFixed(1), execMs.toFixed(2), ortImport, ortRun, ratio, note];
}

/** The largest corpus models (by file size) that kiln imports, optionally only those ORT can run. */
async function largestSupported(ctx: BenchContext, ort: Ort | undefined, count: number, ortToo: boolean): Promise<[string, string][]> {
  const index = JSON.parse(readFileSync(join(ctx.shared!, 'corpus', 'index.json'), 'utf8')) as CorpusRecord[];
  const picked: [string, string][] = [];
  for (const r of [...index].sort((a, b) => b.size - a.size)) {
    if (picked.length === count) break;
    const path = join(ctx.shared!, 'corpus', r.file);
    try {
      importModel(path, { pipeline: 'tidy-exact' });
    } catch (e) {
      if (e instanceof KilnError) continue;
      throw e;
    }
    if (ortToo) {
      if (!ort) break;
      try {
        await ort.InferenceSession.create(readFileSync(path), QUIET);
      } catch {
        continue;
      }
    }
    picked.push([r.file, path]);
  }
  return picked;
}

function corpusSection(name: string, ortToo: boolean): BenchSection {
  return {
    name,
    async run(ctx) {
      if (!ctx.shared) {
        ctx.log('skip: the shared model collection (../shared/corpus) is not present');
        return;
      }
      const ort = await loadOrt();
      const rows = [['model', 'KiB', 'kiln import ms', 'kiln exec ms', 'ORT load ms', 'ORT run ms', 'kiln/ORT', 'note']];
      for (const [rel, path] of await largestSupported(ctx, ort, 3, ortToo)) rows.push(await benchModel(ctx, ort, rel, path));
      for (const line of table(rows)) ctx.log(line.trimEnd());
    },
  };
}

/** Every benchmark section, in order. Add yours here. */
export const SECTIONS: BenchSection[] = [
  corpusSection('reference executor: the three largest corpus models kiln supports', false),
  corpusSection('reference executor: the three largest corpus models both kiln and onnxruntime-node run', true),
  mlpSection,
  estimateSection,
  estimateCliSection,
  cnnSection,
  thresholdsSection,
  lowerCorpusSection,
  peersSection,
  unrolledSection,
  scaleSection,
];

function findShared(): string | undefined {
  for (const p of [process.env.KILN_SHARED, '../shared', '/work/shared']) if (p && existsSync(join(p, 'corpus'))) return p;
  return undefined;
}

async function main(): Promise<void> {
  const only = process.argv[2];
  const ctx: BenchContext = { shared: findShared(), repeats: Number(process.env.BENCH_REPEATS ?? 5), log: (l) => console.log(`  ${l}`) };
  console.log(`kiln bench (median of ${ctx.repeats} runs after a warm-up; ${ctx.shared ? `models from ${ctx.shared}` : 'no shared models'})`);
  for (const s of SECTIONS) {
    if (only && !s.name.includes(only)) continue;
    console.log(`\n## ${s.name}`);
    await s.run(ctx);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
