// No RTL constant over a tool's limit (issue 12 item 3): every layer kind at its widest parameters
// (big windows, many channels, wide words, tables just under and over their ROM thresholds) builds
// in Verilator (--lint-only -Wall; it refuses replications over 8 Kbit and constants over 64 Kbit)
// and Yosys (read_verilog + hierarchy -check). A pooling layer has no weights: its WEIGHTS parameter
// is one bit, not a 16,384-bit zero default (GlobalAveragePool over 32×32×16 did not build).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { compileDataflow } from '../../src/codegen/index.ts';
import { InternalError } from '../../src/diag/index.ts';
import type { DataflowGraph, Layer } from '../../src/ir/dataflow.ts';
import { parseQType, qtypeName } from '../../src/ir/datatype.ts';
import { checkLiteralWidths, MAX_LITERAL_BITS, packVector } from '../../src/layers/define.ts';
import { layerKind, layerKinds } from '../../src/layers/index.ts';
import { findTool } from '../../src/tools/index.ts';
import { randInt, rng } from './layers-helpers.ts';

const verilator = findTool('verilator');
const yosys = findTool('yosys');

type Spec = Pick<Layer, 'kind' | 'attrs' | 'consts'>;
const r = rng(12);
const ints = (n: number, lo: number, hi: number) => Array.from({ length: n }, () => randInt(r, lo, hi));
const sorted = (channels: number, steps: number, lo: number, hi: number) =>
  Array.from({ length: channels }, () => ints(steps, lo, hi).sort((a, b) => a - b)).flat();

/** A graph of the given layers in a chain (a layer with two ports takes / gives both from / to its neighbour). */
function chain(name: string, specs: Spec[]): DataflowGraph {
  const streams: DataflowGraph['streams'] = new Map();
  const layers: Layer[] = [];
  let prev: string[] = [];
  specs.forEach((s, i) => {
    const kind = layerKind(s.kind);
    const ports = kind.spec.streams(kind.parse({ name: `l${i}`, ...s }) as never);
    const ins = ports.in.map((p, j) => {
      const id = i === 0 ? 'x' : prev[j];
      if (i === 0) streams.set(id, { name: id, qtype: p.qtype, shape: [p.elems] });
      return id;
    });
    const outs = ports.out.map((p, j) => {
      const id = `s${i}_${j}`;
      streams.set(id, { name: id, qtype: p.qtype, shape: [p.elems] });
      return id;
    });
    layers.push({ name: `l${i}`, ...s, inputs: ins, outputs: outs, origin: [] });
    prev = outs;
  });
  return { name, source: `${name}.onnx`, streams, layers, inputs: ['x'], outputs: [prev[0]], inputQuant: [], outputAffine: [] };
}

/** Each layer kind at its widest: the designs this test builds (name → chain of layers). */
const designs: Record<string, Spec[]> = {
  // Overridden parameters (MVU, Threshold and Requant tables) are literals checked against
  // MAX_LITERAL_BITS (below); their defaults are a plain 0. Kept small: the tools' time grows with
  // the table bits, not the literal.
  mvu_unrolled: [{ kind: 'MVU', attrs: { rows: 2, cols: 64, pe: 2, simd: 64, inType: 'BIPOLAR', weightType: 'INT32', outType: 'INT40' }, consts: { weights: ints(2 * 64, -(2 ** 31), 2 ** 31 - 1) } }],
  mvu_folded: [{ kind: 'MVU', attrs: { rows: 16, cols: 256, pe: 4, simd: 64, inType: 'UINT8', weightType: 'INT8', outType: 'INT26' }, consts: { weights: ints(16 * 256, -128, 127) } }],
  threshold_param: [{ kind: 'Threshold', attrs: { elems: 8, channels: 8, steps: 15, pe: 2, inType: 'INT16', outType: 'UINT4' }, consts: { thresholds: sorted(8, 15, -30000, 30000) } }],
  // Over the table size that moves to a file (a ROM), and the searching form of 4095 steps.
  threshold_rom: [{ kind: 'Threshold', attrs: { elems: 1024, channels: 512, steps: 255, pe: 4, inType: 'INT16', outType: 'UINT8' }, consts: { thresholds: sorted(512, 255, -30000, 30000) } }],
  threshold_search: [{ kind: 'Threshold', attrs: { elems: 16, channels: 16, steps: 4095, pe: 2, inType: 'INT16', outType: 'UINT12', impl: 'search' }, consts: { thresholds: sorted(16, 4095, -30000, 30000) } }],
  requant: [{ kind: 'Requant', attrs: { elems: 64, channels: 64, pe: 4, shift: 20, inType: 'INT16', outType: 'INT8' }, consts: { mul: ints(64, -(2 ** 16), 2 ** 16), bias: ints(64, -(2 ** 16), 2 ** 16) } }],
  label_select: [{ kind: 'LabelSelect', attrs: { n: 4096, k: 5, pe: 8, inType: 'INT24', outType: 'UINT12' }, consts: {} }],
  // A 1024-element beat to single elements: a 2,050-element (16,400-bit) buffer.
  width_converter: [{ kind: 'WidthConverter', attrs: { elems: 4096, inFold: 1024, outFold: 1, qtype: 'INT8' }, consts: {} }],
  sliding_window: [{ kind: 'SlidingWindow', attrs: { ih: 64, iw: 64, channels: 256, kh: 7, kw: 7, pe: 64, qtype: 'UINT8' }, consts: {} }],
  sliding_window_taps: [{ kind: 'SlidingWindow', attrs: { ih: 32, iw: 32, channels: 64, kh: 5, kw: 5, pe: 64, taps: 25, qtype: 'UINT8' }, consts: {} }],
  pad: [{ kind: 'Pad', attrs: { ih: 128, iw: 128, channels: 256, top: 3, bottom: 3, left: 3, right: 3, value: -1, pe: 64, qtype: 'INT8' }, consts: {} }],
  // Global pooling over 64 × 64 × 64 (the 32×32×16 GlobalAveragePool did not build).
  max_pool: [{ kind: 'MaxPool', attrs: { pixels: 1, window: 4096, channels: 64, pe: 64, qtype: 'INT8' }, consts: {} }],
  avg_pool: [{ kind: 'AvgPool', attrs: { pixels: 1, window: 4096, channels: 64, pe: 16, inType: 'INT8', outType: 'INT20' }, consts: {} }],
  // Depthwise weights just under (a 16,384-bit parameter) and over (a ROM) the table size that moves to a file.
  vector_vector_param: [{ kind: 'VectorVector', attrs: { pixels: 4, window: 16, channels: 256, pe: 32, inType: 'UINT4', weightType: 'INT4', outType: 'INT14' }, consts: { weights: ints(256 * 16, -8, 7) } }],
  vector_vector_rom: [{ kind: 'VectorVector', attrs: { pixels: 4, window: 49, channels: 512, pe: 64, inType: 'UINT8', weightType: 'INT8', outType: 'INT24' }, consts: { weights: ints(512 * 49, -128, 127) } }],
  fifo: [{ kind: 'Fifo', attrs: { elems: 65536, pe: 256, depth: 4096, qtype: 'INT8' }, consts: {} }],
  duplicate_add: [
    { kind: 'Duplicate', attrs: { elems: 4096, pe: 64, qtype: 'INT16' }, consts: {} },
    { kind: 'AddStreams', attrs: { elems: 4096, pe: 64, aType: 'INT16', bType: 'INT16', outType: 'INT17' }, consts: {} },
  ],
  duplicate_concat: [
    { kind: 'Duplicate', attrs: { elems: 4096, pe: 256, qtype: 'INT16' }, consts: {} },
    { kind: 'Concat', attrs: { pixels: 4, aChannels: 1024, bChannels: 1024, pe: 256, aType: 'INT16', bType: 'INT16', outType: 'INT16' }, consts: {} },
  ],
};

const work = mkdtempSync(join(tmpdir(), 'kiln-rtl-limits-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('rtl limits: the designs', () => {
  it('cover every layer kind', () => {
    const kinds = new Set(Object.values(designs).flat().map((s) => s.kind));
    expect(layerKinds.map((k) => k.kind).filter((k) => !kinds.has(k))).toEqual([]);
  });

  it('a constant over MAX_LITERAL_BITS is a kiln error naming the layer, before any tool runs', () => {
    const wide = packVector(new Array(MAX_LITERAL_BITS / 8 + 1).fill(1), 8);
    expect(() => checkLiteralWidths('conv_7', { WEIGHTS: wide })).toThrowError(InternalError);
    expect(() => checkLiteralWidths('conv_7', { WEIGHTS: wide })).toThrowError(/layer 'conv_7': parameter WEIGHTS is a 65544-bit constant/);
    expect(() => checkLiteralWidths('conv_7', { WEIGHTS: packVector(new Array(MAX_LITERAL_BITS / 8).fill(1), 8), K: 9 })).not.toThrow();
  });
});

describe.skipIf(!verilator)('rtl limits: MAX_LITERAL_BITS is the limit of Verilator', () => {
  it.each([[MAX_LITERAL_BITS, true], [MAX_LITERAL_BITS + 1, false]])('a %i-bit parameter literal builds: %s', async (bits, builds) => {
    const dir = join(work, `literal${bits}`);
    mkdirSync(dir);
    const literal = `${bits}'h${'1'.padEnd(Math.ceil(bits / 4), '0')}`;
    writeFileSync(join(dir, 'top.v'), `module w #(parameter [${bits - 1}:0] P = 0) (output wire o);\n  assign o = ^P;\nendmodule\nmodule top (output wire o);\n  w #(.P(${literal})) u (.o(o));\nendmodule\n`);
    const lint = await execa(verilator!, ['--lint-only', '-Wno-DECLFILENAME', '--top-module', 'top', 'top.v'], { cwd: dir, reject: false, all: true });
    expect(lint.exitCode === 0, lint.all?.slice(0, 200)).toBe(builds);
  });
});

describe.skipIf(!verilator || !yosys)('rtl limits: Verilator and Yosys build every kind at its widest', () => {
  it.each(Object.keys(designs))('%s', async (name) => {
    const out = join(work, name);
    const df = chain(name, designs[name]);
    const design = compileDataflow(df, out, { fold: {} });
    const files = design.manifest.files;
    const [lint, ys] = await Promise.all([
      execa(verilator!, ['--lint-only', '-Wall', '--top-module', 'kiln_top', ...files], { cwd: out, reject: false, all: true }),
      execa(yosys!, ['-q', '-p', `read_verilog -defer ${files.join(' ')}; hierarchy -check -top kiln_top`], { cwd: out, reject: false, all: true }),
    ]);
    const shape = df.layers.map((l) => `${l.kind} ${qtypeName(parseQType(String(l.attrs.qtype ?? l.attrs.inType ?? l.attrs.aType)))}`).join(', ');
    expect(lint.all?.trim(), `verilator on ${shape}`).toBe('');
    expect(lint.exitCode).toBe(0);
    // -q still prints warnings (e.g. a threshold search's small memories become registers): errors only.
    expect(ys.all?.match(/^ERROR.*$/m)?.[0], `yosys on ${shape}`).toBeUndefined();
    expect(ys.exitCode).toBe(0);
  }, 60_000);
});
