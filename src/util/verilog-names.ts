// The Verilog names of a generated design that tools outside codegen must find again: the trace
// build's wrapper (src/sim/debug.ts) reaches into kiln_top's stream wires by these names.
import { createHash } from 'node:crypto';

/** A deterministic Verilog identifier for a name. */
export function verilogIdentifier(name: string): string {
  const s = name.replace(/[^A-Za-z0-9_]/g, '_');
  const id = /^[A-Za-z_]/.test(s) ? s : `n_${s}`;
  // Identifiers also name files (rtl/<module>_<id>.v, weights/<id>_*.mem): a model's node name can
  // be any length, a file name not (255 bytes). A long one keeps its start and a hash of the whole.
  if (id.length <= MAX_ID) return id;
  return `${id.slice(0, MAX_ID - 9)}_${createHash('sha256').update(name).digest('hex').slice(0, 8)}`;
}

/** Longest identifier kept as is (leaves room for module prefixes and suffixes in file names). */
const MAX_ID = 64;

/** kiln_top's wire prefix of stream `index` (manifest.json "streams" order): `<id>_tdata`, `_tvalid`, `_tready`. */
export function streamWireId(index: number, name: string): string {
  return `s${index}_${verilogIdentifier(name)}`;
}
