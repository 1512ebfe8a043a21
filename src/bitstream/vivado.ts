// AMD Zynq boards: `kiln bitstream <dir> --board pynq-z2|zcu104 [--ooc]` writes a self-contained Vivado
// project folder <dir>/vivado-<board>[-ooc]/ (templates/bitstream/vivado/): build.tcl, XDC, the RTL
// and weights, a FuseSoC core, a README, and for the block-design build the DMA adapter and the PYNQ
// host helper. Vivado cannot run here, so `checkVivadoProject` checks what can be checked: build.tcl
// runs under tclsh with stand-ins for the Vivado commands (vivado-stubs.tcl: files exist, block-design
// pins exist and are connected), the Verilog lints (Verilator -Wall) and synthesizes (Yosys
// synth_xilinx for the board's family).
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { execa } from 'execa';
import { Code, fail, KilnError } from '../diag/index.ts';
import { template } from '../codegen/helpers.ts';
import { templatesDir } from '../tools/root.ts';
import { writeDirAtomic, type FileSet } from '../codegen/write.ts';
import { requireTool } from '../tools/index.ts';
import type { Resources } from '../estimate/units.ts';
import { cellsToResources } from '../synth/yosys.ts';
import { amdBoards, type AmdBoardName } from './boards.ts';
import { coreFiles, fusesocCore } from './fusesoc.ts';
import { readJsonFile } from '../io/json.ts';

interface ManifestLike {
  top: string;
  files: string[];
  inW: number;
  outW: number;
  input: { elemBits: number; fold: number; beatsPerInference: number; qtype: string };
  output: { elemBits: number; fold: number; beatsPerInference: number; qtype: string };
  streams: string[];
  model: string;
  kilnVersion: string;
}

export const DEFAULT_CLOCK_MHZ = 100;
/** The module around kiln_top that the block design instantiates. */
export const DMA_WRAPPER = 'kiln_dma_top';
const BD_NAME = 'kiln_bd';
/** AXI DMA stream widths (PG021): 8, 16, … 1024 bits. */
const DMA_MAX_W = 1024;
const stubsFile = join(templatesDir, 'bitstream', 'vivado', 'vivado-stubs.tcl');

export interface VivadoProject {
  board: AmdBoardName;
  ooc: boolean;
  /** The project folder. */
  dir: string;
  clockMHz: number;
  /** Top module of the Verilog in the folder (the DMA wrapper, or kiln_top out of context). */
  top: string;
  /** DMA stream widths (block-design build only). */
  dmaInW?: number;
  dmaOutW?: number;
  files: string[];
}

export function projectDirName(board: AmdBoardName, ooc: boolean): string {
  return `vivado-${board}${ooc ? '-ooc' : ''}`;
}

/** The DMA stream width that carries w bits: a power of two, at least 8 (KLN2005 above 1024). */
export function dmaWidth(w: number, which: string): number {
  let d = 8;
  while (d < w) d *= 2;
  if (d > DMA_MAX_W) {
    fail('StreamTooWide', `the design's ${which} stream is ${w} bits wide; an AXI DMA stream takes at most ${DMA_MAX_W} (fold the first/last layer further: fewer PE/SIMD)`);
  }
  return d;
}

const bitsFor = (n: number) => Math.max(1, Math.ceil(Math.log2(n)));

function readManifest(dir: string): ManifestLike {
  const path = join(dir, 'manifest.json');
  if (!existsSync(path)) fail('FileNotFound', `'${dir}' is not a compiled design (no manifest.json); run kiln compile first`);
  return readJsonFile(path, 'manifest', 'recompile the design with kiln compile') as ManifestLike;
}

/**
 * The project folder's files. RTL is copied flat into rtl/ with its `$readmemh` paths reduced to the
 * file name: Vivado finds memory files among the project's sources by name, not by directory.
 */
export function vivadoProjectFiles(designDir: string, boardName: AmdBoardName, opts: { ooc?: boolean; clockMHz?: number } = {}): { files: FileSet; project: Omit<VivadoProject, 'dir' | 'files'> } {
  const m = readManifest(designDir);
  const board = amdBoards[boardName];
  const ooc = opts.ooc ?? false;
  const clockMHz = opts.clockMHz ?? DEFAULT_CLOCK_MHZ;
  if (!(clockMHz > 0 && clockMHz <= 1000)) fail('BadArgument', `--clock-mhz must be a positive number of MHz (at most 1000), not ${clockMHz}`);
  const files: FileSet = new Map();

  const rtl: string[] = [];
  for (const f of m.files) {
    const text = readFileSync(join(designDir, f), 'utf8').replace(/"weights\/([^"/]+\.mem)"/g, '"$1"');
    files.set(`rtl/${basename(f)}`, text);
    rtl.push(basename(f));
  }
  const weightsDir = join(designDir, 'weights');
  const mems = existsSync(weightsDir) ? readdirSync(weightsDir).filter((f) => f.endsWith('.mem')).sort() : [];
  for (const f of mems) files.set(`rtl/${f}`, readFileSync(join(weightsDir, f), 'utf8'));

  const ps = board.ps;
  const periodNs = (1000 / clockMHz).toFixed(3);
  const base = {
    board: boardName, part: board.part, boardPart: board.boardPart, top: m.top, clockMHz, periodNs, ooc,
    model: m.model, kilnVersion: m.kilnVersion, yosysFamily: board.yosysFamily, mems: mems.length > 0,
    psName: ps.name, psIp: ps.ip, psClk: ps.clk, psResetn: ps.resetn, psCtrlPort: ps.ctrlPort, psMemPort: ps.memPort,
    wrapper: DMA_WRAPPER, bdName: BD_NAME,
  };
  let project: Omit<VivadoProject, 'dir' | 'files'>;
  let readme: Record<string, unknown> = base;
  if (ooc) {
    files.set('build.tcl', template('bitstream/vivado/build_ooc.tcl')({ ...base, sources: rtl, mems }));
    files.set('ooc.xdc', template('bitstream/vivado/ooc.xdc')(base));
    project = { board: boardName, ooc, clockMHz, top: m.top };
  } else {
    const dmaInW = dmaWidth(m.inW, 'input');
    const dmaOutW = dmaWidth(m.outW, 'output');
    const io = {
      inW: m.inW, outW: m.outW, dmaInW, dmaOutW, dmaInBytes: dmaInW / 8, dmaOutBytes: dmaOutW / 8,
      inBeats: m.input.beatsPerInference, outBeats: m.output.beatsPerInference,
      inFold: m.input.fold, inQType: m.input.qtype, inElemBits: m.input.elemBits,
      outFold: m.output.fold, outQType: m.output.qtype, outElemBits: m.output.elemBits,
      inElems: m.input.fold * m.input.beatsPerInference, outElemsPadded: m.output.fold * m.output.beatsPerInference,
    };
    files.set(`rtl/${DMA_WRAPPER}.v`, template('bitstream/vivado/kiln_dma_top.v')({
      ...base, ...io, name: DMA_WRAPPER, streams: m.streams.length,
      inBeatBits: bitsFor(io.inBeats), outBeatBits: bitsFor(io.outBeats),
      inLastBeat: io.inBeats - 1, outLastBeat: io.outBeats - 1,
      padIn: dmaInW > m.inW, inPad: dmaInW - m.inW, padOut: dmaOutW > m.outW, outPad: dmaOutW - m.outW,
    }));
    files.set('build.tcl', template('bitstream/vivado/build.tcl')({
      ...base, ...io, sources: [...rtl, `${DMA_WRAPPER}.v`], mems, projName: `kiln_${boardName.replace(/-/g, '_')}`,
      psAutomationRule: ps.automation.rule, psAutomationConfig: ps.automation.config, psAutomationAlways: ps.automation.always,
      psConfig: Object.entries(ps.config(clockMHz)).map(([key, value]) => ({ key, value })),
      psCtrlClk: ps.ctrlClk, psMemClk: ps.memClk, dmaAddrWidth: ps.dmaAddrWidth,
      mmInW: Math.max(32, dmaInW), mmOutW: Math.max(32, dmaOutW),
    }));
    files.set('constraints.xdc', template('bitstream/vivado/constraints.xdc')(base));
    files.set('kiln_io.py', template('bitstream/vivado/kiln_io.py')({ ...base, ...io }));
    files.set('manifest.json', readFileSync(join(designDir, 'manifest.json'), 'utf8'));
    readme = { ...base, ...io };
    project = { board: boardName, ooc, clockMHz, top: DMA_WRAPPER, dmaInW, dmaOutW };
  }
  files.set(`${m.top}.core`, fusesocCore({
    top: m.top, version: m.kilnVersion, description: `kiln accelerator from ${m.model}`,
    rtl: rtl.map((f) => `rtl/${f}`), mems: mems.map((f) => `rtl/${f}`), wrapper: ooc ? [] : [`rtl/${DMA_WRAPPER}.v`], part: board.part,
  }));
  files.set('README.md', template('bitstream/vivado/README.md')(readme));
  return { files, project };
}

/** Writes the project folder atomically (a temp sibling renamed into place), replacing an older one. */
export function writeVivadoProject(designDir: string, board: AmdBoardName, opts: { ooc?: boolean; clockMHz?: number } = {}): VivadoProject {
  const { files, project } = vivadoProjectFiles(designDir, board, opts);
  const dir = join(designDir, projectDirName(board, project.ooc));
  writeDirAtomic(dir, files, true);
  return { ...project, dir, files: [...files.keys()].sort() };
}

export interface VivadoCheck {
  /** Vivado commands build.tcl ran under the stand-ins, by name, with counts. */
  tcl: { calls: number; commands: Record<string, number> };
  /** Files the script, the RTL ($readmemh) and the FuseSoC core refer to; all exist. */
  filesChecked: number;
  lint: { top: string; warnings: number };
  yosys: { family: string; top: string; cells: Record<string, number>; resources: Resources; seconds: number };
}

const LOG_TAIL = 12;
const tail = (s: string) => s.trimEnd().split('\n').slice(-LOG_TAIL).join('\n');

/** Runs build.tcl under tclsh with the Vivado stand-ins, in a copy of the folder (stubs write placeholders). */
async function checkTcl(project: VivadoProject): Promise<{ calls: string[][]; work: string }> {
  const tclsh = requireTool('tclsh');
  const work = mkdtempSync(join(tmpdir(), 'kiln-vivado-check-'));
  const copy = join(work, basename(project.dir));
  cpSync(project.dir, copy, { recursive: true });
  const log = join(work, 'calls.log');
  const driver = join(work, 'driver.tcl');
  writeFileSync(driver, [
    `set kiln_log {${log}}`,
    `source {${stubsFile}}`,
    `cd {${copy}}`,
    // one line: the message and where in build.tcl (or the XDC it sources) it happened
    `if {[catch {source {${join(copy, 'build.tcl')}}} msg opts]} {`,
    '  set where {}',
    '  regexp {\(file "[^"]*/([^/"]+)" line (\d+)\)} [dict get $opts -errorinfo] -> file line',
    '  if {[info exists line]} { set where "$file line $line: " }',
    '  puts stderr "$where$msg"',
    '  exit 1',
    '}',
  ].join('\n') + '\n');
  writeFileSync(log, '');
  const r = await execa(tclsh, [driver], { reject: false, all: true, timeout: 120_000 });
  if (r.exitCode !== 0) {
    rmSync(work, { recursive: true, force: true });
    fail('ToolFailed', `build.tcl failed under tclsh with the Vivado stand-ins: ${`${r.stderr}`.trim().split('\n').pop()}`);
  }
  const calls = readFileSync(log, 'utf8').split('\n').filter((l) => l !== '').map((l) => l.split(' '));
  return { calls, work: copy };
}

/** Every file the RTL reads with $readmemh and every file the FuseSoC core lists exists in the folder. */
function checkReferencedFiles(dir: string, top: string): number {
  let n = 0;
  const rtlDir = join(dir, 'rtl');
  for (const f of readdirSync(rtlDir).filter((x) => x.endsWith('.v'))) {
    // the files the layer instances give their ROMs (`.WEIGHT_FILE("x.mem")`), not the generic defaults
    for (const m of readFileSync(join(rtlDir, f), 'utf8').matchAll(/\.\w+\s*\(\s*"([^"\s]+\.mem)"\s*\)/g)) {
      if (!existsSync(join(rtlDir, m[1]))) fail('FileNotFound', `rtl/${f} reads '${m[1]}', which is not in ${rtlDir}`);
      n++;
    }
  }
  for (const f of coreFiles(readFileSync(join(dir, `${top}.core`), 'utf8'))) {
    if (!existsSync(join(dir, f))) fail('FileNotFound', `${top}.core lists '${f}', which is not in ${dir}`);
    n++;
  }
  return n;
}

/** The static checks of a written project folder (no Vivado needed). */
export async function checkVivadoProject(project: VivadoProject, designTop = 'kiln_top', onProgress?: (msg: string) => void): Promise<VivadoCheck> {
  const board = amdBoards[project.board];
  onProgress?.('tclsh build.tcl (Vivado stand-ins)');
  const { calls, work } = await checkTcl(project);
  try {
    const commands: Record<string, number> = {};
    for (const c of calls) commands[c[0]] = (commands[c[0]] ?? 0) + 1;
    const filesChecked = checkReferencedFiles(project.dir, designTop) +
      calls.filter((c) => ['add_files', 'read_verilog', 'read_mem', 'read_xdc'].includes(c[0])).length;

    const rtlDir = join(project.dir, 'rtl');
    const sources = readdirSync(rtlDir).filter((f) => f.endsWith('.v')).sort();
    onProgress?.(`verilator --lint-only -Wall (${project.top})`);
    const lint = await execa(requireTool('verilator'), ['--lint-only', '-Wall', '--top-module', project.top, ...sources], { cwd: rtlDir, reject: false, all: true });
    const lintOut = `${lint.all ?? ''}`.trim();
    if (lint.exitCode !== 0 || lintOut !== '') throw new KilnError({ code: Code.ToolFailed, message: `verilator --lint-only -Wall on ${project.top} is not clean:`, detail: tail(lintOut) });

    onProgress?.(`yosys synth_xilinx -family ${board.yosysFamily} (${project.top})`);
    const t0 = Date.now();
    const stat = join(work, 'stat.json');
    // -defer: the generic hw/ modules are elaborated only with the parameters their users give them.
    const script = `read_verilog -defer ${sources.join(' ')}; synth_xilinx -family ${board.yosysFamily} -noiopad -flatten -top ${project.top}; tee -q -o ${stat} stat -json`;
    const y = await execa(requireTool('yosys'), ['-q', '-p', script], { cwd: rtlDir, reject: false, all: true, timeout: 30 * 60_000 });
    if (y.exitCode !== 0 || !existsSync(stat)) throw new KilnError({ code: Code.ToolFailed, message: `yosys synth_xilinx -family ${board.yosysFamily} failed on ${project.top}:`, detail: tail(`${y.all ?? ''}`) });
    const s = JSON.parse(readFileSync(stat, 'utf8')) as { modules: Record<string, { num_cells_by_type?: Record<string, number> }>; design?: { num_cells_by_type?: Record<string, number> } };
    const cells = (s.design ?? Object.values(s.modules)[0]).num_cells_by_type ?? {};
    return {
      tcl: { calls: calls.length, commands },
      filesChecked,
      lint: { top: project.top, warnings: 0 },
      // xcup cells (LUT1-6, FD*, DSP48E2, RAMB18E2/36E2) count in the same units as 7-series
      yosys: { family: board.yosysFamily, top: project.top, cells, resources: cellsToResources(cells, 'xc7'), seconds: Math.round((Date.now() - t0) / 100) / 10 },
    };
  } finally {
    rmSync(join(work, '..'), { recursive: true, force: true });
  }
}
