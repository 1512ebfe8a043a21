// Bench section (issue 13): zoo lenet5_int8_qdq (test/fixtures/zoo), default folding, with the
// Threshold forms the estimate chooses (all 'search' there) and with every Threshold forced to
// 'parallel' at the same lanes (what kiln built before): per Threshold layer the form and LUT / BRAM18
// estimate, the totals and the Thresholds' share; Yosys (synth_xilinx, per layer and whole design,
// cached by content) of the default design; and Verilator's speed by the simulator process's CPU
// time (user + sys, so the machine's load does not count), on the first 200 MNIST test images.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileDataflow } from '../src/codegen/index.ts';
import { defaultFolding, type Folding } from '../src/dataflow/fold.ts';
import { foldedDataflow } from '../src/dataflow/pipeline.ts';
import { estimateNetwork, type NetworkEstimate } from '../src/estimate/network.ts';
import { quantizeInput } from '../src/lower/host.ts';
import { decodeNpy } from '../src/io/npy.ts';
import { importModel } from '../src/onnx/import.ts';
import { lowerModel } from '../src/passes/to-dataflow.ts';
import { buildSim } from '../src/sim/build.ts';
import { encodeStimulus } from '../src/sim/stimulus.ts';
import { synthDesign } from '../src/synth/design.ts';
import { findTool } from '../src/tools/index.ts';
import { kilnRoot } from '../src/tools/root.ts';
import { table } from '../src/cli/table.ts';
import type { BenchSection } from './section.ts';

const MODEL = join(kilnRoot, 'test/fixtures/zoo/lenet5_int8_qdq/model.onnx');
const IMAGES = 200;

const share = (e: NetworkEstimate) => e.layers.filter((l) => l.kind === 'Threshold').reduce((s, l) => s + (l.xc7.lut ?? 0), 0);
const pct = (a: number, b: number) => `${((100 * a) / b).toFixed(1)} %`;

/** CPU seconds (user + sys) of the design's Verilator simulator on `rows`, and the cycles it ran. */
async function simulatorCpu(dir: string, rows: number[][]): Promise<{ cpu: number; cycles: number }> {
  const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  const { binary } = await buildSim(dir);
  const work = mkdtempSync(join(tmpdir(), 'kiln-bench-thr-'));
  try {
    writeFileSync(join(work, 'stim.txt'), encodeStimulus(m.input, rows));
    writeFileSync(join(work, 'streams.txt'), m.streams.join('\n') + '\n');
    const args = ['--in', join(work, 'stim.txt'), '--out', join(work, 'resp.txt'), '--expect', String(rows.length * m.output.beatsPerInference),
      '--streams', join(work, 'streams.txt'), '--backpressure', '0', '--gaps', '0', '--seed', '1', '--watchdog', '1000000', '--progress', '1000000000'];
    const r = spawnSync('bash', ['-c', 'TIMEFORMAT=%U+%S; time "$@" > /dev/null', 'sim', binary, ...args], { cwd: dir, encoding: 'utf8' });
    const t = /(\d+\.\d+)\+(\d+\.\d+)\s*$/.exec(r.stderr);
    if (r.status !== 0 || !t) throw new Error(`simulator failed: ${r.stderr}`);
    return { cpu: Number(t[1]) + Number(t[2]), cycles: rows.length * m.estimate.cyclesPerInference + m.estimate.firstOutputLatency };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export const thresholdsSection: BenchSection = {
  name: 'issue 13: Threshold forms on zoo lenet5_int8_qdq (default folding; estimate, Yosys, Verilator speed)',
  async run(ctx) {
    const df = lowerModel(importModel(MODEL, { pipeline: 'tidy-exact' }), { source: MODEL });
    const chosen = defaultFolding(df);
    const parallel: Folding = Object.fromEntries(Object.entries(chosen).map(([k, f]) => [k, df.layers.find((l) => l.name === k)?.kind === 'Threshold' ? { ...f, impl: 'parallel' } : f]));
    const est = (fold: Folding) => { const { df: d, checked } = foldedDataflow(df, { fold }); return estimateNetwork(d, checked); };
    const [e, p] = [est(chosen), est(parallel)];
    const rows = [['Threshold layer', 'form', 'LUT', 'BRAM18', 'parallel LUT', 'parallel BRAM18']];
    for (const l of e.layers.filter((x) => x.kind === 'Threshold')) {
      const q = p.layers.find((x) => x.name === l.name)!;
      rows.push([l.name, l.forms?.impl.value ?? '', String(l.xc7.lut), String(l.xc7.bram18), String(q.xc7.lut), String(q.xc7.bram18)]);
    }
    for (const line of table(rows)) ctx.log(line.trimEnd());
    for (const [name, x] of [['chosen forms', e], ['all parallel', p]] as const) {
      ctx.log(`estimate, ${name}: II ${x.cyclesPerInference} cycles, ${x.total.xc7.lut} LUT (Thresholds ${share(x)}, ${pct(share(x), x.total.xc7.lut!)}), ${x.total.xc7.bram18} BRAM18`);
    }
    const dir = mkdtempSync(join(tmpdir(), 'kiln-bench-thr-'));
    try {
      const out = join(dir, 'out');
      compileDataflow(df, out, { fold: chosen });
      if (findTool('yosys')) {
        const s = await synthDesign(out, 'xc7');
        const thr = Object.entries(s.layers).filter(([n]) => e.layers.find((l) => l.name === n)?.kind === 'Threshold').reduce((a, [, r]) => a + (r.lut ?? 0), 0);
        ctx.log(`Yosys (synth_xilinx, chosen forms): ${s.total.lut} LUT, ${s.total.ff} FF, ${s.total.bram18} BRAM18, ${s.total.dsp} DSP; Threshold layers out of context ${thr} LUT (${pct(thr, s.total.lut!)}); ${s.seconds} s`);
      } else ctx.log('Yosys: skipped (not installed)');
      if (findTool('verilator')) {
        const x = decodeNpy(readFileSync(join(kilnRoot, 'examples/tfc_w1a1/mnist_test_2000.npy')));
        const px = x.data as Uint8Array;
        const images = Array.from({ length: IMAGES }, (_, i) => quantizeInput(df.inputQuant[0], Float64Array.from(px.subarray(i * 784, (i + 1) * 784), (v) => Math.fround(Math.fround(v) / Math.fround(255)))));
        const r = await simulatorCpu(out, images);
        ctx.log(`Verilator (chosen forms): ${r.cycles} cycles for ${IMAGES} images in ${r.cpu.toFixed(2)} CPU s: ${(r.cycles / r.cpu / 1e6).toFixed(2)} Mcycles/s`);
      } else ctx.log('Verilator: skipped (not installed)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
