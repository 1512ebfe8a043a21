// Auto-folding (`--fold auto --fps N --device <part> [--clock-mhz F]`): the folding that reaches N
// inferences/s with the fewest resources on a device, or a KLN2003 error stating the best FPS that fits.
//
// Target II T = floor(clock / fps). Every layer with a pe attribute gets a folding whose cycle model
// stays within T; running faster than the slowest layer buys nothing (FINN's SetFolding makes the
// same argument). The options: MVU pe × simd (on a conv MVU, cycles count every window), SlidingWindow
// pe × taps (taps = kh·kw: a whole window per beat), pe for the pooling / elementwise / Pad kinds.
// An MVU takes the fewest lanes (its area grows with them), among those the least resources weighed
// as fractions of the device budget; the other kinds, whose area is not monotone in pe (a Threshold's
// table moves between block RAM and LUTs), the least weighed resources of all. Remaining ties prefer
// fewer lanes, the producer's beat width (no width converter), then more SIMD (fewer accumulators).
// If the sum does not fit the device, a greedy repair trades options until it does. The folded design's estimate (src/estimate) is then checked
// against the budget; if it does not fit, a binary search over T finds the fastest folding that does,
// for the error message.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fail } from '../diag/index.ts';
import type { DataflowGraph, Layer } from '../ir/dataflow.ts';
import { layerKind } from '../layers/index.ts';
import { foldedDataflow } from './pipeline.ts';
import { estimateNetwork, type NetworkEstimate } from '../estimate/network.ts';
import { networkPerformance } from '../estimate/perf.ts';
import { layerResources, totalResources } from '../estimate/resources.ts';
import type { Family, Resources } from '../estimate/units.ts';
import { padsAtFullWidth, type Folding } from './fold.ts';

export interface Device {
  part: string;
  name: string;
  family: Family;
  budget: Resources;
  source: string;
}

const devicesDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'estimate', 'devices');

export function knownDevices(): string[] {
  return readdirSync(devicesDir).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();
}

/** A device from src/estimate/devices/<part>.json (KLN2004 naming the known parts). */
export function loadDevice(part: string): Device {
  const known = knownDevices();
  if (!known.includes(part)) fail('UnknownDevice', `device must be one of ${known.join(', ')}, not '${part}'`);
  return JSON.parse(readFileSync(join(devicesDir, `${part}.json`), 'utf8')) as Device;
}

export interface AutoFoldOptions {
  fps: number;
  device: string;
  clockMHz?: number;
}

export interface AutoFoldResult {
  folding: Folding;
  estimate: NetworkEstimate;
  device: Device;
  fps: number;
  /** Device utilisation per budgeted resource, 0..1. */
  utilisation: Resources;
}

const divisors = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1).filter((d) => n % d === 0);

/** One legal folding of one layer and what it costs. */
interface Candidate {
  fold: { pe: number; simd?: number; taps?: number };
  cycles: number;
  /** Parallel elements: pe·simd for an MVU, pe·taps for a SlidingWindow, else pe. */
  lanes: number;
  inFold: number;
  outFolds: number[];
}

/** Every legal folding of a layer with a pe attribute (MVU: pe × simd; SlidingWindow: pe × taps). */
function candidates(l: Layer): Candidate[] {
  const kind = layerKind(l.kind, l.name);
  if (!('pe' in kind.schema)) return [];
  const isMvu = 'simd' in kind.schema;
  const isWindow = 'taps' in kind.schema;
  const parsed = kind.parse({ ...l, attrs: { ...l.attrs, pe: 1, ...(isMvu ? { simd: 1 } : {}), ...(isWindow ? { taps: 1 } : {}) } });
  const ints = Object.values(parsed).filter((v): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0);
  const pes = isMvu ? divisors(parsed.rows as number) : [...new Set(ints.flatMap(divisors))].sort((a, b) => a - b);
  const simds = isMvu ? divisors(parsed.cols as number) : [1];
  const tapses = isWindow ? [...new Set([1, (parsed.kh as number) * (parsed.kw as number)])] : [1];
  const out: Candidate[] = [];
  for (const pe of pes) {
    for (const simd of simds) {
      for (const taps of tapses) {
        const fold = { pe, ...(isMvu ? { simd } : {}), ...(isWindow ? { taps } : {}) };
        const a = { ...parsed, ...fold };
        if (kind.spec.checkFolding(a)) continue;
        const ports = kind.spec.streams(a);
        out.push({ fold, cycles: kind.spec.cycles(a), lanes: pe * simd * taps, inFold: ports.in[0].fold, outFolds: ports.out.map((o) => o.fold) });
      }
    }
  }
  return out;
}

/** Options per layer, computed once per design: candidates, and their resources on demand (cached). */
export class FoldSpace {
  readonly layers: { layer: Layer; options: Candidate[] }[];
  private readonly cost = new Map<string, Resources>();
  constructor(readonly df: DataflowGraph, readonly family: Family) {
    this.layers = df.layers.map((layer) => ({ layer, options: candidates(layer) }));
  }

  resources(layer: Layer, c: Candidate): Resources {
    return this.layerCost({ ...layer, attrs: { ...layer.attrs, ...c.fold } });
  }

  /** layerResources of a layer of this design (folded or not, or an inserted width converter), cached. */
  layerCost(layer: Layer): Resources {
    const key = `${layer.name}\0${JSON.stringify(layer.attrs)}`;
    let r = this.cost.get(key);
    if (!r) this.cost.set(key, (r = layerResources(layer, this.family)));
    return r;
  }
}

/** How many of the cheapest-lane options meeting the target have their resources weighed (each costs an estimate). */
const WEIGHED = 8;
const DEFAULT_WEIGHING = 'xc7z020';

/**
 * For every layer with a pe attribute: a folding within `target` cycles (or the fastest legal one),
 * chosen as described at the top of this file. With a device, a greedy repair then trades options
 * (among the cheapest-lane ones) until the total fits, if it can.
 */
export function foldingForTarget(df: DataflowGraph, target: number, space?: FoldSpace, device?: Device): Folding {
  const sp = space ?? new FoldSpace(df, device?.family ?? 'xc7');
  // Resources are weighed as fractions of a budget: the device's, else a mid-size part's.
  const budget = (device ?? loadDevice(DEFAULT_WEIGHING)).budget;
  const weighed = weigh(budget);
  const outFold = new Map<string, number>();
  const chosen = new Map<string, { layer: Layer; options: Candidate[]; pick: Candidate }>();
  for (const { layer: l, options } of sp.layers) {
    if (options.length === 0) continue;
    const upstream = outFold.get(l.inputs[0]);
    const meeting = options.filter((c) => c.cycles <= target);
    // Preference among equals: fewer lanes, the producer's beat width (no width converter), more simd.
    const order = (a: Candidate, b: Candidate) => a.lanes - b.lanes || Number(a.inFold !== upstream) - Number(b.inFold !== upstream) || (b.fold.simd ?? 0) - (a.fold.simd ?? 0);
    let pool: Candidate[];
    let pick: Candidate;
    if (meeting.length === 0) {
      pick = [...options].sort((a, b) => a.cycles - b.cycles || order(a, b))[0];
      pool = [pick];
    } else {
      pool = meeting.sort(order).slice(0, WEIGHED);
      const firstChoice = l.kind === 'MVU' ? pool.filter((c) => c.lanes === pool[0].lanes) : pool;
      pick = firstChoice.reduce((b, c) => (weighed(sp.resources(l, c)) < weighed(sp.resources(l, b)) ? c : b));
    }
    chosen.set(l.name, { layer: l, options: pool, pick });
    l.outputs.forEach((o, i) => outFold.set(o, pick.outFolds[i]));
  }
  if (device) repair([...chosen.values()], sp, budget);
  // Pads in front of window generators at whole pixels, as in every default folding (see padsAtFullWidth).
  return padsAtFullWidth(df, Object.fromEntries([...chosen].map(([name, c]) => [name, c.pick.fold])));
}

/** Resources as one number: the sum of their fractions of the budget. */
const weigh = (budget: Resources) => (r: Resources): number => Object.entries(budget).reduce((s, [k, v]) => s + (r[k] ?? 0) / v, 0);

/**
 * Greedy repair: while the summed layer resources exceed the budget, make the single option change
 * that most reduces the excess (Σ over resources of overflow / budget); stop when none helps.
 */
function repair(layers: { layer: Layer; options: Candidate[]; pick: Candidate }[], sp: FoldSpace, budget: Resources): void {
  const total: Resources = {};
  const add = (r: Resources, sign: number) => { for (const k of Object.keys(budget)) total[k] = (total[k] ?? 0) + sign * (r[k] ?? 0); };
  for (const c of layers) add(sp.resources(c.layer, c.pick), 1);
  const excess = (t: Resources) => Object.entries(budget).reduce((s, [k, v]) => s + Math.max(0, (t[k] ?? 0) - v) / v, 0);
  const weighed = weigh(budget);
  for (let step = 0; step < 4 * layers.length && excess(total) > 0; step++) {
    let best: { c: (typeof layers)[number]; to: Candidate; excess: number; weight: number } | undefined;
    for (const c of layers) {
      const now = sp.resources(c.layer, c.pick);
      for (const to of c.options) {
        if (to === c.pick) continue;
        const r = sp.resources(c.layer, to);
        const t = Object.fromEntries(Object.keys(budget).map((k) => [k, (total[k] ?? 0) - (now[k] ?? 0) + (r[k] ?? 0)]));
        const e = excess(t);
        const w = weighed(t);
        if (!best || e < best.excess || (e === best.excess && w < best.weight)) best = { c, to, excess: e, weight: w };
      }
    }
    if (!best || best.excess >= excess(total)) return;
    add(sp.resources(best.c.layer, best.c.pick), -1);
    best.c.pick = best.to;
    add(sp.resources(best.c.layer, best.to), 1);
  }
}

function fits(total: Resources, device: Device): boolean {
  return Object.entries(device.budget).every(([k, v]) => (total[k] ?? 0) <= v);
}

function utilisation(total: Resources, device: Device): Resources {
  return Object.fromEntries(Object.entries(device.budget).map(([k, v]) => [k, (total[k] ?? 0) / v]));
}

export function autoFolding(df: DataflowGraph, opts: AutoFoldOptions): AutoFoldResult {
  const device = loadDevice(opts.device);
  const clockMHz = opts.clockMHz ?? 200;
  if (!(opts.fps > 0)) fail('BadArgument', `--fps must be a positive number, not ${opts.fps}`);
  if (!(clockMHz > 0)) fail('BadArgument', `--clock-mhz must be a positive number, not ${clockMHz}`);
  const fps = (cycles: number) => (clockMHz * 1e6) / cycles;
  const space = new FoldSpace(df, device.family);
  // A probe: the folding for a target, its II and its total on the device's family — what the search
  // needs, from the layer costs cached in `space` (the full estimate, both families, is made once).
  const probe = (target: number) => {
    const folding = foldingForTarget(df, target, space, device);
    const { df: folded, checked } = foldedDataflow(df, { fold: folding });
    const perf = networkPerformance(folded, checked);
    const total = totalResources(folded.layers.map((l) => space.layerCost(l)));
    return { folding, cycles: perf.cyclesPerInference, bottleneck: perf.bottleneck, total, fits: fits(total, device), estimate: () => estimateNetwork(folded, checked) };
  };
  const target = Math.max(1, Math.floor((clockMHz * 1e6) / opts.fps));
  const first = probe(target);
  if (first.cycles <= target && first.fits) {
    const estimate = first.estimate();
    return { folding: first.folding, estimate, device, fps: fps(estimate.cyclesPerInference), utilisation: utilisation(estimate.total[device.family], device) };
  }
  // Not reachable: find the fastest folding that fits (the II at a target is monotone in the target).
  const slowest = probe(Number.MAX_SAFE_INTEGER);
  const where = `${device.part} at ${clockMHz} MHz`;
  if (!slowest.fits) {
    const u = utilisation(slowest.total, device);
    const over = Object.entries(u).filter(([, x]) => x > 1).map(([k, x]) => `${k} ${Math.round(x * 100)} %`).join(', ');
    fail('FoldInfeasible', `cannot reach ${opts.fps} FPS on ${where}: even the most folded design does not fit (${over} of the device)`);
  }
  let lo = target; // does not work (too fast or does not fit)
  let hi = slowest.cycles; // fits
  let best = slowest;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    const d = probe(mid);
    if (d.fits) {
      hi = Math.min(mid, d.cycles);
      best = d;
    } else lo = mid;
  }
  const why = first.fits ? `the fastest legal folding reaches II = ${first.cycles} cycles (bottleneck ${first.bottleneck})` : 'the folding for it does not fit';
  fail('FoldInfeasible', `cannot reach ${opts.fps} FPS on ${where} (${why}); the best that fits is ${Math.floor(fps(best.cycles))} FPS (II = ${best.cycles} cycles)`);
}
