// kiln's cache root ($KILN_CACHE, else `.cache/` at the kiln checkout): Verilator builds, synth results,
// `kiln estimate`'s lowered models. Its own module, without dependencies, so `kiln estimate` reaches it
// without loading the simulator's (execa).
import { join, resolve } from 'node:path';
import { kilnRoot } from '../tools/root.ts';

export function cacheRoot(): string {
  return resolve(process.env.KILN_CACHE || join(kilnRoot, '.cache'));
}
