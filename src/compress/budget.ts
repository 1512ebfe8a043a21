// Speed under a device budget: the fastest folding of a design whose estimate fits a device (the
// auto-folder's per-target folding, src/passes/fold-auto.ts, searched over the target II), so that
// Sr = II of the uncompressed design / II of the compressed one compares designs of the same cost
// class, not of the same folding. Sparse MVU mode is used wherever it saves cycles.
import type { DataflowGraph } from '../ir/dataflow.ts';
import { markSparse } from '../layers/mvu.ts';
import { foldingForTarget, loadDevice, type Device } from '../passes/fold-auto.ts';
import { foldedDataflow } from '../codegen/index.ts';
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
  const build = (target: number) => {
    const { df: folded, checked } = foldedDataflow(marked, { fold: foldingForTarget(marked, target), sparse: true });
    return estimateNetwork(folded, checked);
  };
  const fastest = build(1);
  if (fits(fastest, device)) return { device: part, cycles: fastest.cyclesPerInference };
  const slowest = build(Number.MAX_SAFE_INTEGER);
  if (!fits(slowest, device)) {
    const total = slowest.total[device.family];
    const over = Object.entries(device.budget).filter(([k, v]) => (total[k] ?? 0) > v).map(([k, v]) => `${k} ${Math.round((100 * (total[k] ?? 0)) / v)} %`).join(', ');
    return { device: part, over };
  }
  // The II at a target is monotone in the target; lo does not fit, hi fits.
  let lo = 1;
  let hi = slowest.cyclesPerInference;
  let best = slowest.cyclesPerInference;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    const e = build(mid);
    if (fits(e, device)) {
      hi = Math.min(mid, e.cyclesPerInference);
      best = Math.min(best, e.cyclesPerInference);
    } else lo = mid;
  }
  return { device: part, cycles: best };
}
