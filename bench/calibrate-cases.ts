// The calibration sweep: single-layer designs per layer kind over bit widths, PE, SIMD and sizes,
// each small enough that Yosys maps it in seconds. Deterministic (seeded), so the synth cache hits.
import { parseQType, range, smallestIntFor } from '../src/ir/datatype.ts';
import type { DataflowGraph, Layer } from '../src/ir/dataflow.ts';
import { mvuOutType } from '../src/layers/mvu.ts';

export interface CalCase {
  label: string;
  layer: Layer;
  df: DataflowGraph;
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}
const randInt = (r: () => number, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
const divisors = (n: number) => Array.from({ length: n }, (_, i) => i + 1).filter((d) => n % d === 0);

function values(type: string, n: number, r: () => number): number[] {
  const t = parseQType(type);
  const [lo, hi] = range(t);
  return Array.from({ length: n }, () => (t.kind === 'BIPOLAR' ? (r() < 0.5 ? -1 : 1) : randInt(r, lo, hi)));
}

function single(label: string, kind: string, attrs: Record<string, unknown>, consts: Record<string, number[]>, inType: string, inElems: number, outType: string, outElems: number): CalCase {
  const layer: Layer = { name: 'dut', kind, attrs, consts, inputs: ['x'], outputs: ['y'], origin: [label] };
  const df: DataflowGraph = {
    name: `cal_${kind}`,
    source: `${label}.onnx`,
    streams: new Map([
      ['x', { name: 'x', qtype: parseQType(inType), shape: [inElems] }],
      ['y', { name: 'y', qtype: parseQType(outType), shape: [outElems] }],
    ]),
    layers: [layer],
    inputs: ['x'],
    outputs: ['y'],
    inputQuant: [],
    outputAffine: [],
  };
  return { label, layer, df };
}

const intTypes = ['BIPOLAR', 'TERNARY', 'INT2', 'UINT2', 'INT4', 'UINT4', 'INT6', 'INT8'];

function mvuCases(n: number): CalCase[] {
  const r = lcg(1);
  const out: CalCase[] = [];
  for (let i = 0; i < n; i++) {
    const rows = pick(r, [4, 8, 12, 16, 32]);
    const cols = pick(r, [8, 16, 24, 32, 64]);
    const inType = pick(r, intTypes.filter((t) => t !== 'TERNARY'));
    const weightType = inType === 'BIPOLAR' && r() < 0.5 ? 'BIPOLAR' : pick(r, intTypes);
    const pe = pick(r, divisors(rows).filter((d) => d <= 8));
    const simd = pick(r, divisors(cols).filter((d) => d <= 16));
    const weights = values(weightType, rows * cols, r);
    const outType = mvuOutType(rows, cols, parseQType(inType), weights);
    const ot = `${outType.kind === 'INT' && !outType.signed ? 'UINT' : 'INT'}${(outType as { bits: number }).bits}`;
    out.push(single(`mvu_${rows}x${cols}_${inType}x${weightType}_pe${pe}_simd${simd}`, 'MVU', { rows, cols, pe, simd, inType, weightType, outType: ot }, { weights }, inType, cols, ot, rows));
  }
  return out;
}

function thresholdCases(n: number): CalCase[] {
  const r = lcg(2);
  const out: CalCase[] = [];
  for (let i = 0; i < n; i++) {
    const channels = pick(r, [1, 4, 8, 16, 32]);
    const elems = channels * pick(r, [1, 2, 4]);
    const inType = pick(r, ['INT6', 'INT8', 'INT12', 'INT16', 'UINT8']);
    const outType = pick(r, ['BIPOLAR', 'UINT1', 'UINT2', 'INT2', 'UINT3', 'UINT4']);
    const steps = outType === 'BIPOLAR' || outType === 'UINT1' ? 1 : 2 ** parseInt(outType.replace(/\D/g, '')) - 1;
    const pe = pick(r, divisors(channels === 1 ? elems : channels).filter((d) => d <= 16));
    const [lo, hi] = range(parseQType(inType));
    const thresholds: number[] = [];
    for (let c = 0; c < channels; c++) thresholds.push(...Array.from({ length: steps }, () => randInt(r, lo, hi)).sort((a, b) => a - b));
    const outBias = outType === 'BIPOLAR' ? -1 : outType.startsWith('INT') ? -(2 ** (parseInt(outType.slice(3)) - 1)) : 0;
    const outScale = outType === 'BIPOLAR' ? 2 : 1;
    out.push(single(`thr_${elems}c${channels}_${inType}to${outType}_pe${pe}`, 'Threshold', { elems, channels, steps, pe, inType, outType, outBias, outScale }, { thresholds }, inType, elems, outType, elems));
  }
  return out;
}

function requantCases(n: number): CalCase[] {
  const r = lcg(3);
  const out: CalCase[] = [];
  for (let i = 0; i < n; i++) {
    const channels = pick(r, [1, 4, 8, 16]);
    const elems = channels * pick(r, [1, 2, 4]);
    const inType = pick(r, ['INT8', 'INT12', 'INT16', 'INT20']);
    const outType = pick(r, ['INT4', 'UINT4', 'INT8', 'UINT8']);
    const mbits = pick(r, [4, 8, 12, 16]);
    const mul = Array.from({ length: channels }, () => randInt(r, 1, 2 ** mbits - 1));
    const bias = Array.from({ length: channels }, () => randInt(r, -1000, 1000));
    const pe = pick(r, divisors(channels === 1 ? elems : channels).filter((d) => d <= 8));
    out.push(single(`rq_${elems}c${channels}_${inType}to${outType}_m${mbits}_pe${pe}`, 'Requant', { elems, channels, pe, shift: randInt(r, 4, 16), inType, outType }, { mul, bias }, inType, elems, outType, elems));
  }
  return out;
}

function labelSelectCases(n: number): CalCase[] {
  const r = lcg(4);
  const out: CalCase[] = [];
  for (let i = 0; i < n; i++) {
    const nIn = pick(r, [4, 8, 10, 16, 32, 64]);
    const k = pick(r, [1, 1, 2, 3]);
    const pe = pick(r, divisors(nIn).filter((d) => d <= 8));
    const inType = pick(r, ['INT4', 'INT8', 'INT12', 'UINT8', 'INT16']);
    const t = smallestIntFor(0, nIn - 1);
    const outType = `UINT${(t as { bits: number }).bits}`;
    out.push(single(`ls_${nIn}_k${k}_${inType}_pe${pe}`, 'LabelSelect', { n: nIn, k, pe, inType, outType }, {}, inType, nIn, outType, k));
  }
  return out;
}

function fifoCases(n: number): CalCase[] {
  const r = lcg(5);
  const out: CalCase[] = [];
  for (let i = 0; i < n; i++) {
    const pe = pick(r, [1, 2, 4, 8]);
    const elems = pe * pick(r, [4, 16, 64]);
    const depth = pick(r, [2, 4, 8, 16, 32, 64, 128, 256, 512]);
    const qtype = pick(r, ['INT2', 'INT4', 'INT8', 'UINT8', 'INT16']);
    out.push(single(`fifo_${pe}x${qtype}_d${depth}`, 'Fifo', { elems, pe, depth, qtype }, {}, qtype, elems, qtype, elems));
  }
  return out;
}

function slidingWindowCases(n: number): CalCase[] {
  const r = lcg(6);
  const out: CalCase[] = [];
  for (let i = 0; i < n; i++) {
    const k = pick(r, [1, 2, 3, 5]);
    const s = pick(r, [1, 1, 2]);
    const ih = pick(r, [6, 8, 12, 16]);
    const channels = pick(r, [1, 2, 4, 8, 16]);
    const pe = pick(r, divisors(channels).filter((d) => d <= 8));
    const qtype = pick(r, ['INT2', 'INT4', 'UINT8', 'INT8']);
    const oh = Math.floor((ih - k) / s) + 1;
    out.push(single(`swg_${ih}x${ih}x${channels}_k${k}s${s}_${qtype}_pe${pe}`, 'SlidingWindow', { ih, iw: ih, channels, kh: k, kw: k, sh: s, sw: s, pe, qtype }, {}, qtype, ih * ih * channels, qtype, oh * oh * k * k * channels));
  }
  return out;
}

/** Per kind, the sweep (30 configurations each, the minimum). */
export function calibrationCases(perKind = 30): CalCase[] {
  return [
    ...mvuCases(perKind), ...thresholdCases(perKind), ...requantCases(perKind),
    ...labelSelectCases(perKind), ...fifoCases(perKind), ...slidingWindowCases(perKind),
  ];
}
