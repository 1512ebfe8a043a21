// hw/common headers (code_values.vh, table_bits.vh): the hw/ sources that `include one find it in
// hw/common, and a compiled design's rtl/ copies have it pasted in, so no tool reading a design needs
// an include path.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileDataflow } from '../../src/codegen/index.ts';
import { hwDir, hwSource } from '../../src/codegen/helpers.ts';
import { buildConv } from '../sim/conv-graphs.ts';
import { smallMlp } from './codegen-fixture.ts';

const includeLine = /^[ \t]*`include\s+"([^"]+)"/gm;

function hwFiles(dir = hwDir): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? hwFiles(p) : f.endsWith('.v') ? [p.slice(hwDir.length + 1)] : [];
  });
}

describe('hw/common headers', () => {
  it('every `include in hw/ names a file in hw/common; the three MAC kinds share code_values.vh', () => {
    const users = new Map<string, string[]>();
    for (const f of hwFiles()) {
      for (const m of readFileSync(join(hwDir, f), 'utf8').matchAll(includeLine)) {
        expect(statSync(join(hwDir, 'common', m[1])).isFile(), `hw/${f} includes ${m[1]}`).toBe(true);
        users.set(m[1], [...(users.get(m[1]) ?? []), f]);
      }
    }
    expect(users.get('code_values.vh')?.sort()).toEqual(['mvu/mvu.v', 'mvu/mvu_packed.v', 'mvu/mvu_sparse.v', 'window_reduce/window_reduce.v']);
    expect(users.get('table_bits.vh')?.sort()).toEqual(['requant/requant.v', 'threshold/threshold.v', 'threshold/threshold_requant.v']);
  });

  it('every KILN_CV_ macro a module defines before the include is one code_values.vh reads and undefines', () => {
    const header = readFileSync(join(hwDir, 'common', 'code_values.vh'), 'utf8');
    const defined = hwFiles().flatMap((f) => [...readFileSync(join(hwDir, f), 'utf8').matchAll(/^`define (KILN_CV_\w+)/gm)].map((m) => m[1]));
    expect(new Set(defined)).toEqual(new Set(['KILN_CV_XNOR', 'KILN_CV_NARROW', 'KILN_CV_NO_BIPOLAR_W']));
    for (const m of new Set(defined)) {
      expect(header).toMatch(new RegExp(`^.ifn?def ${m}$`, 'm'));
      expect(header).toMatch(new RegExp(`^.undef ${m}$`, 'm'));
    }
  });

  it('hwSource pastes the header once where the include was and leaves every other line as it is', () => {
    const header = readFileSync(join(hwDir, 'common', 'code_values.vh'), 'utf8');
    for (const f of ['mvu/mvu.v', 'mvu/mvu_sparse.v', 'window_reduce/window_reduce.v']) {
      const src = readFileSync(join(hwDir, f), 'utf8');
      const out = hwSource(f);
      expect(out).not.toMatch(includeLine);
      expect(out.match(/function \[ACC_W-1:0\] term\(/g)).toHaveLength(1);
      expect(out.match(/function \[ACC_W-1:0\] x_value\(/g)).toHaveLength(1);
      // the pasted block is the header's code (its file comment left out), between two marker lines
      const [before, rest] = out.split(/^ {2}\/\/ ---- hw\/common\/code_values\.vh \(pasted in by kiln codegen\) ----\n/m);
      const [pasted, after] = rest.split(/^ {2}\/\/ ---- end of code_values\.vh ----\n/m);
      expect(header.endsWith(pasted)).toBe(true);
      expect(pasted).toMatch(/^ {2}\/\/ Value of an input code/);
      expect(before + after).toBe(src.replace(/^ {2}`include "code_values\.vh"\n/m, ''));
    }
    // table_bits.vh (a guarded macro, included before the module) likewise
    for (const f of ['threshold/threshold.v', 'requant/requant.v']) {
      const out = hwSource(f);
      expect(out).not.toMatch(includeLine);
      expect(out.match(/^`define KILN_TABLE_BITS\(/gm)).toHaveLength(1);
      expect(out).toContain('`KILN_TABLE_BITS(g_');
    }
    // a file without includes is copied as it is
    expect(hwSource('common/out_reg.v')).toBe(readFileSync(join(hwDir, 'common', 'out_reg.v'), 'utf8'));
  });

  // The conv MVU (INT4 × INT4, two PE rows) is DSP-packed: mvu_packed.v, which includes code_values.vh too.
  it.each([['conv', 'rtl/mvu_packed.v'], ['depthwise', 'rtl/window_reduce.v']] as const)('a compiled %s design has no `include in rtl/ (%s has the functions)', (op, file) => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-hdr-'));
    try {
      const { df } = buildConv({ label: 'c', ih: 6, iw: 6, c: 4, m: 4, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, pads: [0, 0, 0, 0], op, inType: 'INT4', weightType: 'INT4', pe: 2, mvuPe: 2, simd: 6 }, 1);
      const out = join(dir, 'out');
      const design = compileDataflow(df, out);
      const rtl = design.manifest.files.map((f) => [f, readFileSync(join(out, f), 'utf8')] as const);
      expect(rtl.map(([f]) => f)).toContain(file);
      for (const [f, text] of rtl) expect(text, f).not.toMatch(includeLine);
      expect(rtl.find(([f]) => f === file)![1]).toContain('function [ACC_W-1:0] term(');
      expect(readdirSync(join(out, 'rtl')).filter((f) => !f.endsWith('.v'))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a compiled MLP (folded Threshold) has no `include in rtl/ and threshold.v defines the table macro once', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-hdr-'));
    try {
      const out = join(dir, 'out');
      const design = compileDataflow(smallMlp(), out, { fold: { fc1: { pe: 2, simd: 3 }, act1: { pe: 4 }, fc2: { pe: 1, simd: 2 }, top: { pe: 2 } } });
      for (const f of design.manifest.files) expect(readFileSync(join(out, f), 'utf8'), f).not.toMatch(includeLine);
      expect(readFileSync(join(out, 'rtl/threshold.v'), 'utf8').match(/^`define KILN_TABLE_BITS\(/gm)).toHaveLength(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
