// kiln synth on one small design (Yosys synth_xilinx, per layer and whole design): cell statistics
// are parsed into LUT/FF/DSP/BRAM, merged into report.json, and report.html shows the measured bars.
// A missing Yosys is KLN3001 with an install hint. Results are cached by content hash (.cache/synth).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileDataflow } from '../../src/codegen/index.ts';
import { findTool } from '../../src/tools/index.ts';
import { synthDesign } from '../../src/synth/design.ts';
import { cellsToResources, synthesize } from '../../src/synth/yosys.ts';
import { wasmYosys } from '../../bench/yosys-wasm.ts';
import { smallMlp } from '../unit/codegen-fixture.ts';
import { kiln } from '../unit/cli-helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'kiln-synth-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('cell statistics → resources', () => {
  it('counts LUTRAM as LUTs, RAMB36 as two BRAM18, iCE40 LC as max(LUT4, DFF)', () => {
    expect(cellsToResources({ LUT3: 5, LUT6: 2, RAM64M: 3, FDRE: 7, FDSE: 1, DSP48E1: 2, RAMB36E1: 1, RAMB18E1: 1, CARRY4: 9 }, 'xc7'))
      .toEqual({ lut: 19, ff: 8, dsp: 2, bram18: 3 });
    expect(cellsToResources({ SB_LUT4: 10, SB_DFFE: 12, SB_MAC16: 1, SB_RAM40_4K: 2, SB_CARRY: 4 }, 'ice40')).toEqual({ lc: 12, mac16: 1, ebr: 2 });
  });
});

describe.skipIf(!findTool('yosys'))('kiln synth (Yosys)', () => {
  it('measures each layer and the whole design and merges it into report.json / report.html', async () => {
    const out = join(dir, 'design');
    compileDataflow(smallMlp(), out, { fold: { fc1: { pe: 2, simd: 3 }, fc2: { pe: 1, simd: 2 } } });
    const r = await synthDesign(out, 'xc7');
    expect(Object.keys(r.layers).sort()).toEqual(expect.arrayContaining(['act1', 'fc1', 'fc2', 'top']));
    expect(r.total.lut).toBeGreaterThan(0);
    expect(r.total.ff).toBeGreaterThan(0);
    // INT2 weights × UINT2 inputs, 7-bit sums: too narrow for a DSP48 (Yosys's 9-bit product minimum).
    expect(r.total.dsp).toBe(0);
    // The whole design is at least its layers minus what crosses module boundaries: same order of size.
    const sum = Object.values(r.layers).reduce((s, x) => s + x.lut, 0);
    expect(r.total.lut).toBeGreaterThan(sum * 0.5);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    expect(report.synth.xc7.total).toEqual(r.total);
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain('class="bar measured"');
  }, 600_000);
});

describe('Yosys 0.55 as WebAssembly (the peers bench engine)', () => {
  it("runs kiln's synth script on a design directory ($readmemh files included); a failure is KLN3002", async () => {
    const out = join(dir, 'wasm');
    compileDataflow(smallMlp(), out, { fold: { fc1: { pe: 2, simd: 3 }, fc2: { pe: 1, simd: 2 } } });
    expect(await wasmYosys.version()).toMatch(/^Yosys 0\.55 \(@yowasp\/yosys 0\.55\.\d+\)$/);
    const files = (JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { files: string[] }).files;
    const r = await synthesize(out, files, 'kiln_top', 'xc7', { engine: wasmYosys });
    expect(r.resources.lut).toBeGreaterThan(0);
    expect(r.resources.ff).toBeGreaterThan(0);
    expect(r.cells.FDRE ?? 0).toBe(r.resources.ff - (r.cells.FDSE ?? 0));
    await expect(synthesize(out, files, 'no_such_top', 'xc7', { engine: wasmYosys })).rejects.toThrow(/KLN3002 yosys failed on no_such_top \(xc7\): ERROR/);
  }, 600_000);
});

describe('kiln synth without Yosys', () => {
  it('a missing Yosys is KLN3001 with an install hint', () => {
    const out = join(dir, 'design2');
    compileDataflow(smallMlp(), out, {});
    const missing = kilnWithEnv(['synth', out], { KILN_YOSYS: '/nonexistent/yosys' });
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/KLN3001 .*yosys not found at \/nonexistent\/yosys.*apt-get install yosys/);
  });
});

function kilnWithEnv(args: string[], env: Record<string, string>) {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    return kiln(args);
  } finally {
    for (const k of Object.keys(env)) if (saved[k] === undefined) delete process.env[k]; else process.env[k] = saved[k];
  }
}
