// Caches bounded by size (src/util/lru.ts): least recently used entries go first, the entry just
// written stays, a hit (touch) makes an entry the newest; `kiln cache clean` empties the caches.
import { existsSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cacheBudget, cacheEntries, pruneDir, touch } from '../../src/util/lru.ts';
import { kiln, tempDir } from './cli-helpers.ts';

/** Entry `name` of `kb` KiB (a directory with one file, like a Verilator build), used `age` s ago. */
function entry(dir: string, name: string, kb: number, age: number): void {
  mkdirSync(join(dir, name), { recursive: true });
  writeFileSync(join(dir, name, 'tb'), Buffer.alloc(kb * 1024, 1));
  const t = new Date(Date.now() - age * 1000);
  utimesSync(join(dir, name), t, t);
}

describe('LRU cache bounds', () => {
  it('removes the least recently used entries until the cache fits, keeping the new one', () => {
    const dir = tempDir();
    entry(dir, 'a', 64, 40);
    entry(dir, 'b', 64, 30);
    entry(dir, 'c', 64, 20);
    entry(dir, 'new', 256, 0);
    entry(dir, 'x.tmp-123', 64, 50); // a build in progress: not an entry
    touch(join(dir, 'a')); // a cache hit: 'a' is now the most recent
    expect(cacheEntries(dir).map((e) => e.name)).toEqual(['a', 'new', 'c', 'b']);
    // Budget: 'new' (256 KiB + dir) and one 64 KiB entry.
    const removed = pruneDir(dir, 340 * 1024, 'new');
    expect(removed).toEqual(['b', 'c']);
    expect(readdirSync(dir).sort()).toEqual(['a', 'new', 'x.tmp-123']);
    // Over budget on its own: the kept entry stays, everything else goes.
    expect(pruneDir(dir, 1024, 'new')).toEqual(['a']);
    expect(existsSync(join(dir, 'new', 'tb'))).toBe(true);
  });

  it('reads budgets from KILN_CACHE_<NAME>_MB (0 = unbounded)', () => {
    const old = process.env.KILN_CACHE_SYNTH_MB;
    try {
      process.env.KILN_CACHE_SYNTH_MB = '3';
      expect(cacheBudget('synth')).toBe(3 * 1024 * 1024);
      process.env.KILN_CACHE_SYNTH_MB = '0';
      expect(cacheBudget('synth')).toBe(Infinity);
      delete process.env.KILN_CACHE_SYNTH_MB;
      expect(cacheBudget('synth')).toBe(512 * 1024 * 1024);
    } finally {
      if (old === undefined) delete process.env.KILN_CACHE_SYNTH_MB;
      else process.env.KILN_CACHE_SYNTH_MB = old;
    }
  });

  it('kiln cache lists and kiln cache clean empties the caches', () => {
    const root = tempDir();
    entry(join(root, 'verilator'), 'k1', 16, 0);
    mkdirSync(join(root, 'synth'));
    writeFileSync(join(root, 'synth', 'k.json'), '{}');
    const env = { KILN_CACHE: root };
    const list = kiln(['cache'], undefined, { env });
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/verilator +Verilator simulator builds +1 /);
    expect(list.stdout).toMatch(/synth +Yosys synthesis results +1 /);
    const partial = kiln(['cache', 'clean', '--only', 'synth'], undefined, { env });
    expect(partial.code).toBe(0);
    expect(existsSync(join(root, 'synth'))).toBe(false);
    expect(existsSync(join(root, 'verilator', 'k1'))).toBe(true);
    expect(kiln(['cache', 'clean'], undefined, { env }).code).toBe(0);
    expect(existsSync(join(root, 'verilator'))).toBe(false);
    const bad = kiln(['cache', 'clean', '--only', 'disk'], undefined, { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^KLN1014 --only takes verilator, synth, lowered, not 'disk'/);
  });
});
