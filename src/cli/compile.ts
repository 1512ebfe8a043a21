// kiln compile <model> -o <dir> [--fold folding.json] [--sparse] [--force]: ONNX model → streamlined integer
// dataflow graph → folded → RTL, weights, manifest.json, dataflow.json and report.json in <dir>.
import type { CommandModule } from 'yargs';
import { compile, lower } from '../api/index.ts';
import { fail } from '../diag/index.ts';
import { qtypeName } from '../ir/datatype.ts';
import { describeHostGrid, hostGrid, parseFloatGrid } from '../lower/host.ts';
import type { Design } from '../codegen/index.ts';
import type { Folding } from '../dataflow/fold.ts';
import type { AutoFoldOptions } from '../dataflow/fold-auto.ts';
import type { LowerOptions } from '../passes/to-dataflow.ts';
import { table } from './table.ts';
import { autoFoldArgs, autoFoldOptions, readFoldingFile } from './fold-args.ts';

export { autoFoldArgs, autoFoldOptions, readFoldingFile }; // (moved to fold-args.ts, light for kiln estimate)

export interface CompileModelOptions {
  fold?: Folding;
  /** --fold auto: PE/SIMD chosen for a target FPS on a device (src/dataflow/fold-auto.ts). */
  foldAuto?: AutoFoldOptions;
  force?: boolean;
  lower?: LowerOptions;
  /** --sparse: folded MVUs skip all-zero SIMD groups where that saves cycles. */
  sparse?: boolean;
  /** --dump-after: print the dataflow IR after these dataflow passes (to stderr). */
  dumpAfter?: string[];
  /** --max-logic-levels: cells between registers in unrolled MVUs' adder graphs. */
  maxLogicLevels?: number;
}

/** The API's compile (src/api/index.ts: import → lower → fold → codegen, atomic) with the CLI's option names. */
export function compileModel(model: string, outDir: string, opts: CompileModelOptions = {}): Design {
  return compile(model, outDir, { folding: opts.fold, auto: opts.foldAuto, force: opts.force, lower: opts.lower, sparse: opts.sparse, dumpAfter: opts.dumpAfter, maxLogicLevels: opts.maxLogicLevels });
}

interface CompileArgs {
  model: string;
  out: string;
  fold?: string;
  force: boolean;
  json: boolean;
  sparse: boolean;
  fps?: number;
  device?: string;
  'clock-mhz': number;
  'dump-after'?: string[];
  'input-type'?: string;
  'max-logic-levels'?: number;
}

export function designSummary(d: Design): string {
  const rows = d.report.layers.map((l) => [
    l.name, l.kind, `${l.input.elems}×${l.input.qtype}`, `${l.output.elems}×${l.output.qtype}`,
    String(l.pe), l.simd === undefined ? '' : String(l.simd), String(l.cycles),
  ]);
  return table([['layer', 'kind', 'in', 'out', 'PE', 'SIMD', 'cycles'], ...rows]).join('\n') +
    `\nestimate: ${d.report.cyclesPerInference} cycles/inference, first output after ${d.report.firstOutputLatency} cycles\n` +
    (d.report.hostInput ? `${describeHostGrid(d.report.hostInput)}\n` : '');
}

export const compileCommand: CommandModule<object, CompileArgs> = {
  command: 'compile <model>',
  describe: 'Compile a quantized ONNX MLP into Verilog (RTL, weights, manifest, report)',
  builder: (y) => y
    .positional('model', { type: 'string', demandOption: true, describe: 'ONNX model file' })
    .option('out', { alias: 'o', type: 'string', demandOption: true, describe: 'output directory' })
    .option('fold', { type: 'string', describe: 'folding JSON: { "<layer>": { "pe": n, "simd": m } }, or auto (with --fps, --device)' })
    .option('force', { type: 'boolean', default: false, describe: 'replace an existing output directory' })
    .option('json', { type: 'boolean', default: false, describe: 'print the report as JSON' })
    .option('sparse', { type: 'boolean', default: false, describe: 'folded MVUs skip all-zero SIMD groups where that saves cycles (docs/compression.md)' })
    .option('dump-after', { type: 'string', array: true, describe: "print the dataflow IR after these dataflow passes (mark-sparse, fold, fifos, keep-sparse, width-converters; 'all') to stderr; ONNX passes: kiln inspect --dump-after" })
    .option('max-logic-levels', { type: 'number', describe: 'fully unrolled MVUs (adder graphs): most LUT/CARRY4 cells between registers (default 12, ~200 MHz on 7-series)' })
    .option('input-type', { type: 'string', describe: 'grid the host rounds a float input to: INTn or FIXED<w,f> (f fractional bits; default FIXED<16,10>)' })
    .options(autoFoldOptions),
  handler: (args) => {
    const foldAuto = autoFoldArgs(args);
    const fold = args.fold !== undefined && !foldAuto ? readFoldingFile(args.fold) : undefined;
    const opts = { fold, foldAuto, force: args.force, sparse: args.sparse, dumpAfter: args['dump-after'], maxLogicLevels: args['max-logic-levels'] };
    let design: Design;
    if (args['input-type'] === undefined) design = compileModel(args.model, args.out, opts);
    else {
      const floatInput = parseFloatGrid(args['input-type']);
      const df = lower(args.model, { floatInput });
      if (!hostGrid(df.inputQuant[0])) fail('BadArgument', `--input-type applies to a float input; this model quantizes its input itself (to ${qtypeName(df.inputQuant[0].qtype)} codes): leave it out`);
      design = compile(df, args.out, { folding: fold, auto: foldAuto, force: args.force, sparse: args.sparse, dumpAfter: args['dump-after'], maxLogicLevels: args['max-logic-levels'] });
    }
    if (args.json) process.stdout.write(JSON.stringify(design.report, null, 2) + '\n');
    else process.stdout.write(`${designSummary(design)}wrote ${design.files.size} files to ${args.out}\n`);
  },
};
