// Bench section "against the peers" (issue 14): the folded matrix-vector unit at the three
// configurations of FINN's hand-written RTL MVU figures (../shared/TARGETS.md), kiln's unit with its
// weights synthesized by kiln's own synth script (`synth_xilinx -family xc7`, out of context) on Yosys 0.55
// (@yowasp/yosys: the version behind FINN's figures), beside FINN's figures; with the multiplier kind kiln chooses and with `mult: lut` (no DSP). Printed, and
// written into docs/resources.md between the "against the peers" markers.
//
// Weights are seeded random codes over the whole type range (signed), inputs unsigned (FINN's
// 4sx4u / 8-bit configurations): the figures depend on the weights only through the ROM contents.
// `npx tsx bench/peers.ts` runs this section alone.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileDataflow } from '../src/codegen/index.ts';
import { table } from '../src/cli/table.ts';
import { parseQType, qtypeName, range } from '../src/ir/datatype.ts';
import type { DataflowGraph } from '../src/ir/dataflow.ts';
import { mvuOutType } from '../src/layers/mvu.ts';
import { synthDesign } from '../src/synth/design.ts';
import { kilnRoot } from '../src/tools/root.ts';
import { wasmYosys } from './yosys-wasm.ts';
import type { BenchSection } from './section.ts';

export interface PeerConfig {
  label: string;
  rows: number;
  cols: number;
  simd: number;
  pe: number;
  weightType: string;
  inType: string;
  /** FINN RTL MVU, Yosys 0.55 synth_xilinx xc7, weights outside the unit (TARGETS.md). */
  finn: { lut: number; ff: number; dsp: number; weights: string };
}

export const PEER_CONFIGS: PeerConfig[] = [
  { label: '784×64, 4-bit, SIMD 16, PE 8', rows: 64, cols: 784, simd: 16, pe: 8, weightType: 'INT4', inType: 'UINT4', finn: { lut: 4063, ff: 1287, dsp: 32, weights: '15 RAMB18' } },
  { label: '784×64, 4-bit, SIMD 49, PE 16', rows: 64, cols: 784, simd: 49, pe: 16, weightType: 'INT4', inType: 'UINT4', finn: { lut: 21861, ff: 4992, dsp: 196, weights: '~3,136 LUTRAM' } },
  { label: '64×64, 8-bit, SIMD 8, PE 4', rows: 64, cols: 64, simd: 8, pe: 4, weightType: 'INT8', inType: 'UINT8', finn: { lut: 1168, ff: 550, dsp: 16, weights: '256 LUTRAM' } },
];

/** Seeded weight codes over the type's whole range (a 32-bit LCG: the same weights every run). */
function weightsOf(c: PeerConfig): number[] {
  const [lo, hi] = range(parseQType(c.weightType));
  let s = 14;
  return Array.from({ length: c.rows * c.cols }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return lo + Math.floor((s / 2 ** 32) * (hi - lo + 1)); // the high bits: an LCG's low bits have short periods
  });
}

/** One MVU as a whole design (stream in, stream out). */
export function peerGraph(c: PeerConfig, attrs: Record<string, unknown> = {}): DataflowGraph {
  const weights = weightsOf(c);
  const outType = mvuOutType(c.rows, c.cols, parseQType(c.inType), weights);
  return {
    name: 'peer_mvu',
    source: 'bench/peers.ts',
    streams: new Map([
      ['x', { name: 'x', qtype: parseQType(c.inType), shape: [c.cols] }],
      ['y', { name: 'y', qtype: outType, shape: [c.rows] }],
    ]),
    layers: [{ name: 'mvu', kind: 'MVU', attrs: { rows: c.rows, cols: c.cols, inType: c.inType, weightType: c.weightType, outType: qtypeName(outType), ...attrs }, consts: { weights }, inputs: ['x'], outputs: ['y'], origin: ['peers'] }],
    inputs: ['x'],
    outputs: ['y'],
    inputQuant: [],
    outputAffine: [],
  };
}

export interface PeerRow { config: PeerConfig; variant: string; cycles: number; est: { lut: number; dsp: number; bram18: number }; synth?: { lut: number; ff: number; dsp: number; bram18: number } }

/** Compiles and (when Yosys is there) synthesizes the unit, weights included; its estimate beside. */
export async function measurePeer(c: PeerConfig, variant: Record<string, unknown>, label: string, synth = true): Promise<PeerRow> {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-peers-'));
  try {
    const design = compileDataflow(peerGraph(c), join(dir, 'out'), { fold: { mvu: { pe: c.pe, simd: c.simd, ...variant } } as never });
    const est = design.manifest.estimate as unknown as { cyclesPerInference: number };
    const report = JSON.parse(readFileSync(join(dir, 'out', 'report.json'), 'utf8')) as { estimate: { layers: { name: string; xc7: { lut: number; dsp: number; bram18: number } }[] } };
    const layerEst = report.estimate.layers.find((l) => l.name === 'mvu')!.xc7;
    const row: PeerRow = { config: c, variant: label, cycles: est.cyclesPerInference, est: { lut: layerEst.lut, dsp: layerEst.dsp, bram18: layerEst.bram18 } };
    if (synth) {
      // The whole design is the unit and its stream ports (one Yosys run instead of two).
      const s = await synthDesign(join(dir, 'out'), 'xc7', { layers: false, engine: wasmYosys });
      const r = s.total as { lut: number; ff: number; dsp: number; bram18: number };
      row.synth = { lut: r.lut, ff: r.ff, dsp: r.dsp, bram18: r.bram18 };
    }
    return row;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The folding variants measured: kiln's choice, and LUT multipliers only. */
export const VARIANTS: { label: string; attrs: Record<string, unknown> }[] = [
  { label: 'auto', attrs: {} },
  { label: 'lut', attrs: { mult: 'lut' } },
];

const fmt = (n: number) => n.toLocaleString('en-US');

export function peerTable(rows: PeerRow[]): string[][] {
  const out = [['configuration', 'mult', 'cycles', 'kiln LUT', 'FF', 'DSP48', 'BRAM18', 'est. LUT', 'est. DSP', 'est. BRAM18', 'FINN LUT', 'FF', 'DSP48', 'weights']];
  for (const r of rows) {
    const s = r.synth;
    const f = r.config.finn;
    out.push([r.config.label, r.variant, String(r.cycles), s ? fmt(s.lut) : '—', s ? fmt(s.ff) : '—', s ? String(s.dsp) : '—', s ? String(s.bram18) : '—', fmt(r.est.lut), String(r.est.dsp), String(r.est.bram18), fmt(f.lut), fmt(f.ff), String(f.dsp), f.weights]);
  }
  return out;
}

const BEGIN = '<!-- against the peers: begin (bench/peers.ts writes this) -->';
const END = '<!-- against the peers: end -->';

/** docs/resources.md's "against the peers" section, replaced in place (or appended). */
export function writePeersDoc(rows: PeerRow[], yosysVersion: string): void {
  const path = join(kilnRoot, 'docs/resources.md');
  const t = peerTable(rows);
  const md = [
    BEGIN,
    '## Against the peers: the folded matrix-vector unit',
    '',
    rows.some((r) => r.synth)
      ? `kiln's MVU with its weights as a whole design, kiln's synth script (\`synth_xilinx -family xc7 -noiopad -flatten\`, out of context) on ${yosysVersion}, and its estimate, beside FINN's`
      : "kiln's MVU with its weights: its estimate only (this run did not synthesize: PEERS_SYNTH=0), beside FINN's",
    "hand-written RTL MVU at the same configuration (Yosys 0.55, weights outside the unit; ../shared/TARGETS.md). Weights: seeded",
    'random signed codes over the full range; inputs unsigned. "mult": the multiplier kind per layer (auto: DSP48s, packed',
    'where lanes fit). Regenerate: `make bench` (section "against the peers") or `npx tsx bench/peers.ts`.',
    '',
    `| ${t[0].join(' | ')} |`,
    `|${t[0].map(() => '---').join('|')}|`,
    ...t.slice(1).map((r) => `| ${r.join(' | ')} |`),
    END,
  ].join('\n');
  const doc = readFileSync(path, 'utf8');
  const i = doc.indexOf(BEGIN);
  const j = doc.indexOf(END);
  writeFileSync(path, i >= 0 && j > i ? doc.slice(0, i) + md + doc.slice(j + END.length) : `${doc.trimEnd()}\n\n${md}\n`);
}

export const peersSection: BenchSection = {
  name: 'against the peers (issue 14): folded MVU beside FINN RTL MVU',
  async run(ctx) {
    const rows: PeerRow[] = [];
    // PEERS_SYNTH=0: estimates only (Yosys on the 784-column configurations takes many minutes).
    const synth = process.env.PEERS_SYNTH !== '0';
    for (const c of PEER_CONFIGS) {
      for (const v of VARIANTS) {
        rows.push(await measurePeer(c, v.attrs, v.label, synth));
        ctx.log(`${c.label}, mult ${v.label}: done`);
      }
    }
    for (const line of table(peerTable(rows))) ctx.log(line);
    writePeersDoc(rows, await wasmYosys.version());
    ctx.log('(written to docs/resources.md)');
  },
};

if (import.meta.url === `file://${process.argv[1]}`) {
  await peersSection.run({ repeats: 1, log: (l) => console.log(`  ${l}`) });
}
