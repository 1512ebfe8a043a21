// The calibration sweep: single-layer designs per layer kind over bit widths, PE, SIMD and sizes,
// each small enough that Yosys maps it in seconds. Deterministic (seeded), so the synth cache hits.
import { parseQType, qtypeName, range, smallestIntFor } from '../src/ir/datatype.ts';
import type { DataflowGraph, Layer } from '../src/ir/dataflow.ts';
import { mvuAccRange, mvuOutType } from '../src/layers/mvu.ts';

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

type StreamSpec = [name: string, qtype: string, elems: number];
interface LayerSpec { name: string; kind: string; attrs: Record<string, unknown>; consts: Record<string, number[]>; inputs: string[]; outputs: string[] }

/**
 * A design of `layers` (the measured one named `dut`) from stream x to stream y. Designs take one input
 * and one output stream, so Duplicate, AddStreams and Concat are measured in a Duplicate → join pair.
 */
function chain(label: string, streams: StreamSpec[], layers: LayerSpec[]): CalCase {
  const ls: Layer[] = layers.map((l) => ({ ...l, origin: [label] }));
  const df: DataflowGraph = {
    name: `cal_${ls.find((l) => l.name === 'dut')!.kind}`,
    source: `${label}.onnx`,
    streams: new Map(streams.map(([name, type, elems]) => [name, { name, qtype: parseQType(type), shape: [elems] }])),
    layers: ls,
    inputs: ['x'],
    outputs: ['y'],
    inputQuant: [],
    outputAffine: [],
  };
  return { label, layer: ls.find((l) => l.name === 'dut')!, df };
}

function single(label: string, kind: string, attrs: Record<string, unknown>, consts: Record<string, number[]>, inType: string, inElems: number, outType: string, outElems: number): CalCase {
  return chain(label, [['x', inType, inElems], ['y', outType, outElems]], [{ name: 'dut', kind, attrs, consts, inputs: ['x'], outputs: ['y'] }]);
}

/** x → Duplicate → (a, b) → join → y, the measured layer (`dut`) being the Duplicate or the join. */
function fork(label: string, measured: 'Duplicate' | 'join', qtype: string, elems: number, pe: number, join: Omit<LayerSpec, 'name' | 'inputs' | 'outputs'>, outType: string, outElems: number): CalCase {
  return chain(label, [['x', qtype, elems], ['a', qtype, elems], ['b', qtype, elems], ['y', outType, outElems]], [
    { name: measured === 'Duplicate' ? 'dut' : 'fork', kind: 'Duplicate', attrs: { elems, pe, qtype }, consts: {}, inputs: ['x'], outputs: ['a', 'b'] },
    { name: measured === 'join' ? 'dut' : 'join', ...join, inputs: ['a', 'b'], outputs: ['y'] },
  ]);
}

/** Adds a case unless the same configuration was drawn already. */
function addCase(out: CalCase[], c: CalCase): void {
  if (!out.some((o) => o.label === c.label)) out.push(c);
}

const intTypes = ['BIPOLAR', 'TERNARY', 'INT2', 'UINT2', 'INT4', 'UINT4', 'INT6', 'INT8'];

function mvuCases(n: number): CalCase[] {
  const r = lcg(1);
  const out: CalCase[] = [];
  for (let i = 0; out.length < n && i < 100 * n; i++) {
    const rows = pick(r, [4, 8, 12, 16, 32]);
    const cols = pick(r, [8, 16, 24, 32, 64]);
    const inType = pick(r, intTypes.filter((t) => t !== 'TERNARY'));
    const weightType = inType === 'BIPOLAR' && r() < 0.5 ? 'BIPOLAR' : pick(r, intTypes);
    const pe = pick(r, divisors(rows).filter((d) => d <= 8));
    const simd = pick(r, divisors(cols).filter((d) => d <= 16));
    const weights = values(weightType, rows * cols, r);
    const outType = mvuOutType(rows, cols, parseQType(inType), weights);
    const ot = `${outType.kind === 'INT' && !outType.signed ? 'UINT' : 'INT'}${(outType as { bits: number }).bits}`;
    addCase(out, single(`mvu_${rows}x${cols}_${inType}x${weightType}_pe${pe}_simd${simd}`, 'MVU', { rows, cols, pe, simd, inType, weightType, outType: ot }, { weights }, inType, cols, ot, rows));
  }
  return out;
}

function thresholdCases(n: number): CalCase[] {
  const r = lcg(2);
  const out: CalCase[] = [];
  for (let i = 0; out.length < n && i < 100 * n; i++) {
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
    addCase(out, single(`thr_${elems}c${channels}_${inType}to${outType}_pe${pe}`, 'Threshold', { elems, channels, steps, pe, inType, outType, outBias, outScale }, { thresholds }, inType, elems, outType, elems));
  }
  return out;
}

/**
 * The Threshold's search form (impl 'search'), a kind of its own in the fit's features: per-channel
 * and per-tensor, 1..255 steps, tables in logic and (with many channel groups × 2^k) block RAM.
 */
function thresholdSearchCases(n: number): CalCase[] {
  const r = lcg(16);
  const out: CalCase[] = [];
  for (let i = 0; out.length < n && i < 100 * n; i++) {
    const channels = pick(r, [1, 4, 8, 16, 32, 64]);
    const elems = channels * pick(r, [1, 2]);
    const inType = pick(r, ['INT6', 'INT8', 'INT12', 'INT16', 'UINT8', 'INT20']);
    const outType = pick(r, ['UINT1', 'UINT2', 'INT3', 'UINT4', 'UINT6', 'UINT8', 'INT8']);
    const steps = outType === 'UINT1' ? 1 : 2 ** parseInt(outType.replace(/\D/g, '')) - 1;
    // Keep each case to a minute of Yosys: at most ~2k thresholds per lane.
    const pe = pick(r, divisors(channels === 1 ? elems : channels).filter((d) => d <= 8 && (channels > 1 ? channels / d : 1) * steps <= 2048));
    if (pe === undefined) continue;
    const [lo, hi] = range(parseQType(inType));
    const thresholds: number[] = [];
    for (let c = 0; c < channels; c++) thresholds.push(...Array.from({ length: steps }, () => randInt(r, lo, hi)).sort((a, b) => a - b));
    const outBias = outType.startsWith('INT') ? -(2 ** (parseInt(outType.slice(3)) - 1)) : 0;
    addCase(out, single(`thrs_${elems}c${channels}_${inType}to${outType}_pe${pe}`, 'Threshold', { elems, channels, steps, pe, inType, outType, outBias, outScale: 1, impl: 'search' }, { thresholds }, inType, elems, outType, elems));
  }
  return out;
}

function requantCases(n: number): CalCase[] {
  const r = lcg(3);
  const out: CalCase[] = [];
  for (let i = 0; out.length < n && i < 100 * n; i++) {
    const channels = pick(r, [1, 4, 8, 16]);
    const elems = channels * pick(r, [1, 2, 4]);
    const inType = pick(r, ['INT8', 'INT12', 'INT16', 'INT20']);
    const outType = pick(r, ['INT4', 'UINT4', 'INT8', 'UINT8']);
    const mbits = pick(r, [4, 8, 12, 16]);
    const mul = Array.from({ length: channels }, () => randInt(r, 1, 2 ** mbits - 1));
    const bias = Array.from({ length: channels }, () => randInt(r, -1000, 1000));
    const pe = pick(r, divisors(channels === 1 ? elems : channels).filter((d) => d <= 8));
    addCase(out, single(`rq_${elems}c${channels}_${inType}to${outType}_m${mbits}_pe${pe}`, 'Requant', { elems, channels, pe, shift: randInt(r, 4, 16), inType, outType }, { mul, bias }, inType, elems, outType, elems));
  }
  return out;
}

function labelSelectCases(n: number): CalCase[] {
  const r = lcg(4);
  const out: CalCase[] = [];
  for (let i = 0; out.length < n && i < 100 * n; i++) {
    const nIn = pick(r, [4, 8, 10, 16, 32, 64]);
    const k = pick(r, [1, 1, 2, 3]);
    const pe = pick(r, divisors(nIn).filter((d) => d <= 8));
    const inType = pick(r, ['INT4', 'INT8', 'INT12', 'UINT8', 'INT16']);
    const t = smallestIntFor(0, nIn - 1);
    const outType = `UINT${(t as { bits: number }).bits}`;
    addCase(out, single(`ls_${nIn}_k${k}_${inType}_pe${pe}`, 'LabelSelect', { n: nIn, k, pe, inType, outType }, {}, inType, nIn, outType, k));
  }
  return out;
}

function fifoCases(n: number): CalCase[] {
  const r = lcg(5);
  const out: CalCase[] = [];
  for (let i = 0; out.length < n && i < 100 * n; i++) {
    const pe = pick(r, [1, 2, 4, 8]);
    const elems = pe * pick(r, [4, 16, 64]);
    const depth = pick(r, [2, 4, 8, 16, 32, 64, 128, 256, 512]);
    const qtype = pick(r, ['INT2', 'INT4', 'INT8', 'UINT8', 'INT16']);
    addCase(out, single(`fifo_${pe}x${qtype}_d${depth}`, 'Fifo', { elems, pe, depth, qtype }, {}, qtype, elems, qtype, elems));
  }
  return out;
}

function slidingWindowCases(n: number): CalCase[] {
  const r = lcg(6);
  const out: CalCase[] = [];
  for (let i = 0; out.length < n && i < 100 * n; i++) {
    const k = pick(r, [1, 2, 3, 5]);
    const s = pick(r, [1, 1, 2]);
    const ih = pick(r, [6, 8, 12, 16]);
    const channels = pick(r, [1, 2, 4, 8, 16]);
    const pe = pick(r, divisors(channels).filter((d) => d <= 8));
    const qtype = pick(r, ['INT2', 'INT4', 'UINT8', 'INT8']);
    const oh = Math.floor((ih - k) / s) + 1;
    addCase(out, single(`swg_${ih}x${ih}x${channels}_k${k}s${s}_${qtype}_pe${pe}`, 'SlidingWindow', { ih, iw: ih, channels, kh: k, kw: k, sh: s, sw: s, pe, qtype }, {}, qtype, ih * ih * channels, qtype, oh * oh * k * k * channels));
  }
  return out;
}

/**
 * Fully unrolled MVUs (PE = rows, SIMD = cols) on mvu.v (mult "dsp", as measured): constant weights,
 * so Yosys folds every product. (The multiplierless form, common/cmvm.ts, has its own cost form.)
 */
function mvuUnrolledCases(n: number): CalCase[] {
  const r = lcg(7);
  const out: CalCase[] = [];
  for (let i = 0; out.length < n && i < 100 * n; i++) {
    const rows = pick(r, [2, 4, 6, 8]);
    const cols = pick(r, [4, 8, 12, 16]);
    const inType = pick(r, intTypes.filter((t) => t !== 'TERNARY'));
    const weightType = inType === 'BIPOLAR' && r() < 0.5 ? 'BIPOLAR' : pick(r, intTypes);
    const weights = values(weightType, rows * cols, r);
    const ot = qtypeName(mvuOutType(rows, cols, parseQType(inType), weights));
    addCase(out, single(`mvuu_${rows}x${cols}_${inType}x${weightType}`, 'MVU', { rows, cols, pe: rows, simd: cols, mult: 'dsp', inType, weightType, outType: ot }, { weights }, inType, cols, ot, rows));
  }
  return out;
}

/** hw/window_reduce shapes: a window stream of `pixels` pixels × `window` taps × `channels`. */
function windowShape(r: () => number) {
  const channels = pick(r, [1, 2, 4, 8, 16]);
  return { pixels: pick(r, [1, 4, 9, 16]), window: pick(r, [1, 2, 4, 9]), channels, pe: pick(r, divisors(channels).filter((d) => d <= 8)) };
}

function vectorVectorCases(n: number): CalCase[] {
  const r = lcg(8);
  const out: CalCase[] = [];
  for (let i = 0; out.length < n && i < 100 * n; i++) {
    const w = windowShape(r);
    const inType = pick(r, intTypes.filter((t) => t !== 'TERNARY' && t !== 'BIPOLAR'));
    const weightType = pick(r, intTypes);
    const weights = values(weightType, w.channels * w.window, r);
    const ot = qtypeName(smallestIntFor(...mvuAccRange(w.channels, w.window, parseQType(inType), weights)));
    addCase(out, single(`vvu_${w.pixels}p${w.window}k${w.channels}c_${inType}x${weightType}_pe${w.pe}`, 'VectorVector', { ...w, inType, weightType, outType: ot }, { weights }, inType, w.pixels * w.window * w.channels, ot, w.pixels * w.channels));
  }
  return out;
}

function maxPoolCases(n: number): CalCase[] {
  const r = lcg(9);
  const out: CalCase[] = [];
  for (let i = 0; out.length < n && i < 100 * n; i++) {
    const w = windowShape(r);
    const qtype = pick(r, ['INT2', 'UINT2', 'INT4', 'UINT4', 'INT8', 'UINT8', 'BIPOLAR']);
    addCase(out, single(`maxpool_${w.pixels}p${w.window}k${w.channels}c_${qtype}_pe${w.pe}`, 'MaxPool', { ...w, qtype }, {}, qtype, w.pixels * w.window * w.channels, qtype, w.pixels * w.channels));
  }
  return out;
}

function avgPoolCases(n: number): CalCase[] {
  const r = lcg(10);
  const out: CalCase[] = [];
  for (let i = 0; out.length < n && i < 100 * n; i++) {
    const w = windowShape(r);
    const inType = pick(r, ['INT2', 'UINT2', 'INT4', 'UINT4', 'INT8', 'UINT8']);
    const [lo, hi] = range(parseQType(inType));
    const ot = qtypeName(smallestIntFor(w.window * lo, w.window * hi));
    addCase(out, single(`avgpool_${w.pixels}p${w.window}k${w.channels}c_${inType}_pe${w.pe}`, 'AvgPool', { ...w, inType, outType: ot }, {}, inType, w.pixels * w.window * w.channels, ot, w.pixels * w.channels));
  }
  return out;
}

function widthConverterCases(n: number): CalCase[] {
  const r = lcg(11);
  const out: CalCase[] = [];
  for (let i = 0; out.length < n && i < 100 * n; i++) {
    const elems = pick(r, [16, 24, 32, 48, 64]);
    const folds = divisors(elems).filter((d) => d <= 32);
    const inFold = pick(r, folds);
    const outFold = pick(r, folds.filter((d) => d !== inFold));
    const qtype = pick(r, ['BIPOLAR', 'INT2', 'INT4', 'UINT4', 'INT8', 'INT16']);
    addCase(out, single(`dwc_${elems}_${inFold}to${outFold}_${qtype}`, 'WidthConverter', { elems, inFold, outFold, qtype }, {}, qtype, elems, qtype, elems));
  }
  return out;
}

function padCases(n: number): CalCase[] {
  const r = lcg(12);
  const out: CalCase[] = [];
  for (let i = 0; out.length < n && i < 100 * n; i++) {
    const ih = pick(r, [4, 6, 8, 12, 16]);
    const channels = pick(r, [1, 2, 4, 8, 16]);
    const pe = pick(r, divisors(channels).filter((d) => d <= 8));
    const qtype = pick(r, ['INT2', 'UINT4', 'INT4', 'INT8', 'UINT8']);
    const [top, bottom, left, right] = Array.from({ length: 4 }, () => pick(r, [0, 1, 1, 2]));
    const oh = ih + top + bottom;
    const ow = ih + left + right;
    addCase(out, single(`pad_${ih}x${ih}x${channels}_${top}${bottom}${left}${right}_${qtype}_pe${pe}`, 'Pad', { ih, iw: ih, channels, top, bottom, left, right, value: 0, pe, qtype }, {}, qtype, ih * ih * channels, qtype, oh * ow * channels));
  }
  return out;
}

function duplicateCases(n: number): CalCase[] {
  const r = lcg(13);
  const out: CalCase[] = [];
  for (let i = 0; out.length < n && i < 100 * n; i++) {
    const pe = pick(r, [1, 2, 4, 8, 16]);
    const elems = pe * pick(r, [1, 4, 16]);
    const qtype = pick(r, ['INT2', 'UINT2', 'INT4', 'UINT4', 'INT8', 'INT12']);
    const [lo, hi] = range(parseQType(qtype));
    const sum = qtypeName(smallestIntFor(2 * lo, 2 * hi));
    addCase(out, fork(`dup_${elems}_${qtype}_pe${pe}`, 'Duplicate', qtype, elems, pe, { kind: 'AddStreams', attrs: { elems, pe, aType: qtype, bType: qtype, outType: sum }, consts: {} }, sum, elems));
  }
  return out;
}

function addStreamsCases(n: number): CalCase[] {
  const r = lcg(14);
  const out: CalCase[] = [];
  for (let i = 0; out.length < n && i < 100 * n; i++) {
    const pe = pick(r, [1, 2, 4, 8, 16]);
    const elems = pe * pick(r, [1, 4, 16]);
    const qtype = pick(r, ['INT2', 'UINT2', 'INT4', 'UINT4', 'INT8', 'UINT8', 'INT12']);
    const [lo, hi] = range(parseQType(qtype));
    const outType = qtypeName(smallestIntFor(2 * lo, 2 * hi));
    addCase(out, fork(`add_${elems}_${qtype}_pe${pe}`, 'join', qtype, elems, pe, { kind: 'AddStreams', attrs: { elems, pe, aType: qtype, bType: qtype, outType }, consts: {} }, outType, elems));
  }
  return out;
}

function concatCases(n: number): CalCase[] {
  const r = lcg(15);
  const out: CalCase[] = [];
  for (let i = 0; out.length < n && i < 100 * n; i++) {
    const pe = pick(r, [1, 2, 4, 8]);
    const channels = pe * pick(r, [1, 2, 3, 4]);
    const pixels = pick(r, [1, 4, 16]);
    const qtype = pick(r, ['BIPOLAR', 'INT2', 'UINT2', 'INT4', 'UINT4', 'INT8']);
    const attrs = { pixels, aChannels: channels, bChannels: channels, pe, aType: qtype, bType: qtype, outType: qtype };
    addCase(out, fork(`concat_${pixels}p${channels}c_${qtype}_pe${pe}`, 'join', qtype, pixels * channels, pe, { kind: 'Concat', attrs, consts: {} }, qtype, 2 * pixels * channels));
  }
  return out;
}

/** Per kind, the sweep (30 configurations each, the minimum; MVU also 15 fully unrolled, Threshold 30 of each form). */
export function calibrationCases(perKind = 30): CalCase[] {
  return [
    ...mvuCases(perKind), ...mvuUnrolledCases(Math.ceil(perKind / 2)), ...thresholdCases(perKind), ...thresholdSearchCases(perKind), ...requantCases(perKind),
    ...labelSelectCases(perKind), ...fifoCases(perKind), ...slidingWindowCases(perKind),
    ...widthConverterCases(perKind), ...vectorVectorCases(perKind), ...maxPoolCases(perKind), ...avgPoolCases(perKind),
    ...padCases(perKind), ...duplicateCases(perKind), ...addStreamsCases(perKind), ...concatCases(perKind),
  ];
}
