#!/usr/bin/env node
// Entry point: `npx kiln` works right after `npm ci`, no build step.
//
// Starting through tsx's loader hooks costs about a second (every module is resolved and
// transformed through a hook thread), too much for `kiln estimate`. So the CLI is bundled once
// with esbuild (the transformer tsx itself uses) into node_modules/.cache/kiln-cli/<hash>.mjs, and later
// runs import that plain ESM file. Any change under src/ changes the hash, so the cache is never
// stale. The packages are bundled too (loading yargs, execa, protobufjs … file by file costs another
// ~0.3 s), except onnxruntime-node (native); every module keeps its own import.meta.url / __dirname,
// so files found relative to a module (devices/, hw/, templates/, yargs' locales) still are.
// If bundling is impossible (no esbuild, read-only checkout) or KILN_NO_BUNDLE=1, tsx runs the
// sources directly, as before.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');
const entry = join(src, 'cli', 'main.ts');
// Under node_modules/ (the usual place for tool caches): packages resolve from there as from src/,
// and Node treats the bundled packages' own deprecated calls as theirs (no warnings on stderr).
const cacheDir = join(root, 'node_modules', '.cache', 'kiln-cli');
const KEEP = 4; // bundles kept (one per recently used source state)

/** Content hash of everything the bundle is made of: src/ (JSON imports included) and this file. */
function sourceHash() {
  const h = createHash('sha256');
  h.update(readFileSync(fileURLToPath(import.meta.url)));
  const files = readdirSync(src, { recursive: true }).map(String).sort();
  for (const f of files) {
    const p = join(src, f);
    if (!statSync(p).isFile()) continue;
    h.update(f).update('\0').update(readFileSync(p)).update('\0');
  }
  return h.digest('hex').slice(0, 20);
}

/** Bundles src/cli/main.ts to `out` (written to a temp name first: concurrent runs may race). */
async function bundle(out) {
  // tsx depends on esbuild; resolve it from tsx so a non-hoisted install works too.
  const esbuild = createRequire(createRequire(import.meta.url).resolve('tsx'))('esbuild');
  const meta = /\bimport\.meta\.(url|dirname|filename)\b/g;
  const tmp = `${out}.${process.pid}.tmp`;
  await esbuild.build({
    entryPoints: [entry],
    outfile: tmp,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['onnxruntime-node'], // native addon, loaded on demand
    // CommonJS packages inside an ESM bundle still call require() for Node's built-ins.
    banner: { js: "import { createRequire as __kilnRequire } from 'node:module'; const require = __kilnRequire(import.meta.url);" },
    sourcemap: 'linked',
    sourcesContent: false,
    logLevel: process.env.KILN_BUNDLE_LOG ?? 'silent',
    plugins: [{
      name: 'kiln-module-paths',
      setup(b) {
        // Each module keeps its own location (the bundle lives elsewhere): import.meta.* in ESM
        // sources, __dirname/__filename in CommonJS ones (yargs finds its locales, and so on).
        b.onLoad({ filter: /\.(ts|js|mjs|cjs)$/ }, ({ path }) => {
          let text = readFileSync(path, 'utf8').replace(meta, (_, k) =>
            JSON.stringify(k === 'url' ? pathToFileURL(path).href : k === 'dirname' ? dirname(path) : path));
          if (/\.c?js$/.test(path) && /\b__(dirname|filename)\b/.test(text) && !/\b(const|let|var)\s+__(dirname|filename)\b/.test(text)) text = `var __dirname = ${JSON.stringify(dirname(path))}, __filename = ${JSON.stringify(path)};\n${text}`;
          return { contents: text, loader: path.endsWith('.ts') ? 'ts' : 'js' };
        });
      },
    }],
  });
  renameSync(`${tmp}.map`, `${out}.map`);
  // The map is named in the bundle's last line; point it at the final name.
  writeFileSync(tmp, readFileSync(tmp, 'utf8').replace(/\/\/# sourceMappingURL=.*\s*$/, `//# sourceMappingURL=${out.split('/').pop()}.map\n`));
  renameSync(tmp, out);
}

/** Removes all but the KEEP most recently written bundles. */
function prune() {
  const bundles = readdirSync(cacheDir).filter((f) => f.endsWith('.mjs')).map((f) => ({ f, t: statSync(join(cacheDir, f)).mtimeMs }));
  for (const { f } of bundles.sort((a, b) => b.t - a.t).slice(KEEP)) {
    rmSync(join(cacheDir, f), { force: true });
    rmSync(join(cacheDir, `${f}.map`), { force: true });
  }
}

async function bundled() {
  if (process.env.KILN_NO_BUNDLE === '1') return undefined;
  try {
    const out = join(cacheDir, `main-${sourceHash()}.mjs`);
    if (!existsSync(out)) {
      mkdirSync(cacheDir, { recursive: true });
      await bundle(out);
      prune();
    }
    return out;
  } catch {
    return undefined;
  }
}

const out = await bundled();
// (Stack traces point into the bundle; `node --enable-source-maps` maps them back to src/ — not on by
// default, as Node would then parse the maps of every module at startup.)
if (out && existsSync(out)) {
  // The same hash names kiln's version for caches of derived data (kiln estimate's lowered models).
  process.env.KILN_SOURCE_HASH = out.replace(/^.*main-|\.mjs$/g, '');
  await import(pathToFileURL(out).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
