// Issue-15 bench section "scale": verification at test-set scale, every figure measured side by side in
// this one run (the machine's load varies, so only ratios within a run mean anything):
//   1. single-process Verilator Mcycles/s per bench model and the dataflow reference's inferences/s on
//      the same vectors (the reference must not be the slower of the two);
//   2. `--jobs 2` against `--jobs 1` on 200 ResNet-8 vectors (one Verilator build);
//   3. two BullMQ workers against one on the same 200 vectors (a redis-server started here on a free
//      127.0.0.1 port and stopped after; the workers run in this process, their simulators are processes);
//   4. 1,000 ResNet-8 vectors through the RTL at the machine's cores, compared with the reference:
//      wall time and mismatches (must be 0).
// Inputs are random codes on each model's input grid (no CIFAR-10 / VWW data here); outputs of every
// parallel run must equal the one-process run's. Part 1 divides by CPU seconds (the simulator's user +
// sys, reported by the harness; the reference's from process.cpuUsage), which the machine's load barely
// changes; the ratios of parts 2-3 are wall time and need idle cores to mean anything (the load average
// is printed with them). SCALE_VECTORS=<n> scales the 200 / 1,000 down, SCALE_MODELS=a,b keeps only
// those rows (ResNet-8 always runs: parts 2-4 use it), --quick is a smoke run (TFC, LeNet-5, ResNet-8;
// 20 / 8 vectors). One command: `npx tsx bench/run.ts scale [--quick]` (or `npx tsx bench/scale.ts`).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { compileModel } from '../src/cli/compile.ts';
import { startWorker } from '../src/flow/worker.ts';
import { range } from '../src/ir/datatype.ts';
import { numel } from '../src/ir/tensor.ts';
import { buildSim } from '../src/sim/build.ts';
import { compareOutputs, referenceOutputs } from '../src/sim/check.ts';
import { QueueClient } from '../src/sim/queue.ts';
import { defaultJobs, simulate, type SimResult } from '../src/sim/simulate.ts';
import type { BenchContext, BenchSection } from './section.ts';

const root = fileURLToPath(new URL('../', import.meta.url));
const fixture = (p: string) => join(root, 'test/fixtures', p);
/** Mcycles/s of each model in the issue's table (make bench before issue 15), for the ratio column. */
const ISSUE_BASELINE: Record<string, number> = { lenet5_int8_qdq: 0.07, resnet8: 0.07, resnet20_a8w8b16: 0.03, mobilenet_v1_vww_a8w8: 0.04 };
const MODELS: { name: string; onnx: string; vectors: number; quick?: boolean }[] = [
  { name: 'tfc_w1a1', onnx: fixture('zoo/tfc_w1a1/model.onnx'), vectors: 500, quick: true },
  { name: 'lenet5_int8_qdq', onnx: fixture('zoo/lenet5_int8_qdq/model.onnx'), vectors: 50, quick: true },
  { name: 'resnet8', onnx: fixture('corpus/nn2fpga/resnet8.onnx'), vectors: 8, quick: true },
  { name: 'resnet20_a8w8b16', onnx: fixture('corpus/nn2fpga/resnet20_a8w8b16.onnx.gz'), vectors: 4 },
  { name: 'mobilenet_v1_vww_a8w8', onnx: fixture('corpus/nn2fpga/mobilenet_v1_vww_a8w8.onnx.gz'), vectors: 4 },
];

type Design = ReturnType<typeof compileModel>;

/** n random input-code vectors on the design's input grid (a fixed LCG: every run the same). */
function gridCodes(d: Design, n: number, seed: number): number[][] {
  const x = d.df.streams.get(d.df.inputs[0])!;
  const [lo, hi] = range(x.qtype);
  const next = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  return Array.from({ length: n }, () => Array.from({ length: numel(x.shape) }, () => lo + Math.floor(next() * (hi - lo + 1))));
}

const f2 = (v: number) => v.toFixed(2);
const f1 = (v: number) => v.toFixed(1);
/** Simulated cycles per CPU second of the simulator, in millions. */
const mcps = (r: SimResult) => r.stats.cycles / r.cpuSeconds / 1e6;
/** CPU seconds (user + sys) this process spends in fn. */
function cpuSecondsOf<T>(fn: () => T): { value: T; cpu: number } {
  const c0 = process.cpuUsage();
  const value = fn();
  const c = process.cpuUsage(c0);
  return { value, cpu: (c.user + c.system) / 1e6 };
}
const load = () => `load average ${loadavg()[0].toFixed(1)}`;
const same = (a: SimResult, b: SimResult) => JSON.stringify(a.outputs) === JSON.stringify(b.outputs);

/** A table printed a row at a time (a model takes minutes): columns as wide as their headers. */
function rowPrinter(log: (l: string) => void, header: string[], firstWidth: number): (row: string[]) => void {
  const w = header.map((h, i) => (i === 0 ? Math.max(firstWidth, h.length) : h.length));
  const print = (r: string[]) => log(r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ').trimEnd());
  print(header);
  return print;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const accepts = (port: number) => new Promise<boolean>((resolve) => {
  const sock = connect(port, '127.0.0.1', () => {
    sock.destroy();
    resolve(true);
  });
  sock.on('error', () => resolve(false));
});

async function startRedis(dir: string): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  for (let t = 0; !(await accepts(port)); t++) {
    if (t > 200 || child.exitCode !== null) throw new Error('bench: redis-server did not start (apt-get install redis-server)');
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url: `redis://127.0.0.1:${port}`, child };
}

/** The design compiled into work/<name> (gzipped fixtures unpacked first). */
function compileInto(work: string, m: (typeof MODELS)[number]): { dir: string; design: Design } {
  let onnx = m.onnx;
  if (onnx.endsWith('.gz')) {
    onnx = join(work, `${m.name}.onnx`);
    writeFileSync(onnx, gunzipSync(readFileSync(m.onnx)));
  }
  const dir = join(work, m.name);
  return { dir, design: compileModel(onnx, dir) };
}

async function benchScale(ctx: BenchContext): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'kiln-bench-scale-'));
  const quick = process.argv.includes('--quick');
  const big = Number(process.env.SCALE_VECTORS ?? (quick ? 20 : 1000));
  const medium = Math.max(4, Math.round(big / 5));
  ctx.log(`machine: ${defaultJobs()} cores, ${load()} (Mcycles/s and inferences/s per CPU second; the parallel ratios are wall time)`);
  try {
    // 1. One process per model: Verilator against the dataflow reference on the same vectors.
    const row = rowPrinter(ctx.log, ['model', 'II cycles', 'vectors', 'Verilator Mcycles/s', 'issue baseline', '× baseline', 'sim inferences/s', 'reference inferences/s', 'reference/sim', 'mismatches'],
      Math.max(...MODELS.map((m) => m.name.length)));
    let resnet8: { dir: string; design: Design } | undefined;
    const only = process.env.SCALE_MODELS?.split(',');
    for (const m of MODELS.filter((x) => (!only || only.includes(x.name) || x.name === 'resnet8') && (!quick || x.quick))) {
      const c = compileInto(work, m);
      if (m.name === 'resnet8') resnet8 = c;
      await buildSim(c.dir);
      const inputs = gridCodes(c.design, quick ? Math.ceil(m.vectors / 10) : m.vectors, 15);
      const r = await simulate(c.dir, inputs, { jobs: 1 });
      const { value: ref, cpu: refCpu } = cpuSecondsOf(() => referenceOutputs(c.design.df, inputs));
      const refPerS = inputs.length / refCpu;
      const simPerS = inputs.length / r.cpuSeconds;
      const { mismatches } = compareOutputs(r.outputs, ref);
      if (mismatches > 0) process.exitCode = 1;
      const base = ISSUE_BASELINE[m.name];
      row([m.name, String(c.design.manifest.estimate.cyclesPerInference), String(inputs.length), f2(mcps(r)), base ? f2(base) : '–', base ? `${f1(mcps(r) / base)}×` : '–',
        f1(simPerS), f1(refPerS), `${f1(refPerS / simPerS)}×`, String(mismatches)]);
    }
    ctx.log('(issue baseline: the Mcycles/s in issue 15\'s table, from a make bench before it (wall time), not measured in this run)');
    if (!resnet8) return;

    // 2. --jobs 2 against --jobs 1, one build.
    const { dir } = resnet8;
    const inputs = gridCodes(resnet8.design, medium, 200);
    ctx.log('');
    const one = await simulate(dir, inputs, { jobs: 1 });
    const two = await simulate(dir, inputs, { jobs: 2 });
    ctx.log(`ResNet-8, ${medium} vectors: --jobs 1 ${f1(one.runSeconds)} s, --jobs 2 ${f1(two.runSeconds)} s wall → ${f2(one.runSeconds / two.runSeconds)}× ` +
      `(outputs ${same(one, two) ? 'identical' : 'DIFFER'}, cycles ${one.stats.cycles === two.stats.cycles ? 'identical' : 'DIFFER'}; ${load()})`);
    if (!same(one, two)) process.exitCode = 1;

    // 3. BullMQ: one worker, then two, on the same vectors in 4 shards.
    const redis = await startRedis(work);
    const queue = new QueueClient(redis.url);
    const workers = [await startWorker(redis.url, { concurrency: 1 })];
    try {
      await simulate(dir, inputs.slice(0, 2), { queue, jobs: 1 }); // the worker fetches the design and its build
      const viaQueue = async () => {
        const t = performance.now();
        const r = await simulate(dir, inputs, { queue, jobs: 4 });
        return { r, s: (performance.now() - t) / 1000 };
      };
      const w1 = await viaQueue();
      workers.push(await startWorker(redis.url, { concurrency: 1 }));
      const w2 = await viaQueue();
      ctx.log(`ResNet-8, ${medium} vectors in 4 jobs on BullMQ: 1 worker ${f1(w1.s)} s, 2 workers ${f1(w2.s)} s wall → ${f2(w1.s / w2.s)}× ` +
        `(outputs ${same(w1.r, one) && same(w2.r, one) ? 'identical to --jobs 1' : 'DIFFER from --jobs 1'}; ${load()})`);
      if (!same(w1.r, one) || !same(w2.r, one)) process.exitCode = 1;
    } finally {
      await Promise.all(workers.map((w) => w.close()));
      await queue.close();
      redis.child.kill();
    }

    // 4. The test-set run: `big` vectors at the machine's cores, checked against the reference.
    const many = gridCodes(resnet8.design, big, 1000);
    const t = performance.now();
    const r = await simulate(dir, many, { jobs: defaultJobs() });
    const simS = (performance.now() - t) / 1000;
    const t1 = performance.now();
    const { mismatches } = compareOutputs(r.outputs, referenceOutputs(resnet8.design.df, many));
    const refS = (performance.now() - t1) / 1000;
    if (mismatches > 0) process.exitCode = 1;
    ctx.log(`ResNet-8, ${big} vectors through the RTL (--jobs ${defaultJobs()}): ${f1(simS)} s wall (${f1(r.cpuSeconds)} CPU s), ${mismatches} mismatches ` +
      `against the reference (reference ${f1(refS)} s wall; ${load()})`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export const scaleSection: BenchSection = {
  name: 'scale: single-process Mcycles/s and reference inferences/s per model; --jobs 2 vs 1 and 2 BullMQ workers vs 1 on ResNet-8; 1,000 ResNet-8 vectors',
  run: benchScale,
};

// `npx tsx bench/scale.ts [--quick]`: this section alone.
if (import.meta.url === `file://${process.argv[1]}`) await benchScale({ repeats: 1, log: (l) => console.log(`  ${l}`) });
