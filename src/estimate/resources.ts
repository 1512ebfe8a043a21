// Per-layer and network resource estimates for AMD 7-series (LUT, FF, DSP48, BRAM18) and Lattice
// iCE40 (LC, SB_MAC16, EBR), from each layer kind's cost form (its LayerSpec.cost, in src/layers/cost/).
//   LUT / FF / LC = Σ coefficient · feature + the LUTs of memories not in block RAM, where the
//   coefficients are the least-squares fit of the calibration sweep (layers/cost/coefficients.json,
//   written by `make calibrate --fit`; docs/calibration.md shows the error) and default to 1 (first principles).
//   DSP / MAC16 / BRAM18 / EBR are counted from the multiplier and memory inventory.
import type { Layer } from '../ir/dataflow.ts';
import { layerKind } from '../layers/index.ts';
import type { AnyAttrs, ParamValue } from '../layers/define.ts';
import type { Family, Resources } from './units.ts';
import coefficientsJson from '../layers/cost/coefficients.json' with { type: 'json' };
import { bram18, ebr, memFf4, memLut4, memLut6 } from '../layers/cost/memory.ts';
import type { CostTerms, Params } from '../layers/cost/terms.ts';

/** kind → family → resource → feature → coefficient. */
export type Coefficients = Record<string, Record<string, Record<string, Record<string, number>>>>;
const coefficients = coefficientsJson as Coefficients;

/** The RTL parameters codegen would give this layer (numbers only; ROM files are not written). */
function rtlParams(kind: ReturnType<typeof layerKind>, attrs: AnyAttrs, consts: Record<string, number[]>): Params {
  const raw: Record<string, ParamValue> = kind.spec.rtl.params(attrs, consts, { memFile: () => 'unused.mem' });
  return Object.fromEntries(Object.entries(raw).filter(([, v]) => typeof v === 'number')) as Params;
}

/** The cost terms of one (folded) layer: its kind's cost form at the parameters codegen would give it. */
export function costTerms(layer: Pick<Layer, 'name' | 'kind' | 'attrs' | 'consts'>): CostTerms {
  const kind = layerKind(layer.kind, layer.name);
  const a = kind.parse(layer);
  return kind.spec.cost(a, layer.consts, rtlParams(kind, a, layer.consts));
}

function linear(kind: string, family: string, resource: string, features: Record<string, number>): number {
  const c = coefficients[kind]?.[family]?.[resource] ?? {};
  let sum = c.intercept ?? 0;
  for (const [name, x] of Object.entries(features)) sum += (c[name] ?? 1) * x;
  return sum;
}

/** Estimated resources of one layer for a family (`t`: the layer's costTerms, when already computed for the other family). */
export function layerResources(layer: Pick<Layer, 'name' | 'kind' | 'attrs' | 'consts'>, family: Family, t: CostTerms = costTerms(layer)): Resources {
  if (family === 'xc7') {
    return {
      lut: Math.max(0, Math.round(linear(layer.kind, 'xc7', 'lut', t.lut) + t.memories.reduce((s, m) => s + memLut6(m), 0))),
      ff: Math.max(0, Math.round(linear(layer.kind, 'xc7', 'ff', t.ff))),
      dsp: t.dsp,
      bram18: t.memories.reduce((s, m) => s + bram18(m), 0),
    };
  }
  // iCE40: LUT4s from the same features (fitted separately), FFs likewise; an LC holds one of each.
  const mems = t.ice40Memories ?? t.memories;
  const lut4 = linear(layer.kind, 'ice40', 'lut4', { ...t.lut, ...t.ice40Lut }) + mems.reduce((s, m) => s + memLut4(m), 0);
  const ff = linear(layer.kind, 'ice40', 'ff', { ...t.ff, ...t.ice40Ff }) + mems.reduce((s, m) => s + memFf4(m), 0);
  return { lc: Math.max(0, Math.round(Math.max(lut4, ff))), mac16: t.mac16, ebr: mems.reduce((s, m) => s + ebr(m), 0) };
}

/** Sum of per-layer resources. */
export function totalResources(perLayer: Resources[]): Resources {
  const total: Resources = {};
  for (const r of perLayer) for (const [k, v] of Object.entries(r)) total[k] = (total[k] ?? 0) + v;
  return total;
}
