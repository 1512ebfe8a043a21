// Bench section "unrolled jet tagger" (issue 14): corpus qkeras_jettagging (16-64-32-32-5, 6-bit
// QKeras) fully unrolled at II = 1, its MVUs as multiplierless adder graphs (src/layers/common/
// cmvm.ts), beside hls4ml's published 6-bit QAT build (63,251 LUT, 38 DSP, 45 ns = 9 cycles at
// 200 MHz; ../shared/TARGETS.md). Measured twice: Yosys 0.55 (@yowasp/yosys, the version behind
// TARGETS.md's FINN figures; `synth_xilinx -family xc7 -noiopad`, hierarchical, `ltp -noff` per
// module) and kiln's own `kiln synth` (the installed Yosys; per layer out of context with its
// logic depth, and the whole design flattened). Both results are cached by content (the Yosys
// runs take minutes). Written into docs/resources.md between the "unrolled jet tagger" markers.
// `npx tsx bench/unrolled.ts` runs this section alone.
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compile, lower } from '../src/api/index.ts';
import { table } from '../src/cli/table.ts';
import { DEFAULT_MAX_LOGIC_LEVELS } from '../src/layers/common/cmvm.ts';
import { synthDesign } from '../src/synth/design.ts';
import { findTool } from '../src/tools/index.ts';
import { kilnRoot } from '../src/tools/root.ts';
import { cacheDirOf } from '../src/util/lru.ts';
import type { BenchSection } from './section.ts';

const MODEL = 'corpus/qonnx-model-zoo/qkeras_jettagging.onnx';
/** hls4ml, QKeras 6-bit QAT jet tagger on a VU9P at 200 MHz (TARGETS.md). */
const HLS4ML = { lut: 63251, dsp: 38, ns: 45, cycles: 9 };

interface Yosys55 { lut: number; ff: number; dsp: number; carry4: number; depth: Record<string, number>; seconds: number }

/** Yosys 0.55 (wasm) on the design: hierarchical synth_xilinx, stat, ltp -noff of every module; cached. */
async function yosys55(dir: string, files: string[]): Promise<Yosys55> {
  const sources: Record<string, string> = {};
  for (const f of files) sources[f.replace(/^rtl\//, '')] = readFileSync(join(dir, f), 'utf8');
  const key = createHash('sha256').update(JSON.stringify({ v: 1, yosys: '0.55 yowasp', sources })).digest('hex');
  const cached = join(cacheDirOf('synth'), `yowasp-${key}.json`);
  if (existsSync(cached)) return JSON.parse(readFileSync(cached, 'utf8')) as Yosys55;
  const { runYosys } = await import('@yowasp/yosys');
  const t0 = Date.now();
  const names = Object.keys(sources);
  const script = `read_verilog -defer ${names.join(' ')}; synth_xilinx -family xc7 -noiopad -top kiln_top; tee -q -o stat.json stat -json; tee -q -o ltp.txt ltp -noff`;
  const out = (await runYosys(['-q', '-p', script], sources)) as Record<string, string>;
  const stat = JSON.parse(out['stat.json']) as { design: { num_cells_by_type: Record<string, number> } };
  const cells = stat.design.num_cells_by_type;
  const sum = (re: RegExp) => Object.entries(cells).filter(([k]) => re.test(k)).reduce((s, [, n]) => s + n, 0);
  const depth: Record<string, number> = {};
  for (const m of out['ltp.txt'].matchAll(/Longest topological path in (\S+) \(length=(\d+)\)/g)) depth[m[1]] = Number(m[2]);
  const r: Yosys55 = { lut: sum(/^LUT[1-6]$/) + sum(/^SRL/), ff: sum(/^FD[A-Z]*$/), dsp: sum(/^DSP48/), carry4: sum(/^CARRY4$/), depth, seconds: Math.round((Date.now() - t0) / 1000) };
  mkdirSync(cacheDirOf('synth'), { recursive: true });
  writeFileSync(cached, JSON.stringify(r));
  return r;
}

/** Full unrolling: every MVU PE = rows, SIMD = cols; every other layer one beat per vector. */
function fullyUnrolled(model: string): Record<string, { pe: number; simd?: number }> {
  const df = lower(model);
  const fold: Record<string, { pe: number; simd?: number }> = {};
  for (const l of df.layers) {
    if (l.kind === 'MVU') fold[l.name] = { pe: l.attrs.rows as number, simd: l.attrs.cols as number };
    else if (typeof l.attrs.channels === 'number') fold[l.name] = { pe: l.attrs.channels };
  }
  return fold;
}

const fmt = (n: number) => n.toLocaleString('en-US');
const BEGIN = '<!-- unrolled jet tagger: begin (bench/unrolled.ts writes this) -->';
const END = '<!-- unrolled jet tagger: end -->';

export const unrolledSection: BenchSection = {
  name: 'unrolled jet tagger (issue 14): qkeras_jettagging at II = 1 beside hls4ml',
  async run(ctx) {
    if (!ctx.shared) {
      ctx.log('(no ../shared: skipped)');
      return;
    }
    const model = join(ctx.shared, MODEL);
    const dir = join(tmpdir(), `kiln-unrolled-${process.pid}`);
    try {
      const design = compile(model, join(dir, 'out'), { folding: fullyUnrolled(model), force: true });
      const out = join(dir, 'out');
      const est = design.report.estimate;
      const latency = design.report.firstOutputLatency;
      const ii = design.report.cyclesPerInference;
      const layers = design.report.layers;
      const kilnYosys = findTool('yosys');
      const version = kilnYosys ? /Yosys [\d.]+/.exec(spawnSync(kilnYosys, ['-V'], { encoding: 'utf8' }).stdout)?.[0] ?? 'Yosys' : undefined;
      const own = kilnYosys && process.env.UNROLLED_SYNTH !== '0' ? await synthDesign(out, 'xc7', { depth: true }) : undefined;
      const y55 = process.env.UNROLLED_SYNTH !== '0' ? await yosys55(out, design.manifest.files) : undefined;
      const estOf = (name: string) => est.layers.find((l) => l.name === name)?.xc7;
      const rows: string[][] = [['layer', 'kind', 'est. LUT', 'est. FF', 'est. DSP', `${version ?? 'kiln synth'} LUT`, 'FF', 'DSP', 'depth', 'Yosys 0.55 depth']];
      for (const l of layers) {
        const e = estOf(l.name);
        const s = own?.layers[l.name] as { lut: number; ff: number; dsp: number } | undefined;
        const core = y55 ? Object.entries(y55.depth).find(([m]) => m.endsWith(`_${l.name}_core`))?.[1] : undefined;
        rows.push([l.name, l.kind, e ? fmt(e.lut) : '—', e ? fmt(e.ff) : '—', e ? String(e.dsp) : '—', s ? fmt(s.lut) : '—', s ? fmt(s.ff) : '—', s ? String(s.dsp) : '—', own?.depth?.[l.name] !== undefined ? String(own.depth[l.name]) : '—', core !== undefined ? String(core) : '—']);
      }
      const t = own?.total as { lut: number; ff: number; dsp: number } | undefined;
      rows.push(['whole design', '', fmt(est.total.xc7.lut), fmt(est.total.xc7.ff), String(est.total.xc7.dsp), t ? fmt(t.lut) : '—', t ? fmt(t.ff) : '—', t ? String(t.dsp) : '—', '', '']);
      for (const line of table(rows)) ctx.log(line);
      const summary = [
        `II ${ii} cycle, first output after ${latency} cycles (${(latency * 5).toFixed(0)} ns at 200 MHz; hls4ml 6-bit QAT: ${HLS4ML.ns} ns = ${HLS4ML.cycles} cycles at 200 MHz)`,
        y55 ? `Yosys 0.55 (@yowasp/yosys, hierarchical synth_xilinx xc7): ${fmt(y55.lut)} LUT, ${fmt(y55.ff)} FF, ${y55.dsp} DSP48, ${fmt(y55.carry4)} CARRY4 (hls4ml: ${fmt(HLS4ML.lut)} LUT, ${HLS4ML.dsp} DSP, Vivado) in ${y55.seconds} s` : 'Yosys 0.55: not run (UNROLLED_SYNTH=0)',
        `logic depth limit (--max-logic-levels default): ${DEFAULT_MAX_LOGIC_LEVELS} cells (LUT / CARRY4) between registers`,
      ];
      for (const s of summary) ctx.log(s);
      writeDoc(rows, summary);
      ctx.log('(written to docs/resources.md)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

function writeDoc(rows: string[][], summary: string[]): void {
  const path = join(kilnRoot, 'docs/resources.md');
  const md = [
    BEGIN,
    '### Against the peers: the QKeras jet tagger fully unrolled (II = 1)',
    '',
    'Corpus `qkeras_jettagging` (16-64-32-32-5, 6-bit QKeras; input FIXED<16,10> from the host), every layer fully unrolled:',
    'each MVU is a multiplierless adder graph (CSD digits, common subexpressions shared across the matrix, register stages',
    `at most --max-logic-levels cells deep; src/layers/common/cmvm.ts). "depth": the longest register-to-register path in`,
    'cells (Yosys `ltp -noff` after synth_xilinx: LUTs and CARRY4s), per layer out of context ("Yosys 0.55 depth": the',
    "adder-graph module in the 0.55 run). Regenerate: `make bench` (section \"unrolled jet tagger\") or `npx tsx bench/unrolled.ts`.",
    '',
    `| ${rows[0].join(' | ')} |`,
    `|${rows[0].map(() => '---').join('|')}|`,
    ...rows.slice(1).map((r) => `| ${r.join(' | ')} |`),
    '',
    ...summary.map((s) => `- ${s}`),
    END,
  ].join('\n');
  const doc = readFileSync(path, 'utf8');
  const i = doc.indexOf(BEGIN);
  const j = doc.indexOf(END);
  writeFileSync(path, i >= 0 && j > i ? doc.slice(0, i) + md + doc.slice(j + END.length) : `${doc.trimEnd()}\n\n${md}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const shared = join(kilnRoot, '..', 'shared');
  await unrolledSection.run({ shared: existsSync(shared) ? shared : undefined, repeats: 1, log: (l) => console.log(l) });
}
