// kiln cache [list] | kiln cache clean [--only verilator,synth,lowered]: the size of kiln's caches
// against their budgets (src/util/lru.ts), and emptying them.
import { rmSync } from 'node:fs';
import type { CommandModule } from 'yargs';
import { fail } from '../diag/index.ts';
import { cacheRoot } from '../util/cache-root.ts';
import { CACHES, cacheBudget, cacheDirOf, cacheEntries, type CacheName } from '../util/lru.ts';
import { table } from './table.ts';

interface CacheArgs { action: string; only?: string }

const mb = (bytes: number) => (bytes === Infinity ? 'unbounded' : `${(bytes / 1024 / 1024).toFixed(1)} MB`);

function selected(only: string | undefined): CacheName[] {
  const all = Object.keys(CACHES) as CacheName[];
  if (only === undefined) return all;
  const names = only.split(',').map((s) => s.trim()).filter(Boolean);
  for (const n of names) if (!all.includes(n as CacheName)) fail('BadArgument', `--only takes ${all.join(', ')}, not '${n}'`);
  return names as CacheName[];
}

export const cacheCommand: CommandModule<object, CacheArgs> = {
  command: 'cache [action]',
  describe: "Show kiln's caches (Verilator builds, synthesis, lowered models) or empty them (clean)",
  builder: (y) => y
    .positional('action', { type: 'string', default: 'list', choices: ['list', 'clean'], describe: 'list sizes, or clean (remove the entries)' })
    .option('only', { type: 'string', describe: 'comma-separated subset: verilator, synth, lowered' }),
  handler: (args) => {
    const names = selected(args.only);
    const rows = names.map((n) => {
      const entries = cacheEntries(cacheDirOf(n));
      const bytes = entries.reduce((s, e) => s + e.bytes, 0);
      if (args.action === 'clean') rmSync(cacheDirOf(n), { recursive: true, force: true });
      return [n, CACHES[n].what, String(entries.length), mb(bytes), mb(cacheBudget(n))];
    });
    process.stdout.write(`${table([['cache', 'holds', 'entries', 'size', 'budget'], ...rows]).join('\n')}\n`);
    process.stdout.write(args.action === 'clean' ? `removed the caches above from ${cacheRoot()}\n` : `in ${cacheRoot()} (budgets: KILN_CACHE_<NAME>_MB; least recently used entries go first)\n`);
  },
};
