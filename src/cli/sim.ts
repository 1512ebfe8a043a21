// kiln sim <dir> --in x.npy [--out y.npy]: simulate a compiled design in Verilator against the integer
// reference (the API's simulate, src/api/simulate.ts) and print the summary.
import type { CommandModule } from 'yargs';
import { codesPathOf, simulate, writeOutputs, type SimulationSummary } from '../api/simulate.ts';
import { checkTensorOutPath, readTensorFile } from '../api/tensors.ts';
import { fail } from '../diag/index.ts';
import { checkOutputPath } from '../io/output-path.ts';
import { formatDivergence, type TraceWindow } from '../sim/debug.ts';
import { defaultJobs } from '../sim/simulate.ts';
import { describeHostGrid } from '../lower/host.ts';
import { progressBar } from './progress.ts';
import { numberOption } from './options.ts';

const fmt = (v: number, digits = 0) => v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** The human-readable report of a simulation. */
export function formatSummary(s: SimulationSummary): string {
  const est = s.estimate;
  const lines = [
    `${s.inferences} inferences simulated in Verilator (${s.design})${s.backpressure > 0 ? `, random back-pressure p=${s.backpressure}` : ''}`,
    `  mismatches vs integer reference: ${s.mismatches} of ${s.inferences * s.outputElements} output values` +
      (s.mismatchExamples.length ? ` (first: inference ${s.mismatchExamples[0].inference} element ${s.mismatchExamples[0].element}: RTL ${s.mismatchExamples[0].rtl}, reference ${s.mismatchExamples[0].reference})` : ''),
    `  cycles/inference:      ${Number.isFinite(s.cyclesPerInference) ? fmt(s.cyclesPerInference, Number.isInteger(s.cyclesPerInference) ? 0 : 2) : 'n/a (one inference)'} (estimate ${est.cyclesPerInference})`,
    `  first-output latency:  ${s.firstOutputLatency} cycles = ${fmt(s.latencyMicroseconds, 2)} µs at ${s.clockMhz} MHz (estimate ${est.firstOutputLatency})`,
    `  throughput:            ${fmt(s.fps)} inferences/s at ${s.clockMhz} MHz`,
  ];
  if (s.localized) {
    lines.push(s.localized.error !== undefined
      ? `  (the layer that diverges could not be found: ${s.localized.error})`
      : s.localized.divergence
      ? `  ${formatDivergence(s.localized.divergence)}`
      : `  (a rerun of inferences 0–${s.localized.inferences - 1} recording every stream matched the reference: the mismatch did not reproduce in one process)`);
  }
  if (s.hostInput) {
    const h = s.hostInput;
    lines.push(`  ${describeHostGrid(h)}`, `    on these inputs: largest input error ${h.inputs.maxError.toPrecision(3)}, ${h.inputs.clamped} input values clamped`);
  }
  if (s.vsModel) lines.push(`  RTL vs model on these inputs: largest |difference| ${s.vsModel.maxAbs.toPrecision(3)} over ${s.vsModel.values} output values (the ONNX executor on the float inputs${s.hostInput ? `, so it includes the host's rounding to ${s.hostInput.grid}` : ''})`);
  if (s.accuracy) lines.push(`  accuracy:              ${fmt(100 * s.accuracy.rate, 2)} % (${s.accuracy.correct}/${s.accuracy.total})`);
  if (s.queue) lines.push(`  queue:                 ${s.queue.jobs} jobs on ${s.queue.url}${s.queue.retried ? `, ${s.queue.retried} run again after their worker was lost` : ''}`);
  lines.push(`  Verilator build ${s.build.cached ? 'cached' : `${fmt(s.build.seconds, 1)} s`}, simulation ${fmt(s.simSeconds, 2)} s, reference ${fmt(s.referenceSeconds, 2)} s`);
  return lines.join('\n') + '\n';
}

/** --trace out.fst [--trace-from N] [--trace-to M], checked before any work. */
function traceWindow(args: SimArgs): TraceWindow | undefined {
  if (args.trace === undefined) {
    if (args['trace-from'] !== undefined || args['trace-to'] !== undefined) fail('BadArgument', '--trace-from and --trace-to need --trace <file.fst>');
    return undefined;
  }
  if (!args.trace.toLowerCase().endsWith('.fst')) fail('BadArgument', `--trace file '${args.trace}' must end in .fst (the waveform is FST)`);
  if (args.redis !== undefined) fail('BadArgument', '--trace runs the simulation in this process; leave out --redis');
  if ((args['trace-from'] ?? 0) > (args['trace-to'] ?? Infinity)) fail('BadArgument', `--trace-from ${args['trace-from']} is after --trace-to ${args['trace-to']}`);
  checkOutputPath(args.trace, 'file', '--trace file');
  return { path: args.trace, from: args['trace-from'], to: args['trace-to'] };
}

interface SimArgs {
  dir: string;
  in: string;
  out?: string;
  json: boolean;
  'clock-mhz': number;
  backpressure: number;
  seed: number;
  labels?: string;
  model?: string;
  jobs?: number;
  redis?: string;
  'shard-size': number;
  'job-timeout': number;
  trace?: string;
  'trace-from'?: number;
  'trace-to'?: number;
}

export const simCommand: CommandModule<object, SimArgs> = {
  command: 'sim <dir>',
  describe: 'Simulate a compiled design in Verilator and check it against the integer reference',
  builder: (y) => y
    .positional('dir', { type: 'string', demandOption: true, describe: "output directory of 'kiln compile'" })
    .option('in', { type: 'string', demandOption: true, describe: 'inputs (.npy or .pb), one inference per row' })
    .option('out', { type: 'string', describe: 'write float outputs here (.npy) and codes to <name>.codes.npy' })
    .option('json', { type: 'boolean', default: false, describe: 'print the summary as JSON' })
    .option('clock-mhz', numberOption('clock-mhz', { above: 0, unit: 'MHz', default: 200, describe: 'clock for throughput and latency' }))
    .option('backpressure', numberOption('backpressure', { min: 0, below: 1, default: 0, describe: 'probability that the output is not ready in a cycle (0 ≤ p < 1)' }))
    .option('seed', numberOption('seed', { integer: true, min: 0, default: 1, describe: 'seed for the back-pressure pattern' }))
    .option('labels', { type: 'string', describe: 'labels (.npy) to report accuracy (argmax of the outputs)' })
    .option('model', { type: 'string', describe: 'the ONNX model the design came from: also compare the RTL with its output on these inputs' })
    .option('jobs', numberOption('jobs', { integer: true, min: 1, describe: 'simulator processes to shard the inferences over (default: the cores)' }))
    .option('redis', { type: 'string', describe: "run the shards as jobs on the BullMQ queue at redis://host:port ('kiln worker's take them)" })
    .option('shard-size', numberOption('shard-size', { integer: true, min: 1, default: 25, describe: 'with --redis: vectors per job' }))
    .option('job-timeout', numberOption('job-timeout', { above: 0, unit: 's', default: 3600, describe: 'with --redis: seconds a job may take before KLN3008' }))
    .option('trace', { type: 'string', describe: 'write an FST waveform (GTKWave, Surfer) of the run, one scope per layer (docs/debugging.md); one process' })
    .option('trace-from', numberOption('trace-from', { integer: true, min: 0, describe: 'with --trace: first cycle dumped (default 0)' }))
    .option('trace-to', numberOption('trace-to', { integer: true, min: 0, describe: 'with --trace: last cycle dumped (default: the end)' })),
  handler: async (args) => {
    const jobs = args.jobs ?? defaultJobs();
    const trace = traceWindow(args);
    if (args.out !== undefined) [args.out, codesPathOf(args.out)].forEach(checkTensorOutPath); // before the simulation
    const x = readTensorFile(args.in);
    const labels = args.labels !== undefined ? readTensorFile(args.labels) : undefined;
    const queue = args.redis !== undefined ? new (await import('../sim/queue.ts')).QueueClient(args.redis, { jobTimeoutSeconds: args['job-timeout'] }) : undefined;

    const bar = progressBar(process.stderr, !args.json || process.stderr.isTTY === true);
    let summary: SimulationSummary;
    try {
      summary = await simulate(args.dir, x, {
        clockMhz: args['clock-mhz'], backpressure: args.backpressure, seed: args.seed, labels, model: args.model, jobs, queue, shardSize: args['shard-size'], trace, onProgress: (p) => bar.update(p),
      });
    } finally {
      bar.finish();
      await queue?.close();
    }
    const codesPath = args.out !== undefined ? writeOutputs(args.out, summary) : undefined;
    if (args.json) {
      const { codes: _c, floats: _f, ...rest } = summary;
      process.stdout.write(JSON.stringify({ ...rest, out: args.out, codesOut: codesPath }, null, 2) + '\n');
    } else {
      process.stdout.write(formatSummary(summary));
      if (codesPath) process.stdout.write(`  wrote ${args.out} (floats) and ${codesPath} (codes)\n`);
      if (trace) process.stdout.write(`  wrote ${trace.path} (FST waveform; open it in GTKWave or Surfer)\n`);
    }
    if (summary.mismatches > 0) process.exitCode = 1;
  },
};
