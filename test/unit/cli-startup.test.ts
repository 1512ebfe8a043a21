// `kiln estimate` must start fast (issue 5: "well under a second"): the command's static imports stay
// clear of the heavy packages (loaded on demand by the commands that need them), and bin/kiln.js's
// bundle cache, which skips reading every source on each start, still rebuilds when any source changes.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { thousands } from '../../src/cli/estimate.ts';
import { ROOT } from './cli-helpers.ts';

interface Metafile { inputs: Record<string, { imports: { path: string; kind: string; external?: boolean }[] }> }

/** Files reachable from `entry` through static imports only (esbuild's metafile; dynamic imports are not followed). */
async function staticImports(entry: string): Promise<string[]> {
  const esbuild = createRequire(createRequire(join(ROOT, 'package.json')).resolve('tsx'))('esbuild') as { build(o: object): Promise<{ metafile: Metafile }> };
  const { metafile } = await esbuild.build({ entryPoints: [join(ROOT, entry)], bundle: true, platform: 'node', format: 'esm', write: false, metafile: true, outdir: 'unused', logLevel: 'silent', external: ['onnxruntime-node'] });
  const start = Object.keys(metafile.inputs).find((f) => f.endsWith(entry))!;
  const seen = new Set([start]);
  const queue = [start];
  while (queue.length) {
    for (const i of metafile.inputs[queue.pop()!].imports) {
      if (i.external || i.kind === 'dynamic-import' || seen.has(i.path)) continue;
      seen.add(i.path);
      queue.push(i.path);
    }
  }
  return [...seen];
}

const packageOf = (f: string) => /node_modules\/((@[^/]+\/)?[^/]+)/.exec(f)?.[1];

describe('kiln estimate: startup', () => {
  it('estimate.ts statically imports no package (handlebars, execa, onnx-proto … load on demand)', async () => {
    const files = await staticImports('src/cli/estimate.ts');
    expect(files.some((f) => f.endsWith('src/estimate/network.ts'))).toBe(true); // the walk works
    expect(files.filter(packageOf)).toEqual([]);
    expect(files.filter((f) => /src\/(onnx|sim|synth|hil|bitstream)\//.test(f))).toEqual([]);
  });

  it('main.ts statically imports yargs and no command (each is imported when named)', async () => {
    const files = await staticImports('src/cli/main.ts');
    const packages = new Set(files.map(packageOf).filter((p) => p !== undefined));
    expect(packages.has('yargs')).toBe(true);
    for (const heavy of ['handlebars', 'execa', 'onnx-proto', 'protobufjs']) expect(packages.has(heavy)).toBe(false);
    expect(files.filter((f) => /src\/cli\/(?!main|errors)/.test(f))).toEqual([]);
    expect(files.filter((f) => /src\/(?!cli\/|diag\/)/.test(f))).toEqual([]);
  });

  it("prints inferences/s as toLocaleString('en-US') does", () => {
    for (const n of [0, 7, 999, 1000, 50_000, 111_607, 1_234_567, 12_345_678_901, Number.MAX_SAFE_INTEGER, 1.5, Infinity]) expect(thousands(n)).toBe(n.toLocaleString('en-US'));
  });
});

describe('bin/kiln.js bundle cache', () => {
  // A project of its own: bin/kiln.js, a two-file src/ and tsx (for esbuild) from kiln's node_modules.
  const root = mkdtempSync(join(tmpdir(), 'kiln-bundle-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'bin'));
  mkdirSync(join(root, 'src', 'cli'), { recursive: true });
  mkdirSync(join(root, 'node_modules'));
  copyFileSync(join(ROOT, 'bin', 'kiln.js'), join(root, 'bin', 'kiln.js'));
  writeFileSync(join(root, 'package.json'), '{ "type": "module" }\n');
  symlinkSync(dirname(createRequire(join(ROOT, 'package.json')).resolve('tsx/package.json')), join(root, 'node_modules', 'tsx'));
  writeFileSync(join(root, 'src', 'cli', 'main.ts'), "import { v } from '../lib.ts';\nconsole.log(`${v} ${process.env.KILN_SOURCE_HASH}`);\n");
  const lib = join(root, 'src', 'lib.ts');
  writeFileSync(lib, "export const v: string = 'v1';\n");
  const cache = join(root, 'node_modules', '.cache', 'kiln-cli');

  /** [what the CLI printed, bundle hash] of one run. */
  function run(): [string, string] {
    const r = spawnSync(process.execPath, [join(root, 'bin', 'kiln.js')], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, KILN_NO_BUNDLE: '' } });
    expect(r.stderr).toBe('');
    const [v, hash] = r.stdout.trim().split(' ');
    expect(existsSync(join(cache, hash, 'main.mjs'))).toBe(true); // ran from the bundle, not tsx
    return [v, hash];
  }
  const stamps = () => readdirSync(cache).filter((f) => /^stamp-[0-9a-f]+$/.test(f));

  it('rebuilds when a source changes (same size, mtime set back), is added or removed; reuses a bundle otherwise', { timeout: 120_000 }, () => {
    const [v1, h1] = run();
    expect(v1).toBe('v1');
    expect(run()).toEqual(['v1', h1]);
    const { mtime } = statSync(lib);
    writeFileSync(lib, "export const v: string = 'v2';\n");
    utimesSync(lib, mtime, mtime);
    const [v2, h2] = run();
    expect(v2).toBe('v2');
    expect(h2).not.toBe(h1);
    writeFileSync(lib, "export const v: string = 'v1';\n");
    expect(run()).toEqual(['v1', h1]); // the first bundle again
    writeFileSync(join(root, 'src', 'notes.md'), 'not imported, still part of the hash\n');
    const [, h3] = run();
    expect([h1, h2]).not.toContain(h3);
    rmSync(join(root, 'src', 'notes.md'));
    expect(run()).toEqual(['v1', h1]);
  });

  it('remembers the hash in a stamp once the files are settled, and the stamp still sees a change', { timeout: 120_000 }, async () => {
    await new Promise((r) => setTimeout(r, 2100)); // files changed in the last 2 s are hashed, not stamped
    const [, h1] = run();
    expect(stamps().length).toBeGreaterThan(0);
    expect(run()).toEqual(['v1', h1]);
    const { mtime } = statSync(lib);
    writeFileSync(lib, "export const v: string = 'v3';\n");
    utimesSync(lib, mtime, mtime); // same size and mtime: only ctime (and the content) differ
    const [v3, h3] = run();
    expect(v3).toBe('v3');
    expect(h3).not.toBe(h1);
  });
});
