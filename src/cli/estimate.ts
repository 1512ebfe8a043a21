// kiln estimate <model> [--fold f.json | --fold auto --fps N --device P] [--clock-mhz F] [--json]:
// cycles, II, first-output latency, FPS and per-layer resources (xc7 and iCE40) without writing RTL.
// Meant for trying foldings interactively, so the lowered model is cached (see loweredModel).
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CommandModule } from 'yargs';
import { dataflowFromJson, dataflowToJson, type DataflowJson } from '../codegen/dataflow-json.ts';
import { foldedDataflow } from '../codegen/index.ts';
import { estimateNetwork, type NetworkEstimate } from '../estimate/network.ts';
import { fps } from '../estimate/perf.ts';
import type { DataflowGraph } from '../ir/dataflow.ts';
import { cacheRoot } from '../util/cache-root.ts';
import { autoFoldArgs, autoFoldOptions, readFoldingFile } from './fold-args.ts';
import { table } from './table.ts';
// Loaded only when needed (startup time): the ONNX importer and lowering on a lowered-cache miss,
// auto-folding with --fold auto.

interface EstimateArgs { model: string; fold?: string; json: boolean; fps?: number; device?: string; 'clock-mhz': number }

/** n.toLocaleString('en-US') (1,234,567) without loading ICU's locale data (~25 ms, once per process). */
export function thousands(n: number): string {
  return Number.isSafeInteger(n) && n >= 0 && !Object.is(n, -0) ? String(n).replace(/\B(?=(\d{3})+$)/g, ',') : n.toLocaleString('en-US');
}

export function estimateTable(e: NetworkEstimate, clockMHz: number): string {
  const mark = (name: string) => (name === e.bottleneck ? ' *' : '');
  const rows = e.layers.map((l) => [
    l.name + mark(l.name), l.kind, l.pe === undefined ? '' : String(l.pe), l.simd === undefined ? '' : String(l.simd), String(l.cycles),
    String(l.xc7.lut), String(l.xc7.ff), String(l.xc7.dsp), String(l.xc7.bram18), String(l.ice40.lc), String(l.ice40.mac16), String(l.ice40.ebr),
  ]);
  const t = e.total;
  rows.push(['total', '', '', '', String(e.cyclesPerInference), String(t.xc7.lut), String(t.xc7.ff), String(t.xc7.dsp), String(t.xc7.bram18), String(t.ice40.lc), String(t.ice40.mac16), String(t.ice40.ebr)]);
  return table([['layer', 'kind', 'PE', 'SIMD', 'cycles', 'LUT', 'FF', 'DSP', 'BRAM18', 'LC', 'MAC16', 'EBR'], ...rows]).join('\n') +
    `\nII ${e.cyclesPerInference} cycles (bottleneck * ${e.bottleneck}), first output after ${e.firstOutputLatency} cycles, ` +
    `${thousands(Math.round(fps(e.cyclesPerInference, clockMHz)))} inferences/s at ${clockMHz} MHz\n`;
}

const KEEP_LOWERED = 50;

/**
 * The model lowered to the dataflow IR. Lowering (streamlining's threshold search above all) is most
 * of an estimate's time, and a user tries several foldings of one model, so the result is cached in
 * <cache>/lowered/ by the hash of the model's bytes and of kiln's sources (KILN_SOURCE_HASH, which
 * bin/kiln.js sets when it runs the bundled CLI; without it — tsx, tests — nothing is cached).
 */
export async function loweredModel(path: string): Promise<DataflowGraph> {
  const lower = async () => {
    const [{ importModel }, { lowerModel }] = await Promise.all([import('../onnx/import.ts'), import('../passes/to-dataflow.ts')]);
    return lowerModel(importModel(path, { pipeline: 'tidy-exact' }), { source: path });
  };
  const kiln = process.env.KILN_SOURCE_HASH;
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch {
    return lower(); // importModel reports the problem
  }
  if (!kiln) return lower();
  const key = createHash('sha256').update(`${kiln}\0${path}\0`).update(bytes).digest('hex').slice(0, 32);
  const dir = join(cacheRoot(), 'lowered');
  const file = join(dir, `${key}.json`);
  try {
    return dataflowFromJson(JSON.parse(readFileSync(file, 'utf8')) as DataflowJson);
  } catch {
    // not cached yet (or unreadable): lower and store
  }
  const df = await lower();
  let exact = true; // JSON has no Infinity / NaN: such a graph is not cached
  const text = JSON.stringify(dataflowToJson(df), (_, v) => {
    if (typeof v === 'number' && !Number.isFinite(v)) exact = false;
    return v;
  });
  if (exact) {
    try {
      mkdirSync(dir, { recursive: true });
      writeFileSync(`${file}.${process.pid}.tmp`, text);
      renameSync(`${file}.${process.pid}.tmp`, file);
      const old = readdirSync(dir).map((f) => ({ f, t: statSync(join(dir, f)).mtimeMs })).sort((a, b) => b.t - a.t).slice(KEEP_LOWERED);
      for (const { f } of old) rmSync(join(dir, f), { force: true });
    } catch {
      // a read-only cache only costs speed
    }
  }
  return df;
}

export const estimateCommand: CommandModule<object, EstimateArgs> = {
  command: 'estimate <model>',
  describe: 'Estimate cycles, latency, FPS and FPGA resources per layer (no RTL written)',
  builder: (y) => y
    .positional('model', { type: 'string', demandOption: true, describe: 'ONNX model file' })
    .option('fold', { type: 'string', describe: 'folding JSON, or auto (with --fps, --device)' })
    .option('json', { type: 'boolean', default: false, describe: 'print the estimate as JSON' })
    .options(autoFoldOptions),
  handler: async (args) => {
    const df = await loweredModel(args.model);
    const auto = autoFoldArgs(args);
    const fold = auto ? (await import('../passes/fold-auto.ts')).autoFolding(df, auto).folding : args.fold !== undefined ? readFoldingFile(args.fold) : undefined;
    const { df: folded, checked } = foldedDataflow(df, { fold });
    const e = estimateNetwork(folded, checked);
    const clock = args['clock-mhz'];
    if (args.json) process.stdout.write(JSON.stringify({ ...e, clockMHz: clock, fps: fps(e.cyclesPerInference, clock) }, null, 2) + '\n');
    else process.stdout.write(estimateTable(e, clock));
  },
};
