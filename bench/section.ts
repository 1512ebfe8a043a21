// What a bench section is and how it times (bench/run.ts runs the sections; each section file imports
// this, not run.ts, so the sections and the runner do not import each other).

export interface BenchSection {
  name: string;
  run(ctx: BenchContext): Promise<void>;
}

export interface BenchContext {
  /** The shared model collection (../shared), or undefined when absent. */
  shared?: string;
  /** Timed repetitions per measurement (median reported). */
  repeats: number;
  log(line: string): void;
}

/** Runs slower than this are timed once (the first run): repeating them only costs minutes. */
const SLOW_MS = 3000;

/** Median wall time of fn over n runs, in ms (after an untimed warm-up run, unless it is slow). */
export async function medianMs(n: number, fn: () => unknown): Promise<number> {
  const t = performance.now();
  await fn();
  const first = performance.now() - t;
  if (first > SLOW_MS) return first;
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}
