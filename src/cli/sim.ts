// kiln sim <dir> --in x.npy [--out y.npy]: quantize the inputs on the host (the design's input
// quantizer), run them through the Verilator simulation of the compiled design AND the integer
// reference executor, and report mismatches (must be 0), cycles per inference, first-output latency,
// throughput at a clock, and accuracy when labels are given.
import { join } from 'node:path';
import type { CommandModule } from 'yargs';
import { readDataflowJson } from '../codegen/dataflow-json.ts';
import { fail } from '../diag/index.ts';
import type { DataflowGraph } from '../ir/dataflow.ts';
import { makeTensor, numel, type Tensor } from '../ir/tensor.ts';
import { applyOutputAffine, quantizeInput } from '../lower/host.ts';
import { simulateAndCompare, type Mismatch } from '../sim/check.ts';
import { readManifest } from '../sim/manifest.ts';
import type { QueueClient } from '../sim/queue.ts';
import { defaultJobs, simulate, type SimProgress } from '../sim/simulate.ts';
import { checkTensorOutPath, readTensorFile, writeTensorFile } from './exec.ts';
import { progressBar } from './progress.ts';

export interface SimulationOptions {
  clockMhz?: number;
  backpressure?: number;
  gaps?: number;
  seed?: number;
  labels?: Tensor;
  onProgress?: (p: SimProgress) => void;
  /** Simulator processes to shard the inferences over (default 1; the CLI defaults to the cores). */
  jobs?: number;
  /** Run the shards as jobs on this queue, `shardSize` vectors per job (default 25). */
  queue?: QueueClient;
  shardSize?: number;
}

export interface SimulationSummary {
  design: string;
  inferences: number;
  outputElements: number;
  mismatches: number;
  mismatchExamples: Mismatch[];
  /** Steady-state cycles per inference measured without back-pressure (NaN for one inference). */
  cyclesPerInference: number;
  firstOutputLatency: number;
  estimate: { cyclesPerInference: number; firstOutputLatency: number };
  clockMhz: number;
  /** Inferences per second at clockMhz (from the measured cycles per inference, else the estimate). */
  fps: number;
  latencyMicroseconds: number;
  accuracy?: { correct: number; total: number; rate: number };
  backpressure: number;
  build: { cached: boolean; seconds: number };
  /** With a queue: jobs run, and how many ran again because their worker was lost. */
  queue?: { url: string; jobs: number; retried: number };
  simSeconds: number;
  referenceSeconds: number;
  /** Output codes and floats per inference. */
  codes: number[][];
  floats: number[][];
}

/** Splits an input tensor into per-inference rows of `per` elements (KLN1012 when it does not divide). */
export function inferenceRows(x: Tensor, per: number, what: string): Float64Array[] {
  const total = numel(x.shape);
  if (total === 0 || total % per !== 0) {
    fail('InputMismatch', `${what} holds ${total} values (shape [${x.shape.join(', ')}]), not a multiple of the design's ${per} inputs per inference`);
  }
  const data = x.data as Float64Array;
  return Array.from({ length: total / per }, (_, k) => Float64Array.from(data.subarray(k * per, (k + 1) * per)));
}

function argmax(v: number[]): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
}

/** Accuracy of float outputs against a labels tensor (one label per inference; KLN1012 when counts differ). */
export function labelAccuracy(floats: number[][], labelsTensor: Tensor): { correct: number; total: number; rate: number } {
  const labels = Array.from(labelsTensor.data as Float64Array);
  if (labels.length !== floats.length) fail('InputMismatch', `the labels file holds ${labels.length} labels for ${floats.length} inferences`);
  // A one-element output is already a class index (LabelSelect); otherwise the prediction is the argmax.
  const correct = floats.filter((y, k) => (y.length === 1 ? y[0] : argmax(y)) === labels[k]).length;
  return { correct, total: labels.length, rate: correct / labels.length };
}

/** Everything `kiln sim` does except printing: usable by demo, tests and benches. */
export async function runSimulation(dir: string, x: Tensor, opts: SimulationOptions = {}): Promise<SimulationSummary> {
  const manifest = readManifest(dir);
  const df: DataflowGraph = readDataflowJson(join(dir, 'dataflow.json'));
  const inStream = df.streams.get(df.inputs[0])!;
  const outStream = df.streams.get(df.outputs[0])!;
  const per = numel(inStream.shape);
  const inputs = inferenceRows(x, per, 'the input file').map((row) => quantizeInput(df.inputQuant[0], row));
  const backpressure = opts.backpressure ?? 0;
  const jobs = opts.queue ? Math.ceil(inputs.length / (opts.shardSize ?? 25)) : opts.jobs;
  const check = await simulateAndCompare(dir, df, inputs, {
    backpressure, gaps: opts.gaps, seed: opts.seed, onProgress: opts.onProgress, jobs, queue: opts.queue,
  });
  // Cycle statistics are only meaningful without stalls: rerun (same binary) when back-pressure was on.
  const stats = backpressure > 0 || (opts.gaps ?? 0) > 0 ? (await simulate(dir, inputs, { outputElements: numel(outStream.shape), jobs, queue: opts.queue })).stats : check.stats;
  const clockMhz = opts.clockMhz ?? 200;
  const ii = Number.isFinite(stats.cyclesPerInference) ? stats.cyclesPerInference : manifest.estimate.cyclesPerInference;
  const floats = check.outputs.map((codes) => applyOutputAffine(df.outputAffine[0], codes));
  let accuracy: SimulationSummary['accuracy'];
  if (opts.labels) {
    accuracy = labelAccuracy(floats, opts.labels);
  }
  return {
    design: dir,
    inferences: inputs.length,
    outputElements: numel(outStream.shape),
    mismatches: check.mismatches,
    mismatchExamples: check.examples,
    cyclesPerInference: stats.cyclesPerInference,
    firstOutputLatency: stats.firstOutputLatency,
    estimate: manifest.estimate,
    clockMhz,
    fps: (clockMhz * 1e6) / ii,
    latencyMicroseconds: stats.firstOutputLatency / clockMhz,
    accuracy,
    backpressure,
    build: { cached: check.build.cached, seconds: check.build.seconds },
    ...(opts.queue ? { queue: { url: opts.queue.url, jobs: jobs!, retried: opts.queue.retried } } : {}),
    simSeconds: check.runSeconds,
    referenceSeconds: check.referenceSeconds,
    codes: check.outputs,
    floats,
  };
}

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
  if (s.accuracy) lines.push(`  accuracy:              ${fmt(100 * s.accuracy.rate, 2)} % (${s.accuracy.correct}/${s.accuracy.total})`);
  if (s.queue) lines.push(`  queue:                 ${s.queue.jobs} jobs on ${s.queue.url}${s.queue.retried ? `, ${s.queue.retried} run again after their worker was lost` : ''}`);
  lines.push(`  Verilator build ${s.build.cached ? 'cached' : `${fmt(s.build.seconds, 1)} s`}, simulation ${fmt(s.simSeconds, 2)} s, reference ${fmt(s.referenceSeconds, 2)} s`);
  return lines.join('\n') + '\n';
}

/** Writes the float outputs to `path` and the integer codes next to it (`<name>.codes.npy`). */
/** Where `--out y.npy` puts the output codes: y.codes.npy. */
function codesPathOf(path: string): string {
  return path.replace(/(\.npy|\.pb)?$/i, (ext) => `.codes${ext || '.npy'}`);
}

export function writeOutputs(path: string, s: SimulationSummary): string {
  const n = s.inferences;
  const m = s.outputElements;
  writeTensorFile(path, makeTensor('float32', [n, m], Float64Array.from(s.floats.flat())));
  const codesPath = codesPathOf(path);
  const flat = s.codes.flat();
  const fitsInt32 = flat.every((v) => v >= -(2 ** 31) && v < 2 ** 31);
  writeTensorFile(codesPath, makeTensor(fitsInt32 ? 'int32' : 'int64', [n, m], Float64Array.from(flat)));
  return codesPath;
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
  jobs?: number;
  redis?: string;
  'shard-size': number;
  'job-timeout': number;
}

export const simCommand: CommandModule<object, SimArgs> = {
  command: 'sim <dir>',
  describe: 'Simulate a compiled design in Verilator and check it against the integer reference',
  builder: (y) => y
    .positional('dir', { type: 'string', demandOption: true, describe: "output directory of 'kiln compile'" })
    .option('in', { type: 'string', demandOption: true, describe: 'inputs (.npy or .pb), one inference per row' })
    .option('out', { type: 'string', describe: 'write float outputs here (.npy) and codes to <name>.codes.npy' })
    .option('json', { type: 'boolean', default: false, describe: 'print the summary as JSON' })
    .option('clock-mhz', { type: 'number', default: 200, describe: 'clock for throughput and latency' })
    .option('backpressure', { type: 'number', default: 0, describe: 'probability that the output is not ready in a cycle (0 ≤ p < 1)' })
    .option('seed', { type: 'number', default: 1, describe: 'seed for the back-pressure pattern' })
    .option('labels', { type: 'string', describe: 'labels (.npy) to report accuracy (argmax of the outputs)' })
    .option('jobs', { type: 'number', describe: 'simulator processes to shard the inferences over (default: the cores)' })
    .option('redis', { type: 'string', describe: "run the shards as jobs on the BullMQ queue at redis://host:port ('kiln worker's take them)" })
    .option('shard-size', { type: 'number', default: 25, describe: 'with --redis: vectors per job' })
    .option('job-timeout', { type: 'number', default: 3600, describe: 'with --redis: seconds a job may take before KLN3008' }),
  handler: async (args) => {
    if (!(args.backpressure >= 0 && args.backpressure < 1)) fail('BadArgument', `--backpressure must be in [0, 1), not ${args.backpressure}`);
    if (!(args['clock-mhz'] > 0)) fail('BadArgument', `--clock-mhz must be positive, not ${args['clock-mhz']}`);
    if (!Number.isInteger(args.seed) || args.seed < 0) fail('BadArgument', `--seed must be a non-negative integer, not ${args.seed}`);
    const jobs = args.jobs ?? defaultJobs();
    if (!Number.isInteger(jobs) || jobs < 1) fail('BadArgument', `--jobs must be a positive integer, not ${args.jobs}`);
    if (!Number.isInteger(args['shard-size']) || args['shard-size'] < 1) fail('BadArgument', `--shard-size must be a positive integer, not ${args['shard-size']}`);
    if (!(args['job-timeout'] > 0)) fail('BadArgument', `--job-timeout must be positive, not ${args['job-timeout']}`);
    if (args.out !== undefined) [args.out, codesPathOf(args.out)].forEach(checkTensorOutPath); // before the simulation
    const x = readTensorFile(args.in);
    const labels = args.labels !== undefined ? readTensorFile(args.labels) : undefined;
    const queue = args.redis !== undefined ? new (await import('../sim/queue.ts')).QueueClient(args.redis, { jobTimeoutSeconds: args['job-timeout'] }) : undefined;

    const bar = progressBar(process.stderr, !args.json || process.stderr.isTTY === true);
    let summary: SimulationSummary;
    try {
      summary = await runSimulation(args.dir, x, {
        clockMhz: args['clock-mhz'], backpressure: args.backpressure, seed: args.seed, labels, jobs, queue, shardSize: args['shard-size'], onProgress: (p) => bar.update(p),
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
    }
    if (summary.mismatches > 0) process.exitCode = 1;
  },
};
