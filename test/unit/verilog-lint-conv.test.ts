// Generated designs with the issue-4 layer kinds (Pad, SlidingWindow, width converters, MVU over
// windows, VectorVector with a ROM, pooling, Duplicate / Fifo / AddStreams / Concat multi-port
// wiring) pass `verilator --lint-only -Wall`, compile in Icarus and elaborate in Yosys.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { compileDataflow } from '../../src/codegen/index.ts';
import type { DataflowGraph } from '../../src/ir/dataflow.ts';
import { findTool } from '../../src/tools/index.ts';
import { branchGraph } from '../sim/branches.ts';
import { buildConv, type ConvSpec } from '../sim/conv-graphs.ts';

const verilator = findTool('verilator');
const iverilog = findTool('iverilog');
const yosys = findTool('yosys');

const conv = (s: Partial<ConvSpec>): DataflowGraph =>
  buildConv({ label: 'c', ih: 7, iw: 6, c: 4, m: 4, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, pads: [1, 0, 2, 1], op: 'conv', inType: 'INT4', weightType: 'INT4', pe: 2, mvuPe: 2, simd: 6, ...s }, 1).df;

const designs: [string, DataflowGraph][] = [
  ['pad → sliding window → dwc → MVU', conv({})],
  ['sliding window (dilated, strided) → VectorVector ROM', conv({ ih: 14, iw: 14, c: 96, m: 96, kh: 5, kw: 5, sh: 2, sw: 2, dh: 1, pads: [0, 0, 0, 0], op: 'depthwise', inType: 'UINT4', weightType: 'INT8', pe: 8, mvuPe: 8 })],
  ['max pool on ternary codes', conv({ op: 'max', inType: 'TERNARY', pe: 4, mvuPe: 2 })],
  ['avg pool (sum) of bipolar codes', conv({ op: 'sum', inType: 'BIPOLAR', pads: [0, 0, 0, 0], pe: 1, mvuPe: 1 })],
  ['duplicate → MVU / fifo → add', branchGraph({ label: 'b', elems: 8, pe: 2, qtype: 'INT4', branch: 'mvu', fifo: 16, mvuPe: 4, simd: 4 }, 1)],
];

function foldingOf(df: DataflowGraph): Record<string, { pe?: number; simd?: number }> {
  return Object.fromEntries(df.layers.map((l) => [l.name, Object.fromEntries(Object.entries(l.attrs).filter(([k]) => k === 'pe' || k === 'simd'))]));
}

describe.skipIf(!verilator || !iverilog || !yosys)('generated conv / branch designs: verilator -Wall, Icarus, Yosys', () => {
  it.each(designs)('%s', async (_label, df) => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-lint-conv-'));
    try {
      const out = join(dir, 'out');
      const files = compileDataflow(df, out, { fold: foldingOf(df) }).manifest.files;
      const lint = await execa(verilator!, ['--lint-only', '-Wall', '--top-module', 'kiln_top', ...files], { cwd: out, reject: false, all: true });
      expect(lint.all?.trim()).toBe('');
      const iv = await execa(iverilog!, ['-g2005', '-o', join(dir, 'a.vvp'), ...files], { cwd: out, reject: false, all: true });
      expect(iv.all?.trim()).toBe('');
      const ys = await execa(yosys!, ['-q', '-p', `read_verilog ${files.join(' ')}; hierarchy -check -top kiln_top; proc; check -assert`], { cwd: out, reject: false, all: true });
      expect(ys.exitCode, ys.all).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
