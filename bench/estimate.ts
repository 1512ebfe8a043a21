// Bench section (issue 5): per model, the estimate time (import → lower → fold → II, latency and
// resources; and the estimate step alone) and the Yosys synth time of the whole design (xc7, out of
// context; the second figure is the content-hash cache hit), with estimated vs measured LUTs; and
// `kiln estimate <model>` as a user runs it (a whole `node bin/kiln.js` process: startup included), first
// run (lowering) and repeat (lowered model cached).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileDataflow } from '../src/codegen/index.ts';
import { foldedDataflow } from '../src/dataflow/pipeline.ts';
import { kilnRoot } from '../src/tools/root.ts';
import { estimateNetwork } from '../src/estimate/network.ts';
import { importModel } from '../src/onnx/import.ts';
import { lowerModel } from '../src/passes/to-dataflow.ts';
import { findTool } from '../src/tools/index.ts';
import { synthDesign } from '../src/synth/design.ts';
import { table } from '../src/cli/table.ts';
import { medianMs, type BenchSection } from './section.ts';

const models = ['TFC_1W1A', 'TFC_1W2A', 'TFC_2W2A', 'qkeras_jettagging'];

/** Models timed through the CLI: an MLP, the zoo LeNet-5 (255-level thresholds) and a small CNN. */
const cliModels = ['test/fixtures/corpus/qonnx-model-zoo/TFC_1W1A.onnx', 'test/fixtures/zoo/lenet5_int8_qdq/model.onnx', 'test/fixtures/zoo/cnv_small_w2a2/model.onnx'];

/** Wall and CPU (user + sys) seconds of one `node bin/kiln.js args…` process (env added to the bench's). */
function timeCli(args: string[], env: Record<string, string> = {}): { wall: number; cpu: number } {
  const t0 = performance.now();
  const r = spawnSync('bash', ['-c', 'TIMEFORMAT=%U+%S; time node bin/kiln.js "$@" > /dev/null', 'kiln', ...args], { cwd: kilnRoot, encoding: 'utf8', env: { ...process.env, ...env } });
  const wall = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`kiln ${args.join(' ')} failed: ${r.stderr}`);
  const m = /(\d+\.\d+)\+(\d+\.\d+)\s*$/.exec(r.stderr);
  return { wall, cpu: m ? Number(m[1]) + Number(m[2]) : NaN };
}

export const estimateCliSection: BenchSection = {
  name: 'kiln estimate (issue 5): one CLI process per model, default folding',
  async run(ctx) {
    timeCli(['--help']); // the first run after a source change bundles the CLI (bin/kiln.js)
    const rows = [['model', 'first run: wall s', 'CPU s', 'repeat: wall s', 'CPU s']];
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    for (const m of cliModels) {
      const first: { wall: number; cpu: number }[] = [];
      const repeat: { wall: number; cpu: number }[] = [];
      for (let i = 0; i < Math.max(1, ctx.repeats); i++) {
        // An empty cache: the first run lowers the model (and caches it), the second reads it back.
        const cache = mkdtempSync(join(tmpdir(), 'kiln-bench-estimate-'));
        try {
          first.push(timeCli(['estimate', m], { KILN_CACHE: cache }));
          repeat.push(timeCli(['estimate', m], { KILN_CACHE: cache }));
        } finally {
          rmSync(cache, { recursive: true, force: true });
        }
      }
      const cols = (rs: { wall: number; cpu: number }[]) => [median(rs.map((r) => r.wall)).toFixed(2), median(rs.map((r) => r.cpu)).toFixed(2)];
      rows.push([m.replace(/^test\/fixtures\//, ''), ...cols(first), ...cols(repeat)]);
    }
    for (const line of table(rows)) ctx.log(line);
    ctx.log('(medians; first run = empty lowered-model cache (KILN_CACHE), bundle already built; repeat = lowered model cached;');
    ctx.log(' CPU = user + sys of the process; wall time also counts waiting for a shared machine)');
  },
};

export const estimateSection: BenchSection = {
  name: 'estimate and synth (issue 5): per model, default folding',
  async run(ctx) {
    const rows = [['model', 'estimate total ms', 'estimate step ms', 'II', 'LUT est', 'synth s (cold)', 'synth s (cached)', 'LUT Yosys', 'FF Yosys', 'BRAM18 Yosys']];
    const yosys = findTool('yosys') !== undefined && process.env.BENCH_SYNTH !== '0';
    for (const m of models) {
      const path = join(kilnRoot, 'test/fixtures/corpus/qonnx-model-zoo', `${m}.onnx`);
      const lower = () => lowerModel(importModel(path, { pipeline: 'tidy-exact' }), { source: path });
      const total = await medianMs(ctx.repeats, () => { const { df, checked } = foldedDataflow(lower()); estimateNetwork(df, checked); });
      const df = lower();
      const step = await medianMs(ctx.repeats, () => { const f = foldedDataflow(df); estimateNetwork(f.df, f.checked); });
      const f = foldedDataflow(df);
      const e = estimateNetwork(f.df, f.checked);
      const row = [m, total.toFixed(0), step.toFixed(0), String(e.cyclesPerInference), String(e.total.xc7.lut)];
      if (yosys) {
        const dir = mkdtempSync(join(tmpdir(), 'kiln-bench-synth-'));
        try {
          compileDataflow(df, join(dir, 'd'));
          const t0 = performance.now();
          const s = await synthDesign(join(dir, 'd'), 'xc7', { layers: false });
          const cold = (performance.now() - t0) / 1000;
          const t1 = performance.now();
          await synthDesign(join(dir, 'd'), 'xc7', { layers: false });
          row.push(cold.toFixed(1), ((performance.now() - t1) / 1000).toFixed(2), String(s.total.lut), String(s.total.ff), String(s.total.bram18));
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      } else row.push('—', '—', '—', '—', '—');
      rows.push(row);
    }
    for (const line of table(rows)) ctx.log(line);
    ctx.log('(synth cold = Yosys run or earlier cache entry in .cache/synth; BENCH_SYNTH=0 skips Yosys)');
  },
};
