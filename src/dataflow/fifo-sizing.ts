// Analytic FIFO sizing for branching dataflow graphs (issue 4): no simulation, just the layers'
// data dependencies under the chosen folding.
//
// A Duplicate feeds two paths that meet again at a join (AddStreams, Concat). The Duplicate emits a
// beat only when BOTH outputs take it, and the join takes a beat only when BOTH inputs have one. So
// when the join waits for its beat b, the long path (say SlidingWindow → MVU → Threshold) must have
// been fed every element it needs for beat b — e.g. kh−1 image lines before its first window —
// while the short path (the bypass) has only been drained of what beats < b used. Everything in
// between sits on the short path; if it does not fit, the Duplicate stalls and the design deadlocks.
//
// need(e): for an output element e of a layer, the largest input element it depends on (plus beat
// granularity: a beat leaves whole, so e stands for the last element of its beat); each kind states
// it, with its internal buffering, in its layer file (`buffering`, see src/layers/define.ts). Composed along a
// path from the Duplicate's output to the join's input it gives N(e) in Duplicate elements. The
// short path must buffer, for every join beat b, N_long(b) − N_short(b − 1) Duplicate elements:
//
//   depth (beats of the Duplicate's stream) = ceil(max_b (N_long(last of b) − N_short(last of b−1)) / fold) + SLACK
//
// rounded up to a power of two (hw/common/fifo.v). Sufficient by construction: with that much
// room the Duplicate can always run ahead until the long path has what it needs, and every layer of
// the long path buffers internally what its own output needs (line buffers, MVU input vector). The
// SLACK beats cover the register stages of the Duplicate and the join. It is the deadlock bound, not
// a throughput bound: a FIFO this deep never deadlocks; full rate may need the latency difference.
import { InternalError } from '../diag/index.ts';
import type { DataflowGraph, Layer } from '../ir/dataflow.ts';
import { qtypeName } from '../ir/datatype.ts';
import { checkDataflow, type CheckedLayer } from '../exec/dataflow.ts';
import { layerKind } from '../layers/index.ts';

/** Beats of slack: the Duplicate's output register and the join's input stage. */
export const SLACK = 2;

export interface FifoSize {
  /** The join and the Duplicate it pairs with. */
  join: string;
  duplicate: string;
  /** Duplicate output port (0/1) of the short path, which gets the FIFO. */
  port: number;
  /** Required buffering in Duplicate elements, and the deadlock-free FIFO depth in Duplicate beats (a power of two). */
  elems: number;
  depth: number;
  /** Buffering for full rate in Duplicate elements (≥ elems); see fullRateDepth. */
  fullRateElems: number;
  /**
   * Depth for full rate (≥ depth): also room for everything the long path's own buffers (line
   * buffer, MVU input vector, register stages) can take ahead of its output, so the Duplicate never
   * starves the long path. Less than this still never deadlocks but can stretch the cycles per
   * inference beyond the estimate (seen in Verilator with the deadlock depth next to a folded MVU).
   */
  fullRateDepth: number;
}

type A = Record<string, number>;

/** need[e] for output element e of a layer on input port `port` (non-decreasing): its kind's buffering.need, else the whole input. */
function needTable(c: CheckedLayer, port: number): Int32Array | ((e: number) => number) {
  const need = c.kind.spec.buffering?.need;
  if (need) return need(c.attrs, port);
  const inElems = c.ports.in[port].elems;
  return () => inElems - 1; // no dependency model: assume it needs its whole input
}

/** N(e) of one layer at beat granularity: the output beat holding e leaves whole. */
function layerNeed(c: CheckedLayer, port: number): (e: number) => number {
  const t = needTable(c, port);
  const fo = c.ports.out[0].fold;
  const last = c.ports.out[0].elems - 1;
  const f = typeof t === 'function' ? t : (e: number) => t[e];
  return (e) => (e < 0 ? -1 : f(Math.min(last, (Math.floor(e / fo) + 1) * fo - 1)));
}

interface Path { layers: { c: CheckedLayer; port: number }[]; dupPort: number }

/** Every Duplicate → … → join pair, with the two paths between them (each a chain of single-input layers). */
function branchPairs(checked: CheckedLayer[]): { dup: CheckedLayer; join: CheckedLayer; paths: [Path, Path] }[] {
  const producer = new Map<string, { c: CheckedLayer; port: number }>();
  for (const c of checked) c.layer.outputs.forEach((s, port) => producer.set(s, { c, port }));
  const pairs: { dup: CheckedLayer; join: CheckedLayer; paths: [Path, Path] }[] = [];
  for (const join of checked) {
    if (join.layer.inputs.length !== 2) continue;
    const paths = join.layer.inputs.map((s, port): Path | undefined => {
      const layers: Path['layers'] = [{ c: join, port }];
      let stream = s;
      for (;;) {
        const p = producer.get(stream);
        if (!p) return undefined;
        if (p.c.layer.kind === 'Duplicate') return { layers, dupPort: p.port, dup: p.c } as Path & { dup: CheckedLayer };
        if (p.c.layer.inputs.length !== 1) return undefined;
        layers.push({ c: p.c, port: 0 });
        stream = p.c.layer.inputs[0];
      }
    }) as ((Path & { dup: CheckedLayer }) | undefined)[];
    const [pa, pb] = paths;
    if (pa && pb && pa.dup === pb.dup && pa.dupPort !== pb.dupPort) pairs.push({ dup: pa.dup, join, paths: [pa, pb] });
  }
  return pairs;
}

/** Composes the needs of a path (join input port first, back to the Duplicate): join-input element → Duplicate element. */
function pathNeed(p: Path): (e: number) => number {
  // p.layers[0] is the join itself (its port's need is the identity on that input); the rest go upstream.
  const fs = p.layers.slice(1).map(({ c, port }) => layerNeed(c, port));
  return (e) => fs.reduce((x, f) => (x < 0 ? -1 : f(x)), e);
}

const pow2 = (n: number): number => {
  let d = 2;
  while (d < n) d *= 2;
  return d;
};

/** FIFO depth (a power of two, hw/common/fifo.v) holding `elems` elements at `fold` per beat, plus the SLACK beats. */
export function fifoDepth(elems: number, fold: number): number {
  return pow2(Math.ceil(elems / fold) + SLACK);
}

/** The bypass FIFO each Duplicate/join pair needs (a path with a Fifo right after the Duplicate counts it as placed there). */
export function fifoSizes(df: DataflowGraph): FifoSize[] {
  const checked = checkDataflow(df);
  const out: FifoSize[] = [];
  for (const { dup, join, paths } of branchPairs(checked)) {
    const fj = join.ports.in[0].fold;
    const n = join.ports.in[0].elems;
    if (join.ports.in[1].fold !== fj && join.layer.kind === 'AddStreams') throw new InternalError(`join '${join.layer.name}' has inputs of different folds`);
    const needs = paths.map(pathNeed);
    // Buffer on path i: max over join beats b of N_other(b) − N_i(b − 1).
    const buffered = [0, 1].map((i) => {
      let worst = 0;
      for (let b = 0; b * fj < n; b++) {
        const lastB = Math.min(n - 1, (b + 1) * fj - 1);
        const other = needs[1 - i](lastB);
        const mine = b === 0 ? -1 : needs[i](b * fj - 1);
        worst = Math.max(worst, other - mine);
      }
      return worst;
    });
    // The short path gets the FIFO; on a tie, the one with fewer layers (the bypass).
    const i = buffered[0] !== buffered[1] ? (buffered[0] > buffered[1] ? 0 : 1) : paths[0].layers.length <= paths[1].layers.length ? 0 : 1;
    const fd = dup.ports.out[0].fold;
    const depth = fifoDepth(buffered[i], fd);
    const fullRateElems = Math.max(buffered[i], fullRateElements(paths[1 - i], paths[i], n, fj));
    out.push({
      join: join.layer.name, duplicate: dup.layer.name, port: paths[i].dupPort, elems: buffered[i], depth,
      fullRateElems, fullRateDepth: Math.max(depth, fifoDepth(fullRateElems, fd)),
    });
  }
  return out;
}

/**
 * How far a layer's input may run ahead of what its current output needs, in input elements: its
 * kind's buffering.ahead (SlidingWindow: its circular buffer; MVU: the second input vector; window
 * reductions: one pixel; Fifo: its depth), else a register stage (two beats). Codegen's width
 * converters add a beat.
 */
function ahead(c: CheckedLayer, port: number): number {
  const fi = c.ports.in[port].fold;
  const f = c.kind.spec.buffering?.ahead;
  return f ? f(c.attrs, port, fi) : 2 * fi;
}

/**
 * Full rate: the long path must never starve, so the Duplicate must be able to feed it as far as its
 * buffers reach while the join still waits: N_long(b) plus every layer's `ahead`, composed along the
 * path, minus what the join has drained from the short path — in Duplicate elements.
 */
function fullRateElements(long: Path, short: Path, n: number, fj: number): number {
  const steps = long.layers.slice(1).map(({ c, port }) => ({ need: layerNeed(c, port), extra: ahead(c, port) + c.ports.in[port].fold + c.ports.out[0].fold }));
  const reach = (e: number) => steps.reduce((x, st) => st.need(x) + st.extra, e);
  const mine = pathNeed(short);
  let worst = 0;
  for (let b = 0; b * fj < n; b++) {
    const lastB = Math.min(n - 1, (b + 1) * fj - 1);
    worst = Math.max(worst, reach(lastB) - (b === 0 ? -1 : mine(b * fj - 1)));
  }
  return worst;
}

/**
 * Writes the sizes into the graph: a Fifo right after the Duplicate on the short path (inserted, or
 * an existing one's depth raised). Returns the sizes (also for report.json).
 */
export function insertFifos(df: DataflowGraph, mode: 'full-rate' | 'deadlock' = 'full-rate'): FifoSize[] {
  const sizes = fifoSizes(df);
  for (const s of sizes) {
    const elems = mode === 'full-rate' ? s.fullRateElems : s.elems;
    const fifo = bypassFifo(df, s) ?? placeFifo(df, s);
    const depth = Math.max(Number(fifo.attrs.depth ?? 2), fifoDepth(elems, Number(fifo.attrs.pe ?? 1)));
    fifo.attrs = { ...fifo.attrs, depth };
  }
  return sizes;
}

/**
 * Re-sizes, after folding, the bypass FIFOs of the Duplicate/join pairs whose layers (the Duplicate,
 * the join, any layer between them) `changed` names: lowering sized them for the lowered folding,
 * and their beats, line buffers and MVU vectors change with the folding. Each such FIFO gets the
 * full-rate depth in its own beats (smaller or larger than before); pairs the folding left alone keep
 * their depths (as sized, or as given by hand). Returns a new graph; df is not modified.
 */
export function resizeFifos(df: DataflowGraph, changed: ReadonlySet<string>): DataflowGraph {
  if (!df.layers.some((l) => l.kind === 'Duplicate')) return df;
  const out: DataflowGraph = {
    ...df,
    streams: new Map(df.streams),
    layers: df.layers.map((l) => ({ ...l, inputs: [...l.inputs], outputs: [...l.outputs] })),
    outputs: [...df.outputs],
  };
  const checked = checkDataflow(out);
  const onPair = new Map<string, string[]>(); // "dup→join" → the layers of both paths
  for (const { dup, join, paths } of branchPairs(checked)) {
    onPair.set(`${dup.layer.name}→${join.layer.name}`, [dup.layer.name, ...paths.flatMap((p) => p.layers.map(({ c }) => c.layer.name))]);
  }
  for (const s of fifoSizes(out)) {
    if (!onPair.get(`${s.duplicate}→${s.join}`)!.some((name) => changed.has(name))) continue;
    const fifo = bypassFifo(out, s) ?? placeFifo(out, s);
    fifo.attrs = { ...fifo.attrs, depth: fifoDepth(s.fullRateElems, Number(fifo.attrs.pe ?? 1)) };
  }
  return out;
}

/** The Fifo already on the short path of a pair (between its Duplicate and its join), if any. */
function bypassFifo(df: DataflowGraph, s: FifoSize): Layer | undefined {
  let stream = df.layers.find((l) => l.name === s.duplicate)!.outputs[s.port];
  for (;;) {
    const next = df.layers.find((l) => l.inputs.includes(stream));
    if (!next || next.name === s.join || next.inputs.length !== 1) return undefined;
    if (next.kind === 'Fifo') return next;
    stream = next.outputs[0];
  }
}

/**
 * Inserts a Fifo (depth 2; the caller sets it) on the short path of a pair: right after the
 * Duplicate, or — when the short path is elementwise with one fold (a bypass Threshold) — after
 * those layers, on the narrower activation codes. Modifies df; returns the new layer.
 */
function placeFifo(df: DataflowGraph, s: FifoSize): Layer {
  const dup = df.layers.find((l) => l.name === s.duplicate)!;
  let stream = dup.outputs[s.port];
  let after: Layer = dup;
  for (;;) {
    const next = df.layers.find((l) => l.inputs.includes(stream));
    if (!next || !layerKind(next.kind, next.name).spec.buffering?.elementwise || Number(next.attrs.pe ?? 1) !== Number(dup.attrs.pe ?? 1)) break;
    stream = next.outputs[0];
    after = next;
  }
  return insertFifo(df, stream, `${dup.name}_fifo${s.port}`, { pe: Number(dup.attrs.pe ?? 1), depth: 2 }, dup.origin, df.layers.indexOf(after) + 1);
}

/**
 * Puts a Fifo layer on `stream` at `index` of df.layers: a name from `base` that no layer or stream
 * has yet, a new output stream, and the stream's reader (or the graph output) moved onto it.
 * elems defaults to the stream's element count. Modifies df; returns the new layer.
 */
function insertFifo(df: DataflowGraph, stream: string, base: string, fold: { pe: number; depth: number; elems?: number }, origin: string[], index: number): Layer {
  const st = df.streams.get(stream)!;
  let name = base;
  while (df.layers.some((l) => l.name === name) || df.streams.has(`${name}_out`)) name += '_';
  const out = `${name}_out`;
  df.streams.set(out, { name: out, qtype: st.qtype, shape: [...st.shape] });
  const fifo: Layer = {
    name, kind: 'Fifo', attrs: { elems: fold.elems ?? st.shape.reduce((a, b) => a * b, 1), pe: fold.pe, depth: fold.depth, qtype: qtypeName(st.qtype) },
    consts: {}, inputs: [stream], outputs: [out], origin: [...origin],
  };
  const consumer = df.layers.find((l) => l.inputs.includes(stream));
  if (consumer) consumer.inputs = consumer.inputs.map((i) => (i === stream ? out : i));
  else df.outputs = df.outputs.map((o) => (o === stream ? out : o));
  df.layers.splice(index, 0, fifo);
  return fifo;
}


// ---- window FIFOs: full rate around window generators -------------------------------------------
//
// A layer at the II (an MVU whose cycles are the design's) cannot make up a stalled cycle, and a
// window generator at the II cannot make up a cycle it waited. Two things in front of a
// SlidingWindow refuse input in bursts: a Pad, while it emits padding (the last row's right pad, the
// bottom and the next image's top rows and the first left pad: one run of padding beats), and the
// window generator's line buffer, which in steady state lags its producer by up to `sh` input lines
// more than it holds. So a Fifo goes in front of a Pad feeding a SlidingWindow (or of the
// SlidingWindow when it has no Pad) when a layer at the II feeds that Pad through layers that pass
// stalls on (buffering.passesStalls of their kind: Threshold, Duplicate, …, which hold a beat or two,
// and MVUs, one input vector ahead: a padding run longer than an MVU's slack reaches the layer
// before it), or when the SlidingWindow is strided
// and at the II itself (stride-1 generators keep up with their line buffer alone); never where the
// design input feeds it (the host does not stall). It holds what the producer makes at its mean
// rate during the padding run, plus sh input lines:
//
//   elems = ceil(padding run in Pad beats × input elements / II) + sh · iw · channels
//
// Measured in Verilator without them: ResNet-8 3 % and MobileNet-v1 8 % over the II; with them (and
// Pads at pe = channels, see src/dataflow/fold.ts) the steady state meets it. MobileNet-v1 was still
// 1.6 % over (21,072 for 20,736) while the search stopped at MVUs: per-stream stall counts showed the
// depthwise layer at the II blocked by the pointwise MVU after it (18,432 cycles), which the
// padding run of the next stride-2 depthwise conv's Pad blocked.

/** Inserts the window FIFOs described above into df (in place); returns the names of the new Fifos. */
export function insertWindowFifos(df: DataflowGraph): string[] {
  if (!df.layers.some((l) => l.kind === 'SlidingWindow')) return [];
  const checked = checkDataflow(df);
  const ii = Math.max(...checked.map((c) => c.kind.spec.cycles(c.attrs)));
  const byName = new Map(checked.map((c) => [c.layer.name, c]));
  const producer = new Map<string, { c: CheckedLayer; port: number }>();
  for (const c of checked) c.layer.outputs.forEach((s, port) => producer.set(s, { c, port }));
  const inserted: string[] = [];
  for (const swg of checked.filter((c) => c.layer.kind === 'SlidingWindow')) {
    const a = swg.attrs as A;
    const before = producer.get(swg.layer.inputs[0]);
    const pad = before?.c.layer.kind === 'Pad' ? before.c : undefined;
    const atII = (c: CheckedLayer) => c.kind.spec.cycles(c.attrs) >= ii;
    if (!(atII(swg) && a.sh > 1) && !(pad && feedsFromII(pad, producer, atII))) continue;
    const head = pad ?? swg; // the layer the FIFO goes in front of
    const feed = producer.get(head.layer.inputs[0]);
    if (!feed || feed.c.layer.kind === 'Fifo') continue; // the design input, or already buffered
    const p = pad?.attrs as A | undefined;
    const run = p ? (p.right + (p.bottom + p.top) * (p.left + p.iw + p.right) + p.left) * (p.channels / p.pe) : 0;
    const input = head.ports.in[0];
    const iw = p ? p.iw : a.iw;
    const elems = Math.ceil((run * input.elems) / ii) + a.sh * iw * a.channels;
    const fold = feed.c.ports.out[feed.port].fold;
    const layer = byName.get(head.layer.name)!.layer;
    const fifo = insertFifo(df, head.layer.inputs[0], `${head.layer.name}_fifo`, { elems: input.elems, pe: fold, depth: fifoDepth(elems, fold) }, layer.origin, df.layers.indexOf(layer));
    inserted.push(fifo.name);
  }
  return inserted;
}

/**
 * Whether a layer at the II feeds `c` through layers that pass stalls on (buffering.passesStalls:
 * register stages, FIFOs, and MVUs, which hold one input vector ahead, so a padding run longer than
 * an MVU's slack reaches the layer before it. MobileNet-v1: the padding of a stride-2 depthwise
 * conv's Pad stalled the pointwise MVU before it, 18,432 of 20,736 cycles, and through it the
 * depthwise layer at the II: 21,072 cycles per inference instead of 20,736).
 */
function feedsFromII(c: CheckedLayer, producer: Map<string, { c: CheckedLayer }>, atII: (c: CheckedLayer) => boolean): boolean {
  const seen = new Set<string>();
  const stack = [...c.layer.inputs];
  while (stack.length) {
    const p = producer.get(stack.pop()!)?.c;
    if (!p || seen.has(p.layer.name)) continue;
    seen.add(p.layer.name);
    if (atII(p)) return true;
    if (p.kind.spec.buffering?.passesStalls) stack.push(...p.layer.inputs);
  }
  return false;
}

/**
 * Burst FIFOs: a layer with a burst (buffering.burst: hw/window_reduce — VectorVector, MaxPool,
 * AvgPool — emits a pixel's CF = channels/pe beats back to back with its last tap and stalls its
 * input while they wait). A reader that drains them slower — fewer elements per beat, directly or
 * behind layers that pass the burst on in order (buffering.inOrder: Threshold, Requant, width
 * converters, FIFOs) — backs the burst up into the window layer, and the II grows (MobileNet-v1 VWW
 * with thresholds at pe 1: 23,616 / 26,064 cycles against 20,736; nn2fpga two_layers_old, an MVU at
 * simd 1 behind a Requant behind a global AvgPool at pe 2: 8,194 against 8,192). A FIFO of CF + SLACK
 * beats after the layer absorbs one pixel's burst, unless the layers on the way already hold it.
 */
export function insertBurstFifos(df: DataflowGraph): string[] {
  if (!df.layers.some((l) => layerKind(l.kind, l.name).spec.buffering?.burst)) return [];
  const checked = checkDataflow(df);
  const inserted: string[] = [];
  for (const c of checked) {
    const burst = c.kind.spec.buffering?.burst?.(c.attrs);
    if (!burst) continue;
    const out = c.ports.out[0];
    if (!drainsSlower(checked, c.layer.outputs[0], out.fold, burst * out.fold)) continue;
    const fifo = insertFifo(df, c.layer.outputs[0], `${c.layer.name}_burst_fifo`, { elems: out.elems, pe: out.fold, depth: fifoDepth(burst * out.fold, out.fold) }, c.layer.origin, df.layers.indexOf(c.layer) + 1);
    inserted.push(fifo.name);
  }
  return inserted;
}

/**
 * Whether a burst of `elems` elements, `fold` a beat, on `stream` meets a reader taking (or, through
 * an in-order layer, passing on) fewer than `fold` elements a beat before the in-order layers on the
 * way hold it all. A branch or the graph output ends the search: bypass FIFOs size branches, and
 * the host never stalls.
 */
function drainsSlower(checked: CheckedLayer[], stream: string, fold: number, elems: number): boolean {
  let held = 0;
  for (;;) {
    const users = checked.filter((u) => u.layer.inputs.includes(stream));
    if (users.length !== 1) return false;
    const u = users[0];
    const port = u.layer.inputs.indexOf(stream);
    if (u.ports.in[port].fold < fold) return true;
    if (!u.kind.spec.buffering?.inOrder || u.layer.outputs.length !== 1) return false;
    if (u.ports.out[0].fold < fold) return true;
    held += ahead(u, port);
    if (held >= elems) return false;
    stream = u.layer.outputs[0];
  }
}
