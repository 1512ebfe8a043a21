// External tools (Verilator, Yosys, Icarus, …) are found in one place: `requireTool(name)` honours an
// environment override `KILN_<TOOL>` (e.g. KILN_VERILATOR=/opt/verilator/bin/verilator) and otherwise
// searches PATH; a missing tool is a user error (KLN3001) that says how to install it.
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { execa } from 'execa';
import { fail } from '../diag/index.ts';

interface ToolInfo {
  /** Executable name looked up in PATH. */
  command: string;
  /** Debian package that provides it. */
  aptPackage: string;
}

const tools = {
  verilator: { command: 'verilator', aptPackage: 'verilator' },
  iverilog: { command: 'iverilog', aptPackage: 'iverilog' },
  vvp: { command: 'vvp', aptPackage: 'iverilog' },
  yosys: { command: 'yosys', aptPackage: 'yosys' },
  'nextpnr-ice40': { command: 'nextpnr-ice40', aptPackage: 'nextpnr-ice40' },
  icepack: { command: 'icepack', aptPackage: 'fpga-icestorm' },
  ccache: { command: 'ccache', aptPackage: 'ccache' },
  tclsh: { command: 'tclsh', aptPackage: 'tcl' },
} satisfies Record<string, ToolInfo>;

export type ToolName = keyof typeof tools;

/** `KILN_VERILATOR`, `KILN_NEXTPNR_ICE40`, … */
export function toolEnvVar(name: ToolName): string {
  return `KILN_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function searchPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, command);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

/** The absolute path of an external tool, or KLN3001 with an install hint. */
export function requireTool(name: ToolName): string {
  const info: ToolInfo = tools[name];
  const envVar = toolEnvVar(name);
  const override = process.env[envVar];
  if (override !== undefined && override !== '') {
    if (!isExecutableFile(override)) {
      fail('ToolMissing', `${name} not found at ${override} (set by ${envVar}); install it with: apt-get install ${info.aptPackage}`);
    }
    return override;
  }
  return searchPath(info.command) ??
    fail('ToolMissing', `${name} not found in PATH; install it with: apt-get install ${info.aptPackage} (or set ${envVar} to its path)`);
}

/** Like requireTool but undefined when the tool is absent (for optional helpers such as ccache). */
export function findTool(name: ToolName): string | undefined {
  try {
    return requireTool(name);
  } catch {
    return undefined;
  }
}

const versionCache = new Map<string, string>();

/** The tool's `--version` first line (cached per path); part of build cache keys. */
export async function toolVersion(path: string): Promise<string> {
  let v = versionCache.get(path);
  if (v === undefined) {
    const r = await execa(path, ['--version'], { reject: false });
    v = `${r.stdout ?? ''}`.split('\n')[0].trim();
    versionCache.set(path, v);
  }
  return v;
}
