// Debugging a mismatch in one command (issue 17): a small design with one layer's RTL broken on
// purpose (test/fixtures/rtl/broken/flip_beat.v inverts bit 0 of one beat of layer 't'); `kiln sim
// --trace` must report the mismatch, name layer 't' and the beat with both values, and write an FST
// waveform whose hierarchy has one probe scope per layer with its stream's signals.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compile, simulate } from '../../src/api/index.ts';
import { runDataflowStreamsBatch } from '../../src/exec/dataflow.ts';
import { parseQType } from '../../src/ir/datatype.ts';
import type { DataflowGraph, Layer, Stream } from '../../src/ir/dataflow.ts';
import { makeTensor } from '../../src/ir/tensor.ts';
import { npyFloat32 } from '../helpers/npy.ts';
import { readFstHierarchy } from '../helpers/fst.ts';
import { kiln, tempDirsRemovedAfterAll } from '../unit/cli-helpers.ts';
import { haveVerilator, randomValues } from './layer-matrix.ts';
import { rng } from '../unit/layers-helpers.ts';

const tempDir = tempDirsRemovedAfterAll();
const flipBeat = fileURLToPath(new URL('../fixtures/rtl/broken/flip_beat.v', import.meta.url));
const folding = { a: { pe: 2, simd: 4 }, t: { pe: 2 }, b: { pe: 1, simd: 2 } };
const BROKEN_BEAT = 4; // of layer t's output stream: 3 beats per inference (6 elements, PE 2) → inference 1, beat 1

function weights(r: () => number, n: number, lo: number, hi: number): number[] {
  return Array.from({ length: n }, () => {
    const w = lo + Math.floor(r() * (hi - lo + 1));
    return w === 0 ? 1 : w; // no zero weight: the flipped element always changes the output
  });
}

/** x (8 × INT4) → MVU a (6 rows) → Threshold t (UINT2) → MVU b (4 rows). */
function smallGraph(): DataflowGraph {
  const r = rng(17);
  const stream = (name: string, qtype: string, n: number): [string, Stream] => [name, { name, qtype: parseQType(qtype), shape: [n] }];
  const thresholds = Array.from({ length: 6 }, () => [-20, 0, 20]).flat();
  const layers: Layer[] = [
    { name: 'a', kind: 'MVU', attrs: { rows: 6, cols: 8, pe: 2, simd: 4, inType: 'INT4', weightType: 'INT2', outType: 'INT10' }, consts: { weights: weights(r, 48, -2, 1) }, inputs: ['x'], outputs: ['a_out'], origin: ['a'] },
    { name: 't', kind: 'Threshold', attrs: { elems: 6, channels: 6, steps: 3, pe: 2, inType: 'INT10', outType: 'UINT2', outBias: 0, outScale: 1 }, consts: { thresholds }, inputs: ['a_out'], outputs: ['t_out'], origin: ['t'] },
    { name: 'b', kind: 'MVU', attrs: { rows: 4, cols: 6, pe: 1, simd: 2, inType: 'UINT2', weightType: 'INT3', outType: 'INT8' }, consts: { weights: weights(r, 24, -4, 3) }, inputs: ['t_out'], outputs: ['y'], origin: ['b'] },
  ];
  return {
    name: 'debug_small', source: 'debug_small.onnx',
    streams: new Map([stream('x', 'INT4', 8), stream('a_out', 'INT10', 6), stream('t_out', 'UINT2', 6), stream('y', 'INT8', 4)]),
    layers, inputs: ['x'], outputs: ['y'],
    inputQuant: [{ scale: [1], zeroPoint: [0], qtype: parseQType('INT4') }],
    outputAffine: [{ scale: [1], offset: [0] }],
  };
}

/** Splices the fixture between layer t's core and its output (the generated wrapper's m_axis_tdata). */
function breakLayerT(dir: string): void {
  const file = join(dir, 'rtl', 'threshold_t.v');
  const v = readFileSync(file, 'utf8');
  const w = /output wire \[(\d+):0\] m_axis_tdata/.exec(v)![1];
  const broken = v
    .replace('.m_axis_tdata(m_axis_tdata)', '.m_axis_tdata(core_tdata)')
    .replace('  threshold', `  wire [${w}:0] core_tdata;\n  kiln_flip_beat #(.W(${Number(w) + 1}), .BEAT(${BROKEN_BEAT})) u_broken (.clk(clk), .rst_n(rst_n), .in_tdata(core_tdata), .out_tdata(m_axis_tdata), .tvalid(m_axis_tvalid), .tready(m_axis_tready));\n  threshold`);
  expect(broken).not.toBe(v);
  writeFileSync(file, broken);
  writeFileSync(join(dir, 'rtl', 'flip_beat.v'), readFileSync(flipBeat));
  const manifestPath = join(dir, 'manifest.json');
  const m = JSON.parse(readFileSync(manifestPath, 'utf8')) as { files: string[] };
  m.files.unshift('rtl/flip_beat.v');
  writeFileSync(manifestPath, JSON.stringify(m, null, 2));
}

describe.skipIf(!haveVerilator)('kiln sim: a mismatch names the layer and beat; --trace writes an FST', () => {
  const df = smallGraph();
  const r = rng(5);
  const inputs = Array.from({ length: 4 }, () => randomValues('INT4', 8, r));

  it('the intact design matches: nothing to localize', async () => {
    const dir = join(tempDir(), 'ok');
    compile(df, dir, { folding });
    const s = await simulate(dir, makeTensor('float32', [inputs.length, 8], inputs.flat()));
    expect(s.mismatches).toBe(0);
    expect(s.localized).toBeUndefined();
  }, 600_000); // a Verilator build on a loaded machine

  it('names layer t, inference 1 beat 1, with both values; the waveform has each layer\'s stream', () => {
    const tmp = tempDir();
    const dir = join(tmp, 'broken');
    compile(df, dir, { folding });
    breakLayerT(dir);
    writeFileSync(join(tmp, 'x.npy'), npyFloat32(inputs));
    const fst = join(tmp, 'run.fst');
    const res = kiln(['sim', dir, '--in', join(tmp, 'x.npy'), '--jobs', '1', '--trace', fst, '--trace-from', '10', '--trace-to', '40'], undefined, { timeoutMs: 900_000 });
    expect(res.code, res.stderr).toBe(1); // mismatches
    const t = runDataflowStreamsBatch(df, inputs.map((x) => [x]))[1].get('t_out')!;
    const ref = t.slice(2, 4); // beat 1 of inference 1: elements 2, 3
    const rtl = [ref[0] ^ 1, ref[1]]; // bit 0 of the beat = bit 0 of element 0 (UINT2)
    expect(res.stdout).toContain(`first divergence: layer 't' (stream 't_out'), inference 1 beat 1 (stream beat ${BROKEN_BEAT}, cycle `);
    expect(res.stdout).toContain(`: RTL [${rtl.join(', ')}], reference [${ref.join(', ')}]`);

    const h = readFstHierarchy(fst);
    for (const layer of ['a', 't', 'b']) {
      for (const sig of ['tdata', 'tvalid', 'tready', 'beat']) expect(h.vars.has(`TOP.kiln_debug_top.${layer}.${sig}`), `${layer}.${sig}`).toBe(true);
    }
    expect(h.vars.get('TOP.kiln_debug_top.t.tdata')).toBe(4); // PE 2 × UINT2
    expect(h.vars.get('TOP.kiln_debug_top.a.tdata')).toBe(20); // PE 2 × INT10
    expect(h.vars.has('TOP.kiln_debug_top.cycle')).toBe(true);
    expect([h.startTime, h.endTime]).toEqual([2 * 10, 2 * 40 + 1]); // cycles 10–40: time 2·cycle, +1 after the rising edge
  }, 900_000); // the fast and the debug build
});
