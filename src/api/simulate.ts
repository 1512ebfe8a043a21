// The API's simulate and `kiln sim`'s work: quantize the inputs on the host (the design's input
// quantizer), run them through the Verilator simulation of the compiled design AND the integer
// reference executor, and measure mismatches (must be 0), cycles per inference, first-output latency,
// throughput at a clock, and accuracy when labels are given.
import { join } from 'node:path';
import { readDataflowJson } from '../dataflow/json.ts';
import { fail, KilnError } from '../diag/index.ts';
import type { DataflowGraph } from '../ir/dataflow.ts';
import { checkFinite, makeTensor, numel, type Tensor } from '../ir/tensor.ts';
import { runGraph } from '../exec/run.ts';
import { runtimeInputs } from '../ir/graph.ts';
import { applyOutputAffine, hostGrid, hostInputError, quantizeInput, type HostGrid } from '../lower/host.ts';
import { importModel } from './model.ts';
import { simulateAndCompare, type CheckResult, type Mismatch } from '../sim/check.ts';
import { debugSetup, localize, type Divergence, type TraceWindow } from '../sim/debug.ts';
import { readManifest } from '../sim/manifest.ts';
import type { QueueClient } from '../sim/queue.ts';
import { simulate as simulateDesign, type SimOptions, type SimProgress } from '../sim/simulate.ts';
import { readTensorFile, writeTensorFile } from './tensors.ts';

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
  /** Write an FST waveform of the run (a cycle window of it) from the debug build (src/sim/debug.ts); one process. */
  trace?: TraceWindow;
  /** On a mismatch, rerun up to the first wrong inference on the debug build and name the first layer that diverges (default true). */
  localize?: boolean;
  /** The ONNX model the design came from: its output on the same float inputs is compared with the RTL's (`vsModel`). */
  model?: string;
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
  /** After a mismatch: the inferences rerun with every stream recorded, and the first stream that differed (none: not reproduced). */
  localized?: { inferences: number; divergence?: Divergence; error?: string };
  /** Output codes and floats per inference. */
  codes: number[][];
  floats: number[][];
  /** When kiln chose a float input's grid: it, and on these inputs the largest input error and the inputs clamped. */
  hostInput?: HostGrid & { inputs: { maxError: number; clamped: number } };
  /** With `model`: RTL vs the model on these inputs (the largest |difference| of an output value), beside RTL vs reference (`mismatches`). */
  vsModel?: { maxAbs: number; values: number };
}

/** Splits an input tensor into per-inference rows of `per` elements (KLN1012 when it does not divide). */
export function inferenceRows(x: Tensor, per: number, what: string): Float64Array[] {
  const total = numel(x.shape);
  if (total === 0 || total % per !== 0) {
    fail('InputMismatch', `${what} holds ${total} values (shape [${x.shape.join(', ')}]), not a multiple of the design's ${per} inputs per inference`);
  }
  checkFinite(x, what);
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

/**
 * Simulates a compiled design in Verilator and checks every output against the integer reference
 * (everything `kiln sim` does except printing). `inputs`: a tensor file path, a Tensor, or rows of
 * floats (one inference per row).
 */
export async function simulate(dir: string, inputs: string | Tensor | ArrayLike<number>[], opts: SimulationOptions = {}): Promise<SimulationSummary> {
  const x = typeof inputs === 'string' ? readTensorFile(inputs) : Array.isArray(inputs) ? rowsTensor(inputs) : (inputs as Tensor);
  const manifest = readManifest(dir);
  const df: DataflowGraph = readDataflowJson(join(dir, 'dataflow.json'));
  const inStream = df.streams.get(df.inputs[0])!;
  const outStream = df.streams.get(df.outputs[0])!;
  const per = numel(inStream.shape);
  const rows = inferenceRows(x, per, 'the input file');
  const vectors = rows.map((row) => quantizeInput(df.inputQuant[0], row));
  const grid = hostGrid(df.inputQuant[0]);
  const backpressure = opts.backpressure ?? 0;
  const jobs = opts.queue ? Math.ceil(vectors.length / (opts.shardSize ?? 25)) : opts.jobs;
  const stimulus = { backpressure, gaps: opts.gaps, seed: opts.seed };
  const traced = opts.trace ? debugSetup(dir, df, { trace: opts.trace }) : undefined;
  let check: CheckResult;
  try {
    check = await simulateAndCompare(dir, df, vectors, { ...stimulus, onProgress: opts.onProgress, ...(traced ? traced.sim : { jobs, queue: opts.queue }) });
  } finally {
    traced?.dispose();
  }
  const localized = check.mismatches > 0 && opts.localize !== false ? await localizeMismatch(dir, df, vectors.slice(0, check.examples[0].inference + 1), stimulus) : undefined;
  // Cycle statistics are only meaningful without stalls: rerun (same binary) when back-pressure was on.
  const stats = backpressure > 0 || (opts.gaps ?? 0) > 0 ? (await simulateDesign(dir, vectors, { outputElements: numel(outStream.shape), jobs, queue: opts.queue })).stats : check.stats;
  const clockMhz = opts.clockMhz ?? 200;
  const ii = Number.isFinite(stats.cyclesPerInference) ? stats.cyclesPerInference : manifest.estimate.cyclesPerInference;
  const floats = check.outputs.map((codes) => applyOutputAffine(df.outputAffine[0], codes));
  let accuracy: SimulationSummary['accuracy'];
  if (opts.labels) {
    accuracy = labelAccuracy(floats, opts.labels);
  }
  return {
    design: dir,
    inferences: vectors.length,
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
    ...(localized ? { localized } : {}),
    codes: check.outputs,
    floats,
    ...(grid ? { hostInput: { ...grid, inputs: hostInputError(df.inputQuant[0], rows) } } : {}),
    ...(opts.model ? { vsModel: modelDifference(opts.model, rows, floats) } : {}),
  };
}

/** The largest |RTL − model| over every output value, the model run by the ONNX executor on the same float rows. */
function modelDifference(path: string, rows: Float64Array[], floats: number[][]): { maxAbs: number; values: number } {
  const g = importModel(path);
  const [input] = runtimeInputs(g);
  const shape = (input.shape ?? []).map((d) => (typeof d === 'number' ? d : 1));
  const out = g.outputs[0].name;
  let maxAbs = 0;
  let values = 0;
  rows.forEach((row, k) => {
    const y = runGraph(g, new Map([[input.name, makeTensor(input.dtype, shape, row)]]), { keep: [out] }).get(out)!;
    const want = Array.from(y.data as ArrayLike<number>, Number);
    if (want.length !== floats[k].length) fail('InputMismatch', `the model's output '${out}' has ${want.length} values, the design's ${floats[k].length}: --model must be the model the design was compiled from`);
    for (let i = 0; i < want.length; i++) maxAbs = Math.max(maxAbs, Math.abs(floats[k][i] - want[i]));
    values += want.length;
  });
  return { maxAbs, values };
}

/** Reruns `inputs` on the debug build, recording every stream, and names the first one that differs from the reference. */
async function localizeMismatch(dir: string, df: DataflowGraph, inputs: number[][], stimulus: SimOptions): Promise<SimulationSummary['localized']> {
  const debug = debugSetup(dir, df, { taps: true });
  try {
    await simulateDesign(dir, inputs, { ...stimulus, ...debug.sim });
    return { inferences: inputs.length, divergence: localize(df, debug.probes, debug.readTaps(), inputs) };
  } catch (e) {
    // The mismatch report stands without the localization (e.g. the debug build failed).
    if (!(e instanceof KilnError)) throw e;
    return { inferences: inputs.length, error: e.message.split('\n')[0] };
  } finally {
    debug.dispose();
  }
}

function rowsTensor(rows: ArrayLike<number>[]): Tensor {
  const per = rows[0]?.length ?? 0;
  const data = new Float64Array(rows.length * per);
  rows.forEach((r, k) => data.set(Array.from(r), k * per));
  return makeTensor('float32', [rows.length, per], data);
}

/** Where `--out y.npy` puts the output codes: y.codes.npy. */
export function codesPathOf(path: string): string {
  return path.replace(/(\.npy|\.pb)?$/i, (ext) => `.codes${ext || '.npy'}`);
}

/** Writes the float outputs to `path` and the integer codes next to it (`<name>.codes.npy`). */
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
