// Speed under a device budget: the fastest folding of a design whose estimate fits a device (the
// auto-folder's per-target folding with its budget repair, src/dataflow/fold-auto.ts, searched over the
// target II as `kiln compile --fold auto` does when the FPS asked for is out of reach), so that
// Sr = II of the uncompressed design / II of the compressed one compares designs of the same cost
// class, not of the same folding. Sparse MVU mode is used wherever it saves cycles.
import type { DataflowGraph } from '../ir/dataflow.ts';
import { markSparse } from '../dataflow/sparse.ts';
import { FoldSpace, foldingForTarget, loadDevice, type Device } from '../dataflow/fold-auto.ts';
import { foldedDataflow } from '../dataflow/pipeline.ts';
import { estimateNetwork, type NetworkEstimate } from '../estimate/network.ts';

export const BUDGET_DEVICE = 'xc7z020';

export interface BudgetResult {
  device: string;
  /** II of the fastest folding that fits, or undefined when even the most folded design does not fit. */
  cycles?: number;
  /** What exceeds the device when nothing fits (e.g. 'bram18 135 %'). */
  over?: string;
}

function fits(e: NetworkEstimate, device: Device): boolean {
  const total = e.total[device.family];
  return Object.entries(device.budget).every(([k, v]) => (total[k] ?? 0) <= v);
}

/** The fastest design of `df` that fits `part` (binary search over the auto-folder's target II). */
export function fastestThatFits(df: DataflowGraph, part = BUDGET_DEVICE): BudgetResult {
  const device = loadDevice(part);
  const marked = markSparse(df);
  const space = new FoldSpace(marked, device.family); // candidates and their resources, once
  const build = (target: number) => {
    const { df: folded, checked } = foldedDataflow(marked, { fold: foldingForTarget(marked, target, space, device), sparse: true });
    return estimateNetwork(folded, checked);
  };
  // The folding for a target only changes where some layer's option reaches it, so searching the
  // options' cycle counts (sorted) finds the same fastest fit as searching every integer target.
  const targets = [...new Set(space.layers.flatMap((l) => l.options.map((o) => o.cycles)))].sort((x, y) => x - y);
  const slowest = build(Number.MAX_SAFE_INTEGER);
  if (!fits(slowest, device)) {
    const total = slowest.total[device.family];
    const over = Object.entries(device.budget).filter(([k, v]) => (total[k] ?? 0) > v).map(([k, v]) => `${k} ${Math.round((100 * (total[k] ?? 0)) / v)} %`).join(', ');
    return { device: part, over };
  }
  // targets[hi] fits (or hi = length: the slowest); targets[lo] does not (or lo = -1).
  let lo = -1;
  let hi = targets.length;
  let best = slowest.cyclesPerInference;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    const e = build(targets[mid]);
    if (fits(e, device)) {
      hi = mid;
      best = e.cyclesPerInference;
    } else lo = mid;
  }
  return { device: part, cycles: best };
}
