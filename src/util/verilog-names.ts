// The Verilog names of a generated design that tools outside codegen must find again: the trace
// build's wrapper (src/sim/debug.ts) reaches into kiln_top's stream wires by these names.

/** A deterministic Verilog identifier for a name. */
export function verilogIdentifier(name: string): string {
  const s = name.replace(/[^A-Za-z0-9_]/g, '_');
  return /^[A-Za-z_]/.test(s) ? s : `n_${s}`;
}

/** kiln_top's wire prefix of stream `index` (manifest.json "streams" order): `<id>_tdata`, `_tvalid`, `_tready`. */
export function streamWireId(index: number, name: string): string {
  return `s${index}_${verilogIdentifier(name)}`;
}
