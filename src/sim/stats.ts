// The cycle statistics of a simulation run: their own module, so shard merging (shard.ts) and the
// harness (simulate.ts) share the type without importing each other.
export interface SimStats {
  inferences: number;
  /** Cycles the run took (from the first cycle after reset). */
  cycles: number;
  /** Cycles from the first input beat accepted to the first output beat. */
  firstOutputLatency: number;
  /** Cycle each inference's last output beat left. */
  completion: number[];
  /** Differences of consecutive completion times (inferences 2..N). */
  intervals: number[];
  /** Steady-state cycles per inference: mean of `intervals` (NaN with fewer than 2 inferences). */
  cyclesPerInference: number;
}
