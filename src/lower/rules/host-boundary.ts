// Rule host-boundary: everything before the first layer runs on the host. The input quantizer (its
// codes found by evaluating it at the extremes) with the per-tensor affine ops and clamps before it
// folded in; a float input with no quantizer gets a fixed-point one (option floatInput).
import { KilnError, type Diagnostic } from '../../diag/index.ts';
import { BIPOLAR, int, qtypeName, range } from '../../ir/datatype.ts';
import type { InputQuantizer } from '../../ir/dataflow.ts';
import { numel, makeTensor, toNumbers } from '../../ir/tensor.ts';
import type { Node } from '../../ir/graph.ts';
import { Chain } from '../chain.ts';
import { gridName, quantizeInput } from '../host.ts';
import { isQuant, LAYOUT, QUANTIZERS } from '../ops.ts';
import type { CodeModel, StreamlineOptions } from '../plan.ts';
import { codeModel, codeOf, codeQType, constOf, lastActivation, runNode, scalarOf } from '../support.ts';
import { cannotLower, type GraphView } from '../view.ts';
import { runtimeFirst, type LoweringRule } from './rule.ts';

export const hostBoundaryRule: LoweringRule = {
  name: 'host-boundary',
  doc: 'The ops before the first layer run on the host: the input quantizer, with scalar affine ops and clamps before it folded into it.',
  matches: 'Quant / IntQuant / BipolarQuant / Sign / QuantizeLinear [→ Clip] → DequantizeLinear on the input; scalar Add/Sub/Mul/Div, Relu, Clip, scalar Max/Min before it; no quantizer: a float input',
  emits: 'the host InputQuantizer (scale, zero point, code clip, element order); a float input: INT16 with 10 fractional bits unless floatInput says otherwise',
  tests: ['test/passes/lower-host-boundary.test.ts', 'test/passes/streamline-passes.test.ts'],
  ops: QUANTIZERS,
  operand: runtimeFirst('its run-time input must be the first'),
};

export interface HostInput { inputQuant: InputQuantizer; model: CodeModel; codes: number[]; /** Index of the input quantizer in the prefix, or −1. */ qi: number }

/** The host input quantizer for the nodes before the first layer; problems are collected, not thrown. */
export function lowerHostInput(v: GraphView, prefix: Node[], opts: StreamlineOptions, notes: string[], problems: Diagnostic[]): HostInput {
  const qi = lastActivation(prefix);
  if (qi < 0 && prefix.some((n) => QUANTIZERS.has(n.op))) problems.push(cannotLower(prefix.find((n) => QUANTIZERS.has(n.op))!, 'a quantizer must directly precede the first MAC', { rule: 'host-boundary', fix: 'put the input quantizer directly before the first layer (only layout ops between)' }));
  let inputQuant: InputQuantizer;
  let inModel: CodeModel;
  let inCodes: number[];
  {
    const before = qi >= 0 ? prefix.slice(0, prefixQuantStart(prefix, qi)) : prefix;
    const { p, q, lo: clampLo, hi: clampHi } = prefixAffine(v, before, problems);
    // The quantizer on the clamped value u (not on x): its scale and zero point.
    let valueQ = { scale: 1, zeroPoint: 0 };
    if (qi < 0) {
      const fi = opts.floatInput ?? { bits: 16, frac: 10 };
      const s = 2 ** -fi.frac;
      const t = int(fi.bits);
      inputQuant = { scale: [s / p], zeroPoint: [q / s], qtype: t, mode: 'round', chosenGrid: gridName(fi) };
      inModel = { s, z: 0 };
      valueQ = { scale: s, zeroPoint: 0 };
      const [lo, hi] = range(t);
      inCodes = [lo, hi];
      notes.push(`input '${v.input}' is float: quantized on the host to ${qtypeName(t)} with ${fi.frac} fractional bits (exact for inputs on that grid)`);
    } else {
      const qn = prefix[qi];
      const first = prefix[prefixQuantStart(prefix, qi)];
      if (qn.op === 'MultiThreshold') {
        throw new KilnError(cannotLower(qn, 'a MultiThreshold as the input quantizer (the host quantizer rounds on one grid; per-channel thresholds are not a grid)', { rule: 'host-boundary', fix: 'quantize the input with Quant / QuantizeLinear, or feed the codes FINN\'s first MultiThreshold produces' }));
      }
      inModel = codeModel(v, qn);
      // Codes the quantizer can produce: evaluate it at the extremes.
      const ch = new Chain(v, 1);
      for (const n of prefix.slice(prefixQuantStart(prefix, qi), qi + 1)) ch.push(n);
      const ext = ch.eval(Float32Array.from([-3e38, 3e38]), 2);
      const kLo = codeOf(ext[0], inModel, qn);
      const kHi = codeOf(ext[1], inModel, qn);
      inCodes = [kLo, kHi];
      const oneBitQuant = isQuant(first) && kLo === -1 && kHi === 1 && toNumbers(constOf(v, first.inputs[3], first))[0] === 1;
      if (oneBitQuant || first.op === 'BipolarQuant') {
        // BipolarQuant, and QONNX's 1-bit signed Quant, which is bipolar too (x/s + z ≥ 0 → +1).
        const qs = scalarOf(v, first.inputs[1], first, 1, 'the scale');
        const qz = isQuant(first) ? scalarOf(v, first.inputs[2], first, 0, 'the zero point') : 0;
        inputQuant = { scale: [qs / p], zeroPoint: [qz + q / qs], qtype: BIPOLAR, mode: 'bipolar' };
        inCodes = [-1, 1];
      } else if (isQuant(first) || first.op === 'QuantizeLinear') {
        const qs = scalarOf(v, first.inputs[1], first, 1, 'the scale');
        const qz = scalarOf(v, first.inputs[2], first, 0, 'the zero point');
        const t = codeQType(Array.from({ length: kHi - kLo + 1 }, (_, i) => kLo + i));
        const [tlo, thi] = range(t);
        inputQuant = { scale: [qs / p], zeroPoint: [qz + q / qs], qtype: t, mode: 'round', ...(tlo !== kLo || thi !== kHi ? { clip: [kLo, kHi] as [number, number] } : {}) };
        valueQ = { scale: qs, zeroPoint: qz };
        if (isQuant(first) && first.attrs.rounding_mode?.kind === 'string' && !['ROUND', 'HALF_EVEN'].includes(first.attrs.rounding_mode.v.toUpperCase())) {
          problems.push(cannotLower(first, `rounding_mode ${first.attrs.rounding_mode.v} on the input (host quantizer rounds half to even)`, { rule: 'host-boundary', fix: 'use rounding_mode ROUND or HALF_EVEN on the input quantizer' }));
        }
      } else {
        inputQuant = { scale: [1 / p], zeroPoint: [q], qtype: int(2), mode: 'sign', clip: [-1, 1] };
        inCodes = [-1, 1];
      }
      if (p !== 1 || q !== 0) notes.push(`input scaling folded into the host quantizer: x·${p} + ${q}`);
    }
    if (clampLo > -Infinity || clampHi < Infinity) {
      const clipped = clampCodes(inputQuant, valueQ, clampLo, clampHi, inCodes);
      if (clipped === undefined) problems.push(cannotLower(prefix[qi] ?? before[0], `a clamp to [${clampLo}, ${clampHi}] before a ${inputQuant.mode} input quantizer changes its codes (only a rounding quantizer takes a code clip)`, { rule: 'host-boundary', fix: 'use a rounding input quantizer (not bipolar or sign), or drop the clamp' }));
      else if (clipped[0] !== inCodes[0] || clipped[1] !== inCodes[inCodes.length - 1]) {
        inputQuant.clip = clipped;
        inCodes = clipped;
        notes.push(`clamp to [${clampLo}, ${clampHi}] before the input quantizer: host code clip [${clipped[0]}, ${clipped[1]}]`);
      } else notes.push(`clamp to [${clampLo}, ${clampHi}] before the input quantizer is redundant (the quantizer clips there): dropped`);
    }
  }
  return { inputQuant, model: inModel, codes: inCodes, qi };
}

/** Where the quantizer group ending at index qi starts (QuantizeLinear [→ Clip] → DequantizeLinear). */
export function prefixQuantStart(nodes: Node[], qi: number): number {
  if (nodes[qi].op !== 'DequantizeLinear') return qi;
  let i = qi - 1;
  while (i >= 0 && (nodes[i].op === 'Clip' || LAYOUT.has(nodes[i].op))) i--;
  return i >= 0 && nodes[i].op === 'QuantizeLinear' ? i : qi;
}

/**
 * The host boundary before the input quantizer: u = clamp(p·x + q, lo, hi) for the per-tensor affine ops
 * (Add/Sub/Mul/Div by a scalar) and clamps (Relu, Clip, scalar Max/Min) there. A quantizer is monotone,
 * so Q(clamp(u, lo, hi)) = clamp(Q(u), Q(lo), Q(hi)): the clamp becomes a code clip on the host (and
 * vanishes where the quantizer already clips there, as for a Relu before an unsigned Quant).
 */
export function prefixAffine(v: GraphView, nodes: Node[], problems: Diagnostic[]): { p: number; q: number; lo: number; hi: number } {
  let p = 1;
  let q = 0;
  let lo = -Infinity;
  let hi = Infinity;
  for (const n of nodes) {
    if (LAYOUT.has(n.op)) continue;
    const d = v.dynIndex.get(n)!;
    const clamp = scalarClamp(v, n);
    if (clamp) {
      const cl = (t: number) => Math.min(Math.max(t, clamp[0]), clamp[1]);
      [lo, hi] = [cl(lo), cl(hi)];
      continue;
    }
    const ok = ['Add', 'Sub', 'Mul', 'Div'].includes(n.op);
    const c = ok ? toNumbers(v.consts.get(n.inputs[1 - d]) ?? makeTensor('float32', [0])) : [];
    if (!ok || c.length !== 1 || ((n.op === 'Mul' || n.op === 'Div') && !(c[0] !== 0 && Number.isFinite(c[0])))) {
      problems.push(cannotLower(n, 'only per-tensor scalar Add/Sub/Mul/Div and clamps (Relu, Clip, scalar Max/Min) may precede the input quantizer', { rule: 'host-boundary', fix: 'move this op after the input quantizer' }));
      continue;
    }
    const k = c[0];
    // The clamp interval moves with the value: an affine map of a clamp is a clamp of the affine map.
    const map = (f: (t: number) => number) => {
      const [a, b] = [f(lo), f(hi)];
      [lo, hi] = a <= b ? [a, b] : [b, a];
    };
    if (n.op === 'Add') { q += k; map((t) => t + k); }
    else if (n.op === 'Sub') {
      if (d === 0) { q -= k; map((t) => t - k); }
      else { p = -p; q = k - q; map((t) => k - t); }
    }
    else if (n.op === 'Mul') { p *= k; q *= k; map((t) => t * k); }
    else { p /= k; q /= k; map((t) => t / k); }
  }
  return { p, q, lo, hi };
}

/**
 * The codes of a clamped input: [Q(lo), Q(hi)] within the quantizer's codes (Q monotone, so
 * Q(clamp(u)) = clamp(Q(u))). undefined for bipolar / sign quantizers when the clamp changes their codes.
 */
export function clampCodes(q: InputQuantizer, valueQ: { scale: number; zeroPoint: number }, lo: number, hi: number, codes: number[]): [number, number] | undefined {
  const on = { ...q, scale: [valueQ.scale], zeroPoint: [valueQ.zeroPoint], order: undefined };
  const [cLo, cHi] = quantizeInput(on, [lo, hi]);
  const [kLo, kHi] = [codes[0], codes[codes.length - 1]];
  if (q.mode === 'round') return [Math.max(kLo, cLo), Math.min(kHi, cHi)];
  return cLo <= kLo && cHi >= kHi ? [kLo, kHi] : undefined;
}

/** [lo, hi] when n (Relu, Clip, Max/Min with one scalar constant) is x ↦ clamp(x, lo, hi), by evaluation. */
export function scalarClamp(v: GraphView, n: Node): [number, number] | undefined {
  if (!['Relu', 'Clip', 'Max', 'Min'].includes(n.op)) return undefined;
  const d = v.dynIndex.get(n)!;
  const others = n.inputs.filter((x, i) => i !== d && x !== '');
  if (others.some((x) => !v.consts.has(x) || numel(v.consts.get(x)!.shape) !== 1)) return undefined;
  const probes = [-3e38, -1e6, -1, -0.5, 0, 0.5, 1, 1e6, 3e38];
  const run = (xs: number[]) => {
    const inputs = n.inputs.map((x, i) => (i === d ? makeTensor('float32', [xs.length], xs) : x === '' ? undefined : v.consts.get(x)));
    return Array.from(toNumbers(runNode(v.g, n, inputs)[0]));
  };
  const [a, b] = run([-3e38, 3e38]);
  const lo = a <= -3e38 ? -Infinity : a;
  const hi = b >= 3e38 ? Infinity : b;
  if (!(lo <= hi)) return undefined;
  const ys = run(probes);
  return probes.every((t, i) => ys[i] === Math.fround(Math.min(Math.max(t, lo), hi))) ? [lo, hi] : undefined;
}
