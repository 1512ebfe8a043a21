// The forms of a layer (LayerSpec.forms: several implementations of one function, e.g. Threshold's
// impl 'parallel' | 'search'): the folding JSON's choice, else the one the layer's attrs name (a
// lowering rule or a test), else the cheapest by the cost forms at the layer's folding
// (LUTs, flip-flops, DSPs and block RAM weighed as below). Each choice
// and its reason go into Layer.why (report.json, `kiln estimate`).
import { KilnError } from '../diag/index.ts';
import type { Layer } from '../ir/dataflow.ts';
import { layerKind } from '../layers/index.ts';
import { layerResources } from '../estimate/resources.ts';

/**
 * What a BRAM18 and a flip-flop weigh against LUTs when comparing forms: a BRAM18 the 288 LUT6s that
 * hold its 18 Kbit as 64-bit ROMs (a form does not win by moving a table into block RAM that LUTs
 * would hold as cheaply), a flip-flop half a LUT (a 7-series slice has 4 LUT6s and 8 flip-flops).
 */
export const BRAM18_AS_LUTS = 288;
export const FF_AS_LUTS = 0.5;
/**
 * A DSP48 as the LUTs Yosys makes of a multiplier it would hold when DSPs run out (an 18 × 18 product
 * in LUTs is ~150 LUT6s, part of it carry logic): a form only moves work into DSPs when that saves more.
 */
export const DSP_AS_LUTS = 150;

const commas = (n: number) => String(n).replace(/\B(?=(\d{3})+$)/g, ',');

/** `l` with each of its kind's form attributes chosen (`forced`: the folding JSON's values) and why. */
export function chooseForms(l: Layer, forced: Record<string, unknown> = {}): Layer {
  const spec = layerKind(l.kind, l.name).spec;
  const forms = spec.forms;
  if (!forms) return l;
  let out = l;
  for (const [attr, values] of Object.entries(forms)) {
    let value: string;
    let why: string;
    if (typeof forced[attr] === 'string') {
      value = forced[attr] as string;
      why = 'set in the folding JSON';
    } else if (typeof l.attrs[attr] === 'string') {
      value = l.attrs[attr] as string;
      why = l.why?.[attr] ?? 'set by the lowering';
    } else {
      const costs: { value: string; lut: number; ff: number; dsp: number; bram18: number; cost: number }[] = [];
      for (const v of values.filter((x) => !spec.formsNamedOnly?.[attr]?.includes(x))) {
        try {
          const r = layerResources({ ...out, attrs: { ...out.attrs, [attr]: v } }, 'xc7');
          const [lut, ff, dsp, bram18] = [r.lut ?? 0, r.ff ?? 0, r.dsp ?? 0, r.bram18 ?? 0];
          costs.push({ value: v, lut, ff, dsp, bram18, cost: lut + FF_AS_LUTS * ff + DSP_AS_LUTS * dsp + BRAM18_AS_LUTS * bram18 });
        } catch (e) {
          if (!(e instanceof KilnError)) throw e; // a form this layer cannot take (e.g. its folding)
        }
      }
      if (costs.length === 0) continue; // no form fits: parsing the layer reports why
      const best = costs.reduce((b, c) => (c.cost < b.cost ? c : b));
      value = best.value;
      const list = costs.map((c) => `${c.value} ${commas(c.lut)} LUT, ${commas(c.ff)} FF, ${c.dsp ? `${c.dsp} DSP, ` : ''}${c.bram18} BRAM18`).join('; ');
      why = costs.length > 1 ? `cheapest xc7 estimate (LUT + ${FF_AS_LUTS}·FF + ${DSP_AS_LUTS}·DSP + ${BRAM18_AS_LUTS}·BRAM18): ${list}` : `the only form this folding allows (${list})`;
    }
    out = { ...out, attrs: { ...out.attrs, [attr]: value }, why: { ...out.why, [attr]: why } };
  }
  return out;
}
