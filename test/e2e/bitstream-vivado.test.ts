// `kiln bitstream --board pynq-z2|zcu104 [--ooc] [--check]`: the Vivado project folder for AMD Zynq
// boards. Vivado is not here, so: the folder passes the static checks (build.tcl under tclsh with the
// Vivado stand-ins, every referenced file present, Verilator -Wall, Yosys synth_xilinx), the stand-ins
// catch broken scripts, the DMA adapter streams the same data as kiln_top with TLAST where the DMA
// needs it (Icarus), kiln_io.py packs as kiln does, the FuseSoC core is well formed, the folder is
// deterministic, and bad input gets coded errors.
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT, kiln as runKiln, tempDirsRemovedAfterAll } from '../unit/cli-helpers.ts';
import { checkVivadoProject, type VivadoProject } from '../../src/bitstream/vivado.ts';
import { KilnError } from '../../src/diag/index.ts';
import { requireTool } from '../../src/tools/index.ts';
import { decodeOutputBeats, encodeStimulus } from '../../src/sim/stimulus.ts';
import { readDataflowJson } from '../../src/dataflow/json.ts';
import { quantizeInput } from '../../src/lower/host.ts';

const tempDir = tempDirsRemovedAfterAll();

const bnn = join(ROOT, 'test/fixtures/corpus/hls4ml-example-models/bnn_model_fc_1layer.onnx');
const tfc = join(ROOT, 'test/fixtures/zoo/tfc_w1a1/model.onnx');

const kiln = (args: string[]) => runKiln(args, ROOT, { timeoutMs: 600_000 });

function compile(model: string, extra: string[] = []): string {
  const dir = join(tempDir(), 'design');
  const r = kiln(['compile', model, '-o', dir, ...extra]);
  expect(r.code, r.stderr).toBe(0);
  return dir;
}

interface Manifest { inW: number; outW: number; streams: string[]; input: { beatsPerInference: number; fold: number; elemBits: number; signed: boolean; qtype: string }; output: { beatsPerInference: number; fold: number; elemBits: number; signed: boolean; qtype: string } }
const manifestOf = (dir: string) => JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;

/** Every file of a folder (relative path → bytes). */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const f of readdirSync(d).sort()) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(dir, p), readFileSync(p).toString('base64'));
    }
  };
  walk(dir);
  return out;
}

interface CheckJson extends VivadoProject {
  check: { tcl: { calls: number; commands: Record<string, number> }; filesChecked: number; lint: { warnings: number }; yosys: { family: string; top: string; cells: Record<string, number>; resources: Record<string, number> } };
}

function bitstreamJson(args: string[]): CheckJson {
  const r = kiln(['bitstream', ...args, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as CheckJson;
}

describe('kiln bitstream (AMD Zynq: Vivado project folder)', () => {
  let design: string;
  beforeAll(() => {
    design = compile(bnn);
    // the PYNQ-Z2 folder the core and stand-in tests read (the first test rewrites it identically)
    expect(kiln(['bitstream', design, '--board', 'pynq-z2']).code).toBe(0);
  });

  it('PYNQ-Z2: block design with the PS7 and an AXI DMA, passing the static checks', () => {
    const p = bitstreamJson([design, '--board', 'pynq-z2', '--check']);
    const dir = join(design, 'vivado-pynq-z2');
    expect(p.dir).toBe(dir);
    expect(p.top).toBe('kiln_dma_top');
    expect(p.clockMHz).toBe(100);
    // 3 and 4 bits wide: the adapter pads to the DMA's 8-bit streams
    expect([p.dmaInW, p.dmaOutW]).toEqual([8, 8]);
    for (const f of ['build.tcl', 'constraints.xdc', 'README.md', 'kiln_io.py', 'manifest.json', 'kiln_top.core', 'rtl/kiln_dma_top.v', 'rtl/kiln_top.v']) {
      expect(p.files, f).toContain(f);
      expect(existsSync(join(dir, f)), f).toBe(true);
    }
    const c = p.check;
    // the script ran to its end under the stand-ins: project, block design, wrapper, runs
    expect(c.tcl.commands.create_project).toBe(1);
    expect(c.tcl.commands.create_bd_cell).toBe(6); // ps, axi_dma, kiln, rst, axi_ctrl, axi_mem
    expect(c.tcl.commands.connect_bd_intf_net).toBe(7);
    expect(c.tcl.commands.validate_bd_design).toBe(1);
    expect(c.tcl.commands.make_wrapper).toBe(1);
    expect(c.tcl.commands.launch_runs).toBe(2);
    expect(c.filesChecked).toBeGreaterThanOrEqual(p.files.filter((f) => f.startsWith('rtl/')).length);
    expect(c.yosys.family).toBe('xc7');
    expect(c.yosys.top).toBe('kiln_dma_top');
    expect(c.yosys.resources.lut).toBeGreaterThan(0);
    expect(c.yosys.resources.ff).toBeGreaterThan(0);
    expect(Object.keys(c.yosys.cells).every((k) => /^(LUT|FD|CARRY|MUX|RAM|SRL|DSP|BUF|INV|GND|VCC)/.test(k)), Object.keys(c.yosys.cells).join(' ')).toBe(true);

    const tcl = readFileSync(join(dir, 'build.tcl'), 'utf8');
    expect(tcl).toMatch(/create_project -force kiln_pynq_z2 .* -part xc7z020clg400-1/);
    expect(tcl).toContain('[kiln_ip processing_system7]');
    expect(tcl).toContain('CONFIG.PCW_FPGA0_PERIPHERAL_FREQMHZ {100}');
    expect(tcl).toContain('connect_bd_intf_net [get_bd_intf_pins axi_dma/M_AXIS_MM2S] [get_bd_intf_pins kiln/s_axis]');
    expect(tcl).toContain('connect_bd_intf_net [get_bd_intf_pins kiln/m_axis] [get_bd_intf_pins axi_dma/S_AXIS_S2MM]');
    expect(tcl).toContain('launch_runs impl_1 -to_step write_bitstream');
    // the README explains the build and the PYNQ side with this design's numbers
    const readme = readFileSync(join(dir, 'README.md'), 'utf8');
    expect(readme).toContain('vivado -mode batch -source build.tcl');
    expect(readme).toContain('dma.sendchannel.transfer(ibuf)');
    expect(readme).toContain('the low 3 bits go to `kiln_top`');
  }, 300_000);

  it('ZCU104: Zynq UltraScale+ PS at --clock-mhz 150, Yosys xcup', () => {
    const p = bitstreamJson([design, '--board', 'zcu104', '--clock-mhz', '150', '--check']);
    expect(p.check.yosys.family).toBe('xcup');
    expect(p.check.tcl.commands.validate_bd_design).toBe(1);
    const tcl = readFileSync(join(p.dir, 'build.tcl'), 'utf8');
    expect(tcl).toContain('-part xczu7ev-ffvc1156-2-e');
    expect(tcl).toContain('[kiln_ip zynq_ultra_ps_e]');
    expect(tcl).toContain('CONFIG.PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ {150}');
    expect(tcl).toContain('[get_bd_intf_pins ps/S_AXI_HP0_FPD]');
    expect(readFileSync(join(p.dir, 'kiln_top.core'), 'utf8')).toContain('part: xczu7ev-ffvc1156-2-e');
  }, 300_000);

  it('--ooc: the accelerator alone, non-project flow, create_clock at the given clock', () => {
    const p = bitstreamJson([design, '--board', 'pynq-z2', '--ooc', '--clock-mhz', '125', '--check']);
    expect(p.dir).toBe(join(design, 'vivado-pynq-z2-ooc'));
    expect(p.top).toBe('kiln_top');
    expect(readFileSync(join(p.dir, 'ooc.xdc'), 'utf8')).toMatch(/^create_clock -period 8\.000 -name clk \[get_ports clk\]$/m);
    expect(readFileSync(join(p.dir, 'build.tcl'), 'utf8')).toContain('synth_design -top kiln_top -part xc7z020clg400-1 -mode out_of_context');
    expect(p.check.tcl.commands.synth_design).toBe(1);
    expect(p.check.tcl.commands.create_clock).toBe(1); // ooc.xdc ran through the stand-ins too
    expect(p.check.tcl.commands.create_bd_design).toBeUndefined();
    expect(p.files).not.toContain('rtl/kiln_dma_top.v');
    expect(p.check.yosys.top).toBe('kiln_top');
  }, 300_000);

  it('is deterministic and atomic: the same design gives a byte-identical folder', () => {
    const a = join(design, 'vivado-pynq-z2');
    kiln(['bitstream', design, '--board', 'pynq-z2']);
    const first = snapshot(a);
    expect(first.size).toBeGreaterThan(8);
    // a second compile of the same model elsewhere gives the same project folder
    const other = compile(bnn);
    expect(kiln(['bitstream', other, '--board', 'pynq-z2']).code).toBe(0);
    expect(snapshot(join(other, 'vivado-pynq-z2'))).toEqual(first);
    // and rewriting replaces the folder in place without leaving temp directories behind
    expect(kiln(['bitstream', design, '--board', 'pynq-z2']).code).toBe(0);
    expect(snapshot(a)).toEqual(first);
    expect(readdirSync(design).filter((f) => f.startsWith('.'))).toEqual([]);
  }, 120_000);

  it('the FuseSoC core is CAPI2 with filesets and default/sim/synth targets over files that exist', () => {
    const dir = join(design, 'vivado-pynq-z2');
    const text = readFileSync(join(dir, 'kiln_top.core'), 'utf8');
    expect(text.split('\n')[0]).toBe('CAPI=2:');
    expect(text).toMatch(/^name: kiln:user:kiln_top:\d+\.\d+\.\d+$/m);
    // a small indentation parser: top-level keys, their children, the files lists
    const tree: Record<string, Record<string, string[]>> = {};
    let top = '';
    let child = '';
    for (const line of text.split('\n').slice(1)) {
      let m: RegExpExecArray | null;
      if ((m = /^(\w+):/.exec(line))) { top = m[1]; tree[top] = {}; }
      else if ((m = /^ {2}(\w+):$/.exec(line))) { child = m[1]; tree[top][child] = []; }
      else if ((m = /^ {4}(\w+): (.+)$/.exec(line))) tree[top][child].push(`${m[1]}=${m[2]}`);
      else if ((m = /^ {6}- ([^:\s]+)/.exec(line))) tree[top][child].push(`file=${m[1]}`);
    }
    expect(Object.keys(tree.filesets)).toEqual(['rtl', 'wrapper']);
    expect(tree.filesets.rtl).toContain('file_type=verilogSource');
    expect(Object.keys(tree.targets)).toEqual(['default', 'sim', 'synth']);
    expect(tree.targets.sim).toContain('default_tool=verilator');
    expect(tree.targets.synth).toContain('default_tool=vivado');
    for (const t of Object.values(tree.targets)) expect(t).toContain('toplevel=kiln_top');
    const files = Object.values(tree.filesets).flat().filter((e) => e.startsWith('file=')).map((e) => e.slice(5));
    const manifest = JSON.parse(readFileSync(join(design, 'manifest.json'), 'utf8')) as { files: string[] };
    expect(files.length).toBe(manifest.files.length + 1);
    for (const f of files) expect(existsSync(join(dir, f)), f).toBe(true);
  });

  describe('the Vivado stand-ins reject broken scripts', () => {
    // a mutated copy of the PYNQ-Z2 folder, checked in-process
    async function checkMutated(edit: (dir: string) => void): Promise<string> {
      const copy = join(tempDir(), 'vivado-pynq-z2');
      cpSync(join(design, 'vivado-pynq-z2'), copy, { recursive: true });
      edit(copy);
      const project: VivadoProject = { board: 'pynq-z2', ooc: false, dir: copy, clockMHz: 100, top: 'kiln_dma_top', files: [] };
      try {
        await checkVivadoProject(project);
      } catch (e) {
        expect(e).toBeInstanceOf(KilnError);
        return (e as KilnError).message;
      }
      throw new Error('the check passed a broken project');
    }
    const editTcl = (f: (s: string) => string) => (dir: string) => {
      const p = join(dir, 'build.tcl');
      const before = readFileSync(p, 'utf8');
      const after = f(before);
      expect(after).not.toBe(before);
      writeFileSync(p, after);
    };

    it('a missing source file', async () => {
      const msg = await checkMutated((d) => rmSync(join(d, 'rtl', 'mvu.v')));
      expect(msg).toMatch(/^KLN3002 build\.tcl failed under tclsh/);
      expect(msg).toMatch(/add_files: file '.*rtl\/mvu\.v' does not exist/);
    });
    it('a pin the IP does not have', async () => {
      const msg = await checkMutated(editTcl((s) => s.replace('axi_dma/S_AXIS_S2MM]', 'axi_dma/S_AXIS_S2M]')));
      expect(msg).toContain("cell 'axi_dma' (axi_dma) has no interface pin 'S_AXIS_S2M'");
    });
    it('DMA and adapter streams of different widths', async () => {
      const msg = await checkMutated(editTcl((s) => s.replace('CONFIG.c_s_axis_s2mm_tdata_width {8}', 'CONFIG.c_s_axis_s2mm_tdata_width {16}')));
      expect(msg).toContain('connect_bd_intf_net: kiln/m_axis is 8 bits wide, axi_dma/S_AXIS_S2MM is 16 bits (TDATA widths must match)');
    });
    it('an unconnected clock', async () => {
      const msg = await checkMutated(editTcl((s) => s.replace(' [get_bd_pins kiln/aclk]', '')));
      expect(msg).toContain('validate_bd_design: kiln/aclk (module:kiln_dma_top) is not connected');
    });
    it('a port the adapter lacks (interfaces are read from its Verilog)', async () => {
      const msg = await checkMutated((d) => {
        const p = join(d, 'rtl', 'kiln_dma_top.v');
        writeFileSync(p, readFileSync(p, 'utf8').replaceAll('axis:1.0 m_axis', 'axis:1.0 m_out'));
      });
      expect(msg).toContain("cell 'kiln' (module:kiln_dma_top) has no interface pin 'm_axis'");
    });
    it('a command Vivado does not have', async () => {
      const msg = await checkMutated(editTcl((s) => s.replace('\nvalidate_bd_design\n', '\nvalidate_bd_designs\n')));
      expect(msg).toContain("'validate_bd_designs' has no stub");
    });
    it('a Tcl syntax error', async () => {
      const msg = await checkMutated(editTcl((s) => s.replace('proc kiln_ip {name} {', 'proc kiln_ip {name} {{')));
      expect(msg).toMatch(/KLN3002 build\.tcl failed under tclsh/);
    });
    it('Verilog that does not lint', async () => {
      const msg = await checkMutated((d) => {
        const p = join(d, 'rtl', 'kiln_dma_top.v');
        writeFileSync(p, readFileSync(p, 'utf8').replace('wire q_full = q_count[2];', 'wire q_full = q_count[2];\n  wire [3:0] stray = 8\'hff;'));
      });
      expect(msg).toMatch(/^KLN3002 verilator --lint-only -Wall on kiln_dma_top is not clean/);
    });
  });

  it('the DMA adapter passes kiln_top\'s data through and ends each output transfer where the input transfer ended', () => {
    // multi-beat inferences (TFC: 49 beats in, 10 out); padded single-beat ones (bnn: 3 → 8, 4 → 8 bits)
    // with the output held back at first, so the 4-deep batch queue fills and stalls the input
    const cases = [
      { dir: compile(tfc), batches: [1, 3, 2], hold: 0 },
      { dir: design, batches: [1, 1, 1, 1, 1, 1, 2, 3], hold: 300 },
    ];
    for (const { dir, batches, hold } of cases) {
      expect(kiln(['bitstream', dir, '--board', 'pynq-z2']).code).toBe(0);
      const m = manifestOf(dir);
      const rtl = join(dir, 'vivado-pynq-z2', 'rtl');
      const n = batches.reduce((a, b) => a + b);
      writeFileSync(join(rtl, 'tb_dma.v'), adapterTestbench(m, dmaW(m.inW), dmaW(m.outW), batches, hold));
      const sources = readdirSync(rtl).filter((f) => f.endsWith('.v'));
      const build = spawnSync(requireTool('iverilog'), ['-g2005', '-o', 'tb.vvp', '-s', 'tb', ...sources], { cwd: rtl, encoding: 'utf8' });
      expect(build.status, build.stderr).toBe(0);
      const run = spawnSync(requireTool('vvp'), ['-n', 'tb.vvp'], { cwd: rtl, encoding: 'utf8', timeout: 300_000 });
      expect(run.status, run.stderr).toBe(0);
      const full = Number(/^DONE full=(\d+)$/m.exec(run.stdout)?.[1]);
      if (hold > 0) expect(full).toBeGreaterThan(0);
      const dut = [...run.stdout.matchAll(/^D ([0-9a-f]+) (\d) ([0-9a-f]+)$/gm)];
      const ref = [...run.stdout.matchAll(/^R ([0-9a-f]+)$/gm)].map((x) => BigInt('0x' + x[1]));
      expect(dut.length).toBe(n * m.output.beatsPerInference);
      expect(ref.length).toBe(dut.length);
      expect(dut.map((x) => BigInt('0x' + x[1]))).toEqual(ref); // same data, zero-padded above outW
      // TLAST exactly on the last beat of the last inference of each input transfer
      const lastAt: number[] = [];
      let inf = 0;
      for (const b of batches) { inf += b; lastAt.push(inf * m.output.beatsPerInference - 1); }
      expect(dut.flatMap((x, i) => (x[2] === '1' ? [i] : []))).toEqual(lastAt);
      const keep = (1n << BigInt(dmaW(m.outW) / 8)) - 1n;
      expect(dut.every((x) => BigInt('0x' + x[3]) === keep)).toBe(true);
    }
  }, 300_000);

  const hasNumpy = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0;
  it.skipIf(!hasNumpy)('kiln_io.py quantizes, packs and unpacks as kiln does (TFC: INT2 × 16 in, INT8 out)', () => {
    const dir = compile(tfc);
    expect(kiln(['bitstream', dir, '--board', 'pynq-z2']).code).toBe(0);
    const m = manifestOf(dir);
    const df = readDataflowJson(join(dir, 'dataflow.json'));
    const per = m.input.fold * m.input.beatsPerInference;
    // deterministic pseudo-random floats around the quantizer's range, and output beats
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const x = Array.from({ length: 3 }, () => Array.from({ length: per }, () => rand() * 2.4 - 1.2));
    const outBeats = Array.from({ length: 2 * m.output.beatsPerInference }, () => BigInt(Math.floor(rand() * 256)));
    const script = [
      'import json, sys',
      `sys.path.insert(0, ${JSON.stringify(join(dir, 'vivado-pynq-z2'))})`,
      'import numpy as np, kiln_io',
      'a = json.load(sys.stdin)',
      'codes = kiln_io.quantize(np.array(a["x"]))',
      'out = kiln_io.unpack(np.array(a["out"], dtype=np.uint8), 2)',
      'print(json.dumps({"codes": codes.tolist(), "packed": kiln_io.pack(codes).tolist(), "out": out.tolist()}))',
    ].join('\n');
    const r = spawnSync('python3', ['-c', script], { input: JSON.stringify({ x, out: outBeats.map(Number) }), encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const py = JSON.parse(r.stdout) as { codes: number[][]; packed: number[]; out: number[][] };
    const codes = x.map((row) => quantizeInput(df.inputQuant[0], row));
    expect(py.codes).toEqual(codes);
    // kiln's stimulus beats, little endian in DMA_IN_BYTES each
    const bytes = dmaW(m.inW) / 8;
    const expected = encodeStimulus(m.input, codes).trim().split('\n').flatMap((hex) => {
      const v = BigInt('0x' + hex);
      return Array.from({ length: bytes }, (_, i) => Number((v >> BigInt(8 * i)) & 0xffn));
    });
    expect(py.packed).toEqual(expected);
    expect(py.out).toEqual(decodeOutputBeats(m.output, outBeats, m.output.fold * m.output.beatsPerInference));
  }, 120_000);

  describe('bad input', () => {
    it('an unknown board: KLN1014 listing the boards', () => {
      const r = kiln(['bitstream', design, '--board', 'pynq-z9']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^KLN1014 Invalid values:[^]*Given: "pynq-z9"/);
      for (const b of ['icebreaker', 'upduino', 'pynq-z2', 'zcu104']) expect(r.stderr).toContain(b);
    });
    it('--ooc on an iCE40 board, a bad clock, a directory that is not a design', () => {
      let r = kiln(['bitstream', design, '--board', 'icebreaker', '--ooc']);
      expect(r.stderr).toMatch(/^KLN1014 --ooc is for the AMD boards/);
      r = kiln(['bitstream', design, '--board', 'pynq-z2', '--clock-mhz', '-5']);
      expect(r.stderr).toMatch(/^KLN1014 --clock-mhz must be a positive number/);
      r = kiln(['bitstream', tempDir(), '--board', 'zcu104']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^KLN1001 .* is not a compiled design/);
    });
    it('a stream wider than an AXI DMA takes: KLN2005, nothing written', () => {
      const fold = join(tempDir(), 'fold.json');
      writeFileSync(fold, JSON.stringify({ fcs_0_MatMul: { pe: 1, simd: 784 } })); // 784 × INT2 = 1568 bits a beat
      const dir = compile(tfc, ['--fold', fold]);
      const r = kiln(['bitstream', dir, '--board', 'pynq-z2']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^KLN2005 the design's input stream is 1568 bits wide; an AXI DMA stream takes at most 1024/);
      expect(existsSync(join(dir, 'vivado-pynq-z2'))).toBe(false);
      expect(r.stderr).not.toMatch(/internal error|    at /);
    });
  });
});

function dmaW(w: number): number {
  let d = 8;
  while (d < w) d *= 2;
  return d;
}

/**
 * Icarus testbench: the same random input beats go to kiln_dma_top (random valid gaps, random output
 * back-pressure, TLAST at the end of each batch) and to a plain kiln_top (no stalls). Prints the
 * adapter's output beats (`D data tlast tkeep`) and the reference's (`R data`).
 */
function adapterTestbench(m: Manifest, dinW: number, doutW: number, batches: number[], holdCycles: number): string {
  const n = batches.reduce((a, b) => a + b);
  const inBeats = n * m.input.beatsPerInference;
  const outBeats = n * m.output.beatsPerInference;
  const lastBeats = new Set<number>();
  let k = 0;
  for (const b of batches) { k += b; lastBeats.add(k * m.input.beatsPerInference - 1); }
  const ns = m.streams.length;
  return `\`timescale 1ns/1ps
module tb;
  reg clk = 0;
  always #5 clk = ~clk;
  reg rstn = 0;
  reg [${m.inW - 1}:0] data [0:${inBeats - 1}];
  reg islast [0:${inBeats - 1}];
  integer i, seed, di, ri, dout, rout, cycles, fullCycles;
  initial begin
    seed = 1;
    for (i = 0; i < ${inBeats}; i = i + 1) begin data[i] = $random(seed); islast[i] = 1'b0; end
${[...lastBeats].map((b) => `    islast[${b}] = 1'b1;`).join('\n')}
  end

  reg [${dinW - 1}:0] s_tdata; reg s_tlast, s_tvalid; wire s_tready;
  wire [${doutW - 1}:0] m_tdata; wire [${doutW / 8 - 1}:0] m_tkeep; wire m_tlast, m_tvalid; reg m_tready;
  kiln_dma_top dut (.aclk(clk), .aresetn(rstn), .s_axis_tdata(s_tdata), .s_axis_tlast(s_tlast), .s_axis_tvalid(s_tvalid), .s_axis_tready(s_tready),
    .m_axis_tdata(m_tdata), .m_axis_tkeep(m_tkeep), .m_axis_tlast(m_tlast), .m_axis_tvalid(m_tvalid), .m_axis_tready(m_tready));

  reg [${m.inW - 1}:0] r_tdata; reg r_tvalid; wire r_tready;
  wire [${m.outW - 1}:0] r_m; wire r_mvalid; wire [${ns - 1}:0] r_dv, r_dr;
  kiln_top ref (.clk(clk), .rst_n(rstn), .s_axis_tdata(r_tdata), .s_axis_tvalid(r_tvalid), .s_axis_tready(r_tready),
    .m_axis_tdata(r_m), .m_axis_tvalid(r_mvalid), .m_axis_tready(1'b1), .dbg_valid(r_dv), .dbg_ready(r_dr));

  initial begin
    di = 0; ri = 0; dout = 0; rout = 0; cycles = 0; fullCycles = 0;
    s_tvalid = 0; s_tlast = 0; s_tdata = 0; m_tready = 0; r_tvalid = 0; r_tdata = 0;
    repeat (4) @(posedge clk);
    rstn = 1;
  end

  always @(posedge clk) if (rstn) begin
    cycles <= cycles + 1;
    // adapter: a beat moves on valid && ready; then offer the next one (or a gap)
    if (s_tvalid && s_tready) di = di + 1;
    if (!s_tvalid || s_tready) begin
      if (di < ${inBeats} && ($random(seed) % 3 != 0)) begin
        s_tvalid <= 1; s_tdata <= {{${dinW - m.inW + 1}{$random(seed)}}, data[di]}; s_tlast <= islast[di];
      end else begin
        s_tvalid <= 0;
      end
    end
    // back-pressure: none accepted for the first holdCycles (the batch queue fills), then 3 in 4
    m_tready <= cycles >= ${holdCycles} && ($random(seed) % 4 != 0);
    if (dut.q_full) fullCycles = fullCycles + 1;
    if (m_tvalid && m_tready) begin
      $display("D %h %b %h", m_tdata, m_tlast, m_tkeep);
      dout = dout + 1;
    end
    // reference: no gaps
    if (r_tvalid && r_tready) ri = ri + 1;
    r_tvalid <= ri < ${inBeats};
    r_tdata <= data[ri < ${inBeats} ? ri : 0];
    if (r_mvalid) begin
      $display("R %h", r_m);
      rout = rout + 1;
    end
    if (dout == ${outBeats} && rout == ${outBeats}) begin $display("DONE full=%0d", fullCycles); $finish; end
    if (cycles > 2000000) begin $display("TIMEOUT di=%0d dout=%0d rout=%0d", di, dout, rout); $finish; end
  end
endmodule
`;
}
