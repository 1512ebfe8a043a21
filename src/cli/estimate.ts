// kiln estimate <model> [--fold f.json | --fold auto --fps N --device P] [--clock-mhz F] [--json]:
// cycles, II, first-output latency, FPS and per-layer resources (xc7 and iCE40) without writing RTL.
// Meant for trying foldings interactively, so the lowered model is cached (src/api/lowered.ts). The
// handler is a thin caller of the API's estimate (src/api/estimate.ts).
import type { CommandModule } from 'yargs';
import { estimate } from '../api/estimate.ts';
import type { NetworkEstimate } from '../estimate/network.ts';
import { fps } from '../estimate/perf.ts';
import { autoFoldArgs, autoFoldOptions, readFoldingFile } from './fold-args.ts';
import { table } from './table.ts';

export { loweredModel } from '../api/lowered.ts'; // (moved: the API's estimate shares the cache)

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
    `${thousands(Math.round(fps(e.cyclesPerInference, clockMHz)))} inferences/s at ${clockMHz} MHz\n` +
    formsLines(e);
}

/** One line per form choice (LayerSpec.forms): "form of <layer>: impl search (<why>)". */
function formsLines(e: NetworkEstimate): string {
  return e.layers.flatMap((l) => Object.entries(l.forms ?? {}).map(([k, f]) => `form of ${l.name}: ${k} ${f.value} (${f.why})\n`)).join('');
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
    const auto = autoFoldArgs(args);
    const e = await estimate(args.model, { auto, folding: auto || args.fold === undefined ? undefined : readFoldingFile(args.fold), clockMHz: args['clock-mhz'] });
    if (args.json) process.stdout.write(JSON.stringify(e, null, 2) + '\n');
    else process.stdout.write(estimateTable(e, e.clockMHz));
  },
};
