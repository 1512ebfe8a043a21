// The build manifest `kiln compile` writes next to the RTL (manifest.json; codegen writes it): its
// type, and reading it, checked because a user may point `kiln sim` at any directory.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fail } from '../diag/index.ts';
import type { DataflowGraph } from '../ir/dataflow.ts';
import { readJsonFile } from '../io/json.ts';

/** One end of the design's stream interface. */
export interface PortInfo {
  elemBits: number;
  fold: number;
  beatsPerInference: number;
  signed: boolean;
  qtype: string;
}

export interface Manifest {
  top: 'kiln_top';
  files: string[];
  inW: number;
  outW: number;
  input: PortInfo;
  output: PortInfo;
  streams: string[];
  inputQuant: unknown[];
  outputAffine: DataflowGraph['outputAffine'];
  estimate: { cyclesPerInference: number; firstOutputLatency: number };
  model: string;
  kilnVersion: string;
  /** How the design was built: readmemh paths are relative to the output directory. */
  weightsRelativeTo: 'outputDir';
}

export type { PortInfo as StreamPort };

/** Reads and checks `<dir>/manifest.json` (KLN1001 when absent, KLN1011 when malformed). */
export function readManifest(dir: string): Manifest {
  const path = join(dir, 'manifest.json');
  if (!existsSync(path)) fail('FileNotFound', `${path} does not exist (is ${dir} a directory written by 'kiln compile'?)`);
  const m = readJsonFile(path, 'manifest', 'recompile the design with kiln compile') as Manifest;
  const bad = (what: string): never => fail('BadInputFile', `${path}: ${what}`);
  if (typeof m !== 'object' || m === null) bad('expected a JSON object');
  if (!Array.isArray(m.files) || m.files.length === 0) bad('files must be a non-empty list of RTL files');
  for (const key of ['inW', 'outW'] as const) {
    if (!Number.isInteger(m[key]) || m[key] < 1) bad(`${key} must be a positive integer, not ${JSON.stringify(m[key])}`);
  }
  for (const key of ['input', 'output'] as const) {
    const p = m[key];
    if (typeof p !== 'object' || p === null) bad(`${key} must be an object`);
    for (const f of ['elemBits', 'fold', 'beatsPerInference'] as const) {
      if (!Number.isInteger(p[f]) || p[f] < 1) bad(`${key}.${f} must be a positive integer, not ${JSON.stringify(p[f])}`);
    }
  }
  if (m.input.elemBits * m.input.fold !== m.inW) bad(`inW (${m.inW}) must equal input.elemBits·input.fold`);
  if (m.output.elemBits * m.output.fold !== m.outW) bad(`outW (${m.outW}) must equal output.elemBits·output.fold`);
  if (!Array.isArray(m.streams)) bad('streams must be a list of stream names');
  if (typeof m.estimate !== 'object' || m.estimate === null) bad('estimate must be an object');
  return m;
}
