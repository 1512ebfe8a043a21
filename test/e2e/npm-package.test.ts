// The npm package as a user gets it (issue 17): `npm pack` (prepack builds dist/), the tarball installed
// with --omit=dev into an empty folder (offline: from the tarball and the npm cache `npm ci` filled), no
// tsx / typescript / esbuild in its node_modules, `npx kiln demo` there with 0 mismatches, the API
// imported by name, its .d.ts type-checking a TypeScript consumer, and examples/api.mjs run from the
// installed package. Verilator builds go to kiln's own cache (KILN_CACHE): the demo and the example
// compile the same design, so one build serves both.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, tempDir } from '../unit/cli-helpers.ts';

const API = ['importModel', 'lower', 'fold', 'compile', 'simulate', 'estimate', 'synth', 'compress'];
const env = { ...process.env, KILN_CACHE: process.env.KILN_CACHE ?? join(ROOT, '.cache'), npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };

// Generous: on a loaded 2-core machine (load ~30) `npm pack` alone took more than 120 s.
function run(cmd: string, args: string[], cwd: string, timeout = 600_000): string {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

interface LockEntry { version?: string; resolved?: string; integrity?: string; dev?: boolean; dependencies?: Record<string, string>; [k: string]: unknown }

/** A lockfile for an app depending on kiln's tarball: kiln's lockfile without the dev-only packages. */
function appLock(tarball: string): object {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as LockEntry & { name: string; bin: unknown; engines: unknown };
  const integrity = `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`;
  const packages: Record<string, LockEntry> = {
    '': { name: 'app', dependencies: { kiln: `file:${basename(tarball)}` } },
    'node_modules/kiln': { version: pkg.version, resolved: `file:${basename(tarball)}`, integrity, license: pkg.license, dependencies: pkg.dependencies, bin: pkg.bin, engines: pkg.engines },
  };
  for (const [path, e] of Object.entries(lock.packages)) if (path !== '' && !e.dev) packages[path] = e;
  return { name: 'app', lockfileVersion: 3, requires: true, packages };
}

describe('npm package', () => {
  it('packs, installs with --omit=dev offline, runs kiln demo and the API', () => {
    const tmp = tempDir();
    const packed = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', tmp], ROOT)) as { filename: string; files: { path: string }[] }[];
    const paths = packed[0].files.map((f) => f.path);
    expect(paths).toContain('dist/api/index.js');
    expect(paths).toContain('dist/api/index.d.ts');
    expect(paths).toContain('dist/estimate/devices/xc7z020.json');
    expect(paths).toContain('sim/tb_main.cpp');
    expect(paths).toContain('templates/top.v.hbs');
    expect(paths.some((p) => p.startsWith('src/') || p.startsWith('test/'))).toBe(false);

    const app = join(tmp, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    // Offline, npm cannot resolve versions (no package metadata in its cache, only the tarballs `npm ci`
    // fetched): the app gets a lockfile naming the tarball and kiln's run-time packages as kiln's own
    // lockfile pins them; npm then takes every package from the cache by its integrity.
    writeFileSync(join(app, 'package-lock.json'), JSON.stringify(appLock(join(tmp, packed[0].filename)), null, 2));
    run('npm', ['install', '--omit=dev', '--offline', join(tmp, packed[0].filename)], app);
    const installed = readdirSync(join(app, 'node_modules'));
    expect(installed).toContain('kiln');
    for (const dev of ['tsx', 'typescript', 'esbuild', 'vitest', 'onnxruntime-node']) expect(installed).not.toContain(dev);
    expect(existsSync(join(app, 'node_modules', 'kiln', 'src'))).toBe(false);

    const demo = run('npx', ['--no-install', 'kiln', 'demo', '-o', 'out/demo'], app);
    expect(demo).toMatch(/mismatches vs integer reference: 0 of 1000 output values/);
    expect(demo).toMatch(/accuracy: +91\.00 %/);

    const names = run(process.execPath, ['--input-type=module', '-e', "const k = await import('kiln'); console.log(JSON.stringify(Object.keys(k).filter((n) => typeof k[n] === 'function')))"], app);
    expect(JSON.parse(names)).toEqual(expect.arrayContaining(API));

    // The declarations type-check a consumer (kiln's own tsc, the app has none).
    writeFileSync(join(app, 'use.ts'), [
      "import { compile, estimate, fold, importModel, lower, type Estimate } from 'kiln';",
      "const df = lower(importModel('m.onnx'));",
      'const e: Promise<Estimate> = estimate(df, { folding: fold(df).folding });',
      "const files: number = compile(df, 'out', { force: true }).files.size;",
      'export { e, files };',
    ].join('\n'));
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, skipLibCheck: true, types: [] }, files: ['use.ts'] }));
    const tsc = createRequire(join(ROOT, 'package.json')).resolve('typescript/bin/tsc');
    execFileSync(process.execPath, [tsc, '-p', app], { cwd: app, env, encoding: 'utf8' });

    const example = run(process.execPath, [join(app, 'node_modules', 'kiln', 'examples', 'api.mjs'), 'out/api'], app);
    expect(example).toMatch(/simulated: 100 inferences, 0 mismatches, 784 cycles\/inference/);
    rmSync(tmp, { recursive: true, force: true });
  }, 1_200_000);
});
