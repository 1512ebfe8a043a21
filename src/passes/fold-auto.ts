// Auto-folding (`--fold auto --fps N --device <part> [--clock-mhz F]`): the folding that reaches N
// inferences/s with the fewest resources on a device, or a KLN2003 error stating the best FPS that fits.
//
// Target II T = floor(clock / fps). Every layer independently gets the fewest lanes (pe·simd) whose
// cycle model stays within T — the cheapest choice, since a layer's area grows with its lanes and
// running faster than the slowest layer buys nothing (FINN's SetFolding makes the same argument).
// Ties prefer the producer's beat width (no width converter), then more SIMD (fewer accumulators).
// The folded design's estimate (src/estimate) is then checked against the device budget; if it does
// not fit, a binary search over T finds the fastest folding that does, for the error message.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fail } from '../diag/index.ts';
import type { DataflowGraph } from '../ir/dataflow.ts';
import { layerKind } from '../layers/index.ts';
import { foldedDataflow } from '../codegen/index.ts';
import { estimateNetwork, type NetworkEstimate } from '../estimate/network.ts';
import type { Family, Resources } from '../synth/yosys.ts';
import type { Folding } from './fold.ts';

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

const lexLess = (a: number[], b: number[]): boolean => {
  const i = a.findIndex((x, j) => x !== b[j]);
  return i >= 0 && a[i] < b[i];
};
const divisors = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1).filter((d) => n % d === 0);

/** For every layer with a pe attribute: the fewest lanes meeting `target` cycles (or the fastest legal). */
export function foldingForTarget(df: DataflowGraph, target: number): Folding {
  const folding: Folding = {};
  const outFold = new Map<string, number>();
  for (const l of df.layers) {
    const kind = layerKind(l.kind, l.name);
    if (!('pe' in kind.schema)) continue;
    const parsed = kind.parse({ ...l, attrs: { ...l.attrs, pe: 1, ...('simd' in kind.schema ? { simd: 1 } : {}) } }) as Record<string, unknown>;
    const ints = Object.values(parsed).filter((v): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0);
    const isMvu = 'simd' in kind.schema;
    const pes = isMvu ? divisors(parsed.rows as number) : [...new Set(ints.flatMap(divisors))].sort((a, b) => a - b);
    const simds = isMvu ? divisors(parsed.cols as number) : [1];
    const upstream = outFold.get(l.inputs[0]);
    let best: { pe: number; simd: number; cycles: number; score: number[] } | undefined;
    for (const pe of pes) {
      for (const simd of simds) {
        const a = { ...parsed, pe, ...(isMvu ? { simd } : {}) };
        if (kind.spec.checkFolding(a as never)) continue;
        const cycles = kind.spec.cycles(a as never);
        const inFold = kind.spec.streams(a as never).in[0].fold;
        // Lexicographic: meets target, fewest lanes (or fewest cycles if none meets), matches upstream, more simd.
        const meets = cycles <= target;
        const score = [meets ? 0 : 1, meets ? pe * simd : cycles, inFold === upstream ? 0 : 1, -simd];
        if (!best || lexLess(score, best.score)) {
          best = { pe, simd, cycles, score };
        }
      }
    }
    if (!best) continue; // no legal folding other than what lowering chose
    folding[l.name] = isMvu ? { pe: best.pe, simd: best.simd } : { pe: best.pe };
    const a = { ...parsed, pe: best.pe, ...(isMvu ? { simd: best.simd } : {}) };
    kind.spec.streams(a as never).out.forEach((p, i) => outFold.set(l.outputs[i], p.fold));
  }
  return folding;
}

function budgetKey(device: Device): 'xc7' | 'ice40' {
  return device.family;
}

function fits(e: NetworkEstimate, device: Device): boolean {
  const total = e.total[budgetKey(device)];
  return Object.entries(device.budget).every(([k, v]) => (total[k] ?? 0) <= v);
}

function utilisation(e: NetworkEstimate, device: Device): Resources {
  const total = e.total[budgetKey(device)];
  return Object.fromEntries(Object.entries(device.budget).map(([k, v]) => [k, (total[k] ?? 0) / v]));
}

export function autoFolding(df: DataflowGraph, opts: AutoFoldOptions): AutoFoldResult {
  const device = loadDevice(opts.device);
  const clockMHz = opts.clockMHz ?? 200;
  if (!(opts.fps > 0)) fail('BadArgument', `--fps must be a positive number, not ${opts.fps}`);
  if (!(clockMHz > 0)) fail('BadArgument', `--clock-mhz must be a positive number, not ${clockMHz}`);
  const fpsOf = (e: NetworkEstimate) => (clockMHz * 1e6) / e.cyclesPerInference;
  const build = (target: number) => {
    const folding = foldingForTarget(df, target);
    const { df: folded, checked } = foldedDataflow(df, { fold: folding });
    return { folding, estimate: estimateNetwork(folded, checked) };
  };
  const target = Math.max(1, Math.floor((clockMHz * 1e6) / opts.fps));
  const first = build(target);
  if (first.estimate.cyclesPerInference <= target && fits(first.estimate, device)) {
    return { ...first, device, fps: fpsOf(first.estimate), utilisation: utilisation(first.estimate, device) };
  }
  // Not reachable: find the fastest folding that fits (the II at a target is monotone in the target).
  const slowest = build(Number.MAX_SAFE_INTEGER);
  const where = `${device.part} at ${clockMHz} MHz`;
  if (!fits(slowest.estimate, device)) {
    const u = utilisation(slowest.estimate, device);
    const over = Object.entries(u).filter(([, x]) => x > 1).map(([k, x]) => `${k} ${Math.round(x * 100)} %`).join(', ');
    fail('FoldInfeasible', `cannot reach ${opts.fps} FPS on ${where}: even the most folded design does not fit (${over} of the device)`);
  }
  let lo = target; // does not work (too fast or does not fit)
  let hi = slowest.estimate.cyclesPerInference; // fits
  let best = slowest;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    const d = build(mid);
    if (fits(d.estimate, device)) {
      hi = Math.min(mid, d.estimate.cyclesPerInference);
      best = d;
    } else lo = mid;
  }
  const why = fits(first.estimate, device) ? `the fastest legal folding reaches II = ${first.estimate.cyclesPerInference} cycles (bottleneck ${first.estimate.bottleneck})` : 'the folding for it does not fit';
  fail('FoldInfeasible', `cannot reach ${opts.fps} FPS on ${where} (${why}); the best that fits is ${Math.floor(fpsOf(best.estimate))} FPS (II = ${best.estimate.cyclesPerInference} cycles)`);
}
