// Size bounds for kiln's caches (<cache>/verilator, <cache>/synth, <cache>/lowered): each entry (a file
// or a directory directly under the cache's directory) has its modification time set when it is used
// (touch), and after a cache grows (prune) the least recently used entries go until the whole fits its
// budget. The entry just written always stays. Budgets in MB: KILN_CACHE_<NAME>_MB (0 = unbounded).
// No dependencies: `kiln estimate` loads it.
import { lstatSync, readdirSync, rmSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { cacheRoot } from './cache-root.ts';

/** The bounded caches, their directory under the cache root and their default budget (MB). */
export const CACHES = {
  verilator: { dir: 'verilator', defaultMB: 2048, what: 'Verilator simulator builds' },
  synth: { dir: 'synth', defaultMB: 512, what: 'Yosys synthesis results' },
  lowered: { dir: 'lowered', defaultMB: 256, what: "kiln estimate's lowered models" },
} as const;

export type CacheName = keyof typeof CACHES;

/** Directory of a cache. */
export function cacheDirOf(name: CacheName): string {
  return join(cacheRoot(), CACHES[name].dir);
}

/** Budget of a cache in bytes (Infinity when KILN_CACHE_<NAME>_MB is 0). */
export function cacheBudget(name: CacheName): number {
  const env = process.env[`KILN_CACHE_${name.toUpperCase()}_MB`];
  const mb = env !== undefined && env !== '' && Number.isFinite(Number(env)) && Number(env) >= 0 ? Number(env) : CACHES[name].defaultMB;
  return mb === 0 ? Infinity : mb * 1024 * 1024;
}

/** Bytes held by a file or directory (allocated blocks, as du counts them; 0 when it vanished). */
export function diskBytes(path: string): number {
  let s;
  try {
    s = lstatSync(path);
  } catch {
    return 0;
  }
  if (!s.isDirectory()) return s.blocks * 512;
  let n = s.blocks * 512;
  let names: string[] = [];
  try {
    names = readdirSync(path);
  } catch {
    // removed meanwhile
  }
  for (const f of names) n += diskBytes(join(path, f));
  return n;
}

/** Marks an entry as just used (a cache hit). A read-only cache only loses its order. */
export function touch(path: string): void {
  const now = new Date();
  try {
    utimesSync(path, now, now);
  } catch {
    // read-only or removed: nothing to mark
  }
}

export interface CacheEntry { name: string; bytes: number; used: number }

/** The entries of a cache directory, most recently used first (temp entries of running builds left out). */
export function cacheEntries(dir: string): CacheEntry[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const out: CacheEntry[] = [];
  for (const name of names) {
    if (/\.tmp/.test(name)) continue; // a build or write in progress (renamed into place when done)
    try {
      out.push({ name, bytes: diskBytes(join(dir, name)), used: lstatSync(join(dir, name)).mtimeMs });
    } catch {
      // removed meanwhile
    }
  }
  return out.sort((a, b) => b.used - a.used || (a.name < b.name ? -1 : 1));
}

/**
 * Removes the least recently used entries of a cache until it fits `budget` bytes; `keep` (an entry
 * name) stays whatever its size. Returns the names removed.
 */
export function pruneDir(dir: string, budget: number, keep?: string): string[] {
  if (budget === Infinity) return [];
  const entries = cacheEntries(dir);
  let total = entries.reduce((s, e) => s + e.bytes, 0);
  const removed: string[] = [];
  for (let i = entries.length - 1; i >= 0 && total > budget; i--) {
    const e = entries[i];
    if (e.name === keep) continue;
    try {
      rmSync(join(dir, e.name), { recursive: true, force: true });
      total -= e.bytes;
      removed.push(e.name);
    } catch {
      // in use elsewhere or read-only: left
    }
  }
  return removed;
}

/** pruneDir of a named cache with its budget. Never throws (a cache problem only costs speed). */
export function prune(name: CacheName, keep?: string): string[] {
  try {
    return pruneDir(cacheDirOf(name), cacheBudget(name), keep);
  } catch {
    return [];
  }
}
