// Folding: how many PE (output lanes) and SIMD (input lanes) each layer gets, i.e. the trade of
// area for cycles. Either given as JSON { "<layer>": { "pe": n, "simd": m } } or chosen by default.
// A layer kind with several forms (LayerSpec.forms: Threshold "impl": "parallel" | "search") takes
// the one the JSON names, else the cheapest at its folding (src/dataflow/forms.ts).
//
// Default folding (kept simple on purpose):
//  - a small network (at most FULLY_PARALLEL_WEIGHTS weights in all MVUs) is fully unrolled:
//    pe = rows, simd = cols, so every layer takes one cycle per inference;
//  - otherwise the biggest MVU gets at most MAX_LANES multiply lanes (pe·simd), which sets the
//    target II = its cycles; every other MVU gets the fewest lanes that keep it within the target
//    (so all layers run near the slowest one's pace, none wastes area going faster);
//  - MVU cycles count every input vector: a conv MVU runs `vectors` (= output pixels) vectors per
//    inference, so its cycles are vectors·(rows/pe)·(cols/simd);
//  - the image kinds (SlidingWindow, Pad, MaxPool, AvgPool, VectorVector) also bound the target:
//    the fastest they can go (pe = channels; a SlidingWindow also with a whole window per beat,
//    taps = kh·kw) is a floor no MVU folding can beat, so the target is the slowest of all layers'
//    fastest; each then gets the fewest lanes (pe·taps, pe dividing channels) within the target,
//    except a Pad feeding a SlidingWindow: pe = channels (padsAtFullWidth);
//  - the streaming kinds with a `pe` (element-wise Threshold/Requant, LabelSelect, and the branch
//    kinds Duplicate, AddStreams, Fifo, Concat) take an input's beat width when their own
//    constraints allow it within the target (no width converter; a join takes the wider of its two
//    inputs), else the fewest lanes within target (left at the lowered pe 1, a branch between
//    folded layers needs width converters and can become the bottleneck);
//  - applying a folding re-sizes the bypass FIFOs of the branches it changes
//    (src/dataflow/fifo-sizing.ts resizeFifos), since their depths count the branch's beats and buffers.
// MLPs have no image kinds and one vector per MVU, so their foldings are as before.
import { createRequire } from 'node:module';
import type * as Zod from 'zod';
import { fail } from '../diag/index.ts';
import type { DataflowGraph, Layer } from '../ir/dataflow.ts';
import { layerKind, layerKinds } from '../layers/index.ts';
import { insertBurstFifos, insertWindowFifos, resizeFifos } from './fifo-sizing.ts';
import { chooseForms } from './forms.ts';

/** Per layer: lanes, and the form of a layer kind with several (LayerSpec.forms, e.g. Threshold "impl"). */
export type Folding = Record<string, { pe?: number; simd?: number; taps?: number; impl?: string; mult?: string }>;

/** An MVU's multiplier kinds (its `mult` attr, src/layers/mvu.ts): not a form, "auto" is DSP48s for now. */
const MULT_KINDS = ['auto', 'dsp', 'lut'] as const;

/** Kinds whose `pe` default folding balances against the target (see the top of this file). */
const IMAGE_KINDS = new Set(['SlidingWindow', 'Pad', 'MaxPool', 'AvgPool', 'VectorVector']);

// Kept low: fully unrolled wide multipliers are cheap to describe but slow to build in Verilator
// (a 512-weight INT16×INT8 layer took minutes); ask for full parallelism explicitly with --fold.
export const FULLY_PARALLEL_WEIGHTS = 256;
export const MAX_LANES = 64;

/** Form attributes (LayerSpec.forms) → the kinds that have them. */
const formKinds = new Map<string, Set<string>>();
for (const k of layerKinds) for (const attr of Object.keys(k.spec.forms ?? {})) formKinds.set(attr, (formKinds.get(attr) ?? new Set()).add(k.kind));

const divisors = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1).filter((d) => n % d === 0);
const num = (l: Layer, k: string): number => l.attrs[k] as number;

/**
 * A folding as written by users (a JSON file) or by the API: layer name → its lanes and forms. zod
 * is loaded on first use, not at import, so the commands that never fold (inspect, exec, sim, …)
 * and `kiln estimate`'s static imports stay free of it (test/unit/cli-startup.test.ts).
 */
let foldingSchema: ReturnType<typeof makeFoldingSchema> | undefined;
function makeFoldingSchema(z: typeof Zod) {
  const lanes = z.number().int().min(1).optional();
  const forms = Object.fromEntries([...formKinds.keys()].map((k) => [k, z.string().optional()]));
  return z.record(z.string(), z.strictObject({ pe: lanes, simd: lanes, taps: lanes, mult: z.enum(MULT_KINDS).optional(), ...forms }));
}

/** A value as the user wrote it (JSON.stringify would print 1e400 and NaN as null). */
const show = (v: unknown): string => (typeof v === 'number' ? String(v) : v === undefined ? 'nothing' : JSON.stringify(v));

/** folding checked against foldingSchema; the first problem, named by its path, is a KLN2002. */
export function checkFolding(folding: unknown): Folding {
  foldingSchema ??= makeFoldingSchema(createRequire(import.meta.url)('zod') as typeof Zod);
  const r = foldingSchema.safeParse(folding, { reportInput: true });
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const [name, key] = issue.path.map(String);
  const input = (issue as { input?: unknown }).input;
  if (name === undefined) fail('BadFolding', `folding must be an object { "<layer>": { "pe": n, "simd": m } }, not ${show(input)}`);
  if (issue.code === 'unrecognized_keys') fail('BadFolding', `folding of '${name}' may set pe, simd, taps, mult and ${[...formKinds.keys()].join(', ')}, not '${issue.keys[0]}'`);
  if (key === undefined) fail('BadFolding', `folding of '${name}' must be an object { "pe": n, "simd": m }, not ${show(input)}`);
  if (formKinds.has(key)) fail('BadFolding', `${key} of '${name}' must be a string naming a form, not ${show(input)}`);
  if (key === 'mult') fail('BadFolding', `mult of '${name}' must be ${MULT_KINDS.map((x) => `"${x}"`).join(', ')}, not ${show(input)}`);
  fail('BadFolding', `${key} of '${name}' must be a positive integer, not ${show(input)}`);
}

/** Returns a copy of df with the given pe/simd set (checked later by each layer's checkFolding), and its FIFOs re-sized. */
export function applyFolding(df: DataflowGraph, given: Folding): DataflowGraph {
  const { df: folded, changed } = setFolding(df, given);
  return foldFifos(folded, changed);
}

/** The 'fold' step: df with the given lanes and forms set, and the layers whose folding changed. */
export function setFolding(df: DataflowGraph, given: Folding): { df: DataflowGraph; changed: Set<string> } {
  const folding = checkFolding(given);
  const names = new Set(df.layers.map((l) => l.name));
  for (const [name, f] of Object.entries(folding)) {
    if (!names.has(name)) fail('BadFolding', `folding names layer '${name}', which is not in the design (layers: ${[...names].join(', ')})`);
    const layer = df.layers.find((l) => l.name === name)!;
    const forms = layerKind(layer.kind, name).spec.forms ?? {};
    for (const [k, v] of Object.entries(f)) {
      if (!formKinds.has(k)) continue; // lanes: checked by checkFolding and the layer's parse
      if (!(k in forms)) fail('BadFolding', `${k} applies to ${[...formKinds.get(k)!].join(', ')} layers, not ${layer.kind} '${name}'`);
      if (!forms[k].includes(v as string)) fail('BadFolding', `${k} of '${name}' must be ${forms[k].map((x) => `"${x}"`).join(' or ')}, not ${JSON.stringify(v)}`);
    }
    if (f.simd !== undefined && layer.kind !== 'MVU') fail('BadFolding', `simd applies to MVU layers, not ${layer.kind} '${name}'`);
    if (f.mult !== undefined && layer.kind !== 'MVU') fail('BadFolding', `mult applies to MVU layers, not ${layer.kind} '${name}'`);
    if (f.taps !== undefined && layer.kind !== 'SlidingWindow') fail('BadFolding', `taps applies to SlidingWindow layers, not ${layer.kind} '${name}'`);
  }
  const changed = new Set<string>();
  const layers = df.layers.map((l) => {
    const f = folding[l.name] ?? {};
    const lanes = Object.fromEntries(Object.entries(f).filter(([k]) => !formKinds.has(k)));
    if (Object.entries(lanes).some(([k, v]) => (l.attrs[k] ?? 1) !== v)) changed.add(l.name);
    // Forms after lanes: which is cheaper depends on the folding (src/dataflow/forms.ts).
    const chosen = chooseForms({ ...l, attrs: { ...l.attrs, ...lanes } }, f);
    if (Object.keys(chosen.attrs).some((k) => formKinds.has(k) && chosen.attrs[k] !== l.attrs[k])) changed.add(l.name);
    return chosen;
  });
  return { df: { ...df, layers }, changed };
}

/**
 * The 'fifos' step after folding: window generators at the II get a FIFO in front
 * (src/dataflow/fifo-sizing.ts), and bypass FIFO depths depend on the folding of their branch:
 * re-sizes those the folding (`changed`) or a new FIFO changed.
 */
export function foldFifos(df: DataflowGraph, changed: ReadonlySet<string>): DataflowGraph {
  const resize = new Set(changed);
  const folded: DataflowGraph = { ...df, streams: new Map(df.streams), layers: df.layers.map((l) => ({ ...l, inputs: [...l.inputs] })) };
  for (const name of insertWindowFifos(folded)) resize.add(name);
  for (const name of insertBurstFifos(folded)) resize.add(name);
  return resizeFifos(folded, resize);
}

/** The (pe, simd) with the fewest lanes that keeps an MVU within `target` cycles (ties: more simd). */
function mvuFold(rows: number, cols: number, target: number): { pe: number; simd: number } {
  let best = { pe: rows, simd: cols };
  for (const pe of divisors(rows)) {
    for (const simd of divisors(cols)) {
      if ((rows / pe) * (cols / simd) > target) continue;
      const lanes = pe * simd;
      const bestLanes = best.pe * best.simd;
      if (lanes < bestLanes || (lanes === bestLanes && simd > best.simd)) best = { pe, simd };
    }
  }
  return best;
}

/** Every legal (pe, taps) of an image-kind layer with its cycles, cheapest (fewest lanes) first. */
function imageFoldings(l: Layer): { pe: number; taps: number; cycles: number }[] {
  const kind = layerKind(l.kind, l.name);
  const base = kind.parse(l);
  const n = (typeof base.channels === 'number' ? base.channels : base.elems) as number;
  const tapChoices = l.kind === 'SlidingWindow' ? [1, (base.kh as number) * (base.kw as number)] : [1];
  const out: { pe: number; taps: number; cycles: number }[] = [];
  for (const taps of new Set(tapChoices)) {
    for (const pe of divisors(n)) {
      const a = { ...base, pe, taps };
      if (kind.spec.checkFolding(a)) continue;
      out.push({ pe, taps, cycles: kind.spec.cycles(a) });
    }
  }
  return out.sort((x, y) => x.pe * x.taps - y.pe * y.taps || x.cycles - y.cycles);
}

/**
 * pe of a layer that streams at `pe` elements per beat (element-wise, branch and selection kinds):
 * an input's beat width (its producer's fold, so no width converter) when legal and within target
 * — the widest of those —, else the fewest lanes within target, else the fastest legal.
 */
function streamFold(l: Layer, upstream: (number | undefined)[], target: number): number {
  const kind = layerKind(l.kind, l.name);
  const base = kind.parse({ ...l, attrs: { ...l.attrs, pe: 1 } });
  const options = divisors(kind.spec.streams(base).in[0].elems)
    .filter((pe) => !kind.spec.checkFolding({ ...base, pe }))
    .map((pe) => ({ pe, cycles: kind.spec.cycles({ ...base, pe }) }));
  const within = options.filter((o) => o.cycles <= target);
  const matching = within.filter((o) => upstream.includes(o.pe));
  if (matching.length) return Math.max(...matching.map((o) => o.pe));
  if (within.length) return within[0].pe;
  return options.reduce((b, o) => (o.cycles < b.cycles ? o : b)).pe;
}

/** The default folding described at the top of this file. */
export function defaultFolding(df: DataflowGraph): Folding {
  const mvus = df.layers.filter((l) => l.kind === 'MVU');
  const vectors = (l: Layer) => (typeof l.attrs.vectors === 'number' ? l.attrs.vectors : 1);
  const weights = mvus.reduce((s, l) => s + num(l, 'rows') * num(l, 'cols'), 0);
  const unroll = weights <= FULLY_PARALLEL_WEIGHTS;
  const images = new Map(df.layers.filter((l) => IMAGE_KINDS.has(l.kind)).map((l) => [l.name, imageFoldings(l)]));
  let target = 1;
  for (const l of mvus) {
    const rows = num(l, 'rows');
    const cols = num(l, 'cols');
    // Fewest cycles this layer can reach with at most MAX_LANES lanes (any number when unrolled).
    let fastest = rows * cols;
    for (const pe of divisors(rows)) for (const simd of divisors(cols)) {
      if (unroll || pe * simd <= MAX_LANES) fastest = Math.min(fastest, (rows / pe) * (cols / simd));
    }
    target = Math.max(target, vectors(l) * fastest);
  }
  for (const options of images.values()) target = Math.max(target, Math.min(...options.map((o) => o.cycles)));

  const folding: Folding = {};
  const outFold = new Map<string, number>(); // stream → elements per beat of its producer
  for (const l of df.layers) {
    let pe: number;
    if (l.kind === 'MVU') {
      const f = mvuFold(num(l, 'rows'), num(l, 'cols'), Math.floor(target / vectors(l)));
      folding[l.name] = f;
      pe = f.pe;
    } else if (images.has(l.name)) {
      const options = images.get(l.name)!;
      const fastest = options.reduce((b, o) => (o.cycles < b.cycles ? o : b));
      const f = options.find((o) => o.cycles <= target) ?? fastest;
      folding[l.name] = l.kind === 'SlidingWindow' ? { pe: f.pe, taps: f.taps } : { pe: f.pe };
      pe = f.pe * f.taps;
    } else if ('pe' in layerKind(l.kind, l.name).schema) {
      pe = streamFold(l, l.inputs.map((s) => outFold.get(s)), target);
      folding[l.name] = { pe };
    } else {
      pe = typeof l.attrs.pe === 'number' ? l.attrs.pe : 1;
    }
    for (const o of l.outputs) outFold.set(o, pe);
  }
  return padsAtFullWidth(df, folding);
}

/**
 * Sets every Pad in front of a SlidingWindow to whole pixels per beat (pe = channels), in place:
 * at fewer lanes its padding rows stall the layers around it for as many cycles every image, cycles
 * a layer at the II cannot make up (seen in Verilator: ResNet-8 3 % over the II with Pads at the
 * window generator's pe). Pad lanes are a register and a mux each. Used by every default folding.
 */
export function padsAtFullWidth(df: DataflowGraph, folding: Folding): Folding {
  for (const l of df.layers) {
    if (l.kind === 'Pad' && df.layers.some((c) => c.kind === 'SlidingWindow' && c.inputs.includes(l.outputs[0]))) folding[l.name] = { pe: num(l, 'channels') };
  }
  return folding;
}
