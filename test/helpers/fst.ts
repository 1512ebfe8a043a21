// Reads an FST file's hierarchy (scopes, variables with their widths) through test/helpers/fst-hier.c,
// built once per run from the FST reader Verilator ships (include/gtkwave/fstapi.c); no GTKWave needed.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findTool } from '../../src/tools/index.ts';

export interface FstHierarchy {
  scopes: string[];
  /** Variable path → bits. */
  vars: Map<string, number>;
  startTime: number;
  endTime: number;
}

let reader: string | undefined;

function fstReader(): string {
  if (reader) return reader;
  const verilator = findTool('verilator');
  if (!verilator) throw new Error('verilator is needed (its include/gtkwave has the FST reader)');
  const root = execFileSync(verilator, ['--getenv', 'VERILATOR_ROOT'], { encoding: 'utf8' }).trim();
  const g = join(root, 'include', 'gtkwave');
  const out = join(mkdtempSync(join(tmpdir(), 'kiln-fst-')), 'fst-hier');
  execFileSync('gcc', ['-O1', '-w', '-DFST_CONFIG_INCLUDE="fst_config.h"', `-I${g}`, '-o', out,
    fileURLToPath(new URL('fst-hier.c', import.meta.url)), join(g, 'fstapi.c'), join(g, 'lz4.c'), join(g, 'fastlz.c'), '-lz']);
  return (reader = out);
}

export function readFstHierarchy(file: string): FstHierarchy {
  const h: FstHierarchy = { scopes: [], vars: new Map(), startTime: NaN, endTime: NaN };
  for (const line of execFileSync(fstReader(), [file], { encoding: 'utf8' }).split('\n')) {
    const f = line.split(' ');
    if (f[0] === 'scope') h.scopes.push(f[1]);
    else if (f[0] === 'var') h.vars.set(f[1], Number(f.at(-1)));
    else if (f[0] === 'end') [h.startTime, h.endTime] = [Number(f[1]), Number(f[2])];
  }
  return h;
}
