#!/usr/bin/env node
// `make build` / `npm run build` (run by `npm pack` through prepack): compiles src/ to dist/ as plain
// ESM with .d.ts declarations (tsc, tsconfig.build.json), copies the JSON data files tsc does not emit
// (the device budgets), and writes dist/build-id: the content hash of src/, which the installed CLI uses
// as kiln's version for caches of derived data (KILN_SOURCE_HASH; the clone's bin/kiln.js computes the
// same hash itself). The clone needs no build: bin/kiln.js runs src/ directly.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');
const dist = join(root, 'dist');

rmSync(dist, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit', cwd: root });

const files = readdirSync(src, { recursive: true, withFileTypes: true })
  .filter((e) => e.isFile())
  .map((e) => join(e.parentPath ?? e.path, e.name))
  .sort();
for (const f of files.filter((p) => p.endsWith('.json'))) {
  const to = join(dist, relative(src, f));
  if (!existsSync(to)) {
    mkdirSync(dirname(to), { recursive: true });
    copyFileSync(f, to);
  }
}
const h = createHash('sha256');
for (const p of files) h.update(relative(root, p)).update('\0').update(readFileSync(p)).update('\0');
writeFileSync(join(dist, 'build-id'), `${h.digest('hex').slice(0, 20)}\n`);
