// A FuseSoC core (CAPI2) for the generated IP, so the design can be pulled into a FuseSoC/Edalize flow:
// name kiln:user:<top>:<version>, filesets for the RTL, the $readmemh data (copied next to the
// simulator/synthesis working directory, where the RTL looks for it) and any wrapper, targets
// `default`, `sim` (Verilator lint; kiln sim is the simulator with a testbench) and `synth` (Vivado,
// for the board's part). Written by `kiln bitstream` into each AMD project folder.

export interface CoreSpec {
  top: string;
  version: string;
  description: string;
  /** RTL files, relative to the .core file, in compile order. */
  rtl: string[];
  /** $readmemh files (relative paths), copied to their base name in the work root. */
  mems: string[];
  /** Extra RTL for synth only (e.g. the DMA adapter), relative paths. */
  wrapper: string[];
  part: string;
}

function list(items: string[], indent: string): string {
  return items.map((s) => `${indent}- ${s}\n`).join('');
}

export function fusesocCore(c: CoreSpec): string {
  const mem = c.mems.length ? ['mem'] : [];
  const wrap = c.wrapper.length ? ['wrapper'] : [];
  const filesets = (extra: string[]) => `[${['rtl', ...mem, ...extra].join(', ')}]`;
  let s = 'CAPI=2:\n';
  s += `name: kiln:user:${c.top}:${c.version}\n`;
  s += `description: ${JSON.stringify(c.description)}\n\n`;
  s += 'filesets:\n';
  s += '  rtl:\n    files:\n' + list(c.rtl, '      ') + '    file_type: verilogSource\n';
  if (c.mems.length) {
    s += '  mem:\n    files:\n' + list(c.mems.map((m) => `${m}: {copyto: ${m.split('/').pop()}}`), '      ') + '    file_type: user\n';
  }
  if (c.wrapper.length) s += '  wrapper:\n    files:\n' + list(c.wrapper, '      ') + '    file_type: verilogSource\n';
  s += '\ntargets:\n';
  s += `  default:\n    filesets: ${filesets([])}\n    toplevel: ${c.top}\n`;
  s += `  sim:\n    default_tool: verilator\n    filesets: ${filesets([])}\n    toplevel: ${c.top}\n`;
  s += '    tools:\n      verilator:\n        mode: lint-only\n        verilator_options: [-Wall]\n';
  s += `  synth:\n    default_tool: vivado\n    filesets: ${filesets(wrap)}\n    toplevel: ${c.top}\n`;
  s += `    tools:\n      vivado:\n        part: ${c.part}\n`;
  return s;
}

/** The files a core lists (`- path` or `- path: {…}` under a fileset's `files:`), for checks. */
export function coreFiles(text: string): string[] {
  const files: string[] = [];
  let inFiles = false;
  for (const line of text.split('\n')) {
    if (/^ {4}files:\s*$/.test(line)) { inFiles = true; continue; }
    const m = /^ {6}- ([^:\s]+)/.exec(line);
    if (inFiles && m) files.push(m[1]);
    else inFiles = false;
  }
  return files;
}
