// Every hand-written hw/ file and every file of a generated design passes `verilator --lint-only -Wall`.
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { compileDataflow } from '../../src/codegen/index.ts';
import { hwDir } from '../../src/codegen/helpers.ts';
import { findTool } from '../../src/tools/index.ts';
import { smallMlp } from './codegen-fixture.ts';

const verilator = findTool('verilator');
const iverilog = findTool('iverilog');
const yosys = findTool('yosys');

function verilogFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return f === 'tb' ? [] : verilogFiles(p);
    return f.endsWith('.v') ? [p] : [];
  });
}

async function lint(files: string[], top: string, cwd?: string, libDirs: string[] = []): Promise<string> {
  const r = await execa(verilator!, ['--lint-only', '-Wall', ...libDirs.flatMap((d) => ['-y', d]), '--top-module', top, ...files], { reject: false, cwd });
  return `${r.stdout}${r.stderr}`.trim();
}

describe.skipIf(!verilator)('verilator --lint-only -Wall', () => {
  it.each(verilogFiles(hwDir).map((f) => [f.slice(hwDir.length + 1), f]))('hw/%s', async (_name, file) => {
    const top = _name.split('/').pop()!.replace(/\.v$/, '');
    // hw/common modules (e.g. out_reg) that a kind instantiates are found by name (-y).
    expect(await lint([file], top, undefined, [join(hwDir, 'common')])).toBe('');
  });

  it.each([['fully parallel', undefined], ['folded with width converters', { fc1: { pe: 2, simd: 3 }, act1: { pe: 4 }, fc2: { pe: 1, simd: 2 }, top: { pe: 2 } }]] as const)(
    'a generated design (%s)',
    async (_label, fold) => {
      const dir = mkdtempSync(join(tmpdir(), 'kiln-lint-'));
      try {
        const out = join(dir, 'out');
        const design = compileDataflow(smallMlp(), out, { fold });
        expect(await lint(design.manifest.files, 'kiln_top', out)).toBe('');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});

describe.skipIf(!iverilog || !yosys)('Icarus and Yosys read a generated design', () => {
  it('iverilog -g2005 compiles it; yosys elaborates it (with its $readmemh ROMs) and check -assert passes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-tools-'));
    try {
      const out = join(dir, 'out');
      const design = compileDataflow(smallMlp(), out, { fold: { fc1: { pe: 2, simd: 3 }, act1: { pe: 4 }, fc2: { pe: 1, simd: 2 }, top: { pe: 2 } } });
      const files = design.manifest.files;
      const iv = await execa(iverilog!, ['-g2005', '-o', join(dir, 'a.vvp'), ...files], { cwd: out, reject: false, all: true });
      expect(iv.all?.trim()).toBe('');
      expect(iv.exitCode).toBe(0);
      const ys = await execa(yosys!, ['-q', '-p', `read_verilog ${files.join(' ')}; hierarchy -check -top kiln_top; proc; check -assert`], { cwd: out, reject: false, all: true });
      expect(ys.all?.trim()).toBe('');
      expect(ys.exitCode).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
