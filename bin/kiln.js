#!/usr/bin/env node
// Entry point: `npx kiln` works right after `npm ci`, no build step. Installed from the npm package
// (no src/ beside dist/), it runs the built dist/cli/main.js directly.
//
// Starting through tsx's loader hooks costs about a second (every module is resolved and
// transformed through a hook thread), too much for `kiln estimate`. So the CLI is bundled once
// with esbuild (the transformer tsx itself uses) into node_modules/.cache/kiln-cli/<hash>/, and later
// runs import that plain ESM. The bundle is split at the dynamic imports (each command is one, see
// src/cli/main.ts): a command loads only its own chunks, so `kiln estimate` parses neither codegen's
// templates nor the simulator's process handling. <hash> is the content hash of src/ and this file,
// so the cache is never stale; to skip reading every source on each start, a stamp of the files' sizes,
// times and inodes (stat only) remembers the hash it was computed for (see sourceHash). The packages
// are bundled too (loading yargs, execa, protobufjs … file by file costs another ~0.3 s), except
// onnxruntime-node (native); every module keeps its own import.meta.url / __dirname, so files found
// relative to a module (devices/, hw/, templates/, yargs' locales) still are.
// If bundling is impossible (no esbuild, read-only checkout) or KILN_NO_BUNDLE=1, tsx runs the
// sources directly, as before.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const self = fileURLToPath(import.meta.url);
const root = join(dirname(self), '..');
const src = join(root, 'src');
const entry = join(src, 'cli', 'main.ts');
// Under node_modules/ (the usual place for tool caches): packages resolve from there as from src/,
// and Node treats the bundled packages' own deprecated calls as theirs (no warnings on stderr).
const cacheDir = join(root, 'node_modules', '.cache', 'kiln-cli');
const KEEP = 4; // bundles kept (one per recently used source state)
const KEEP_STAMPS = 20;
// A file changed this recently (ms) may change again within the file system's timestamp granularity
// with the same size, unseen by a stamp: then the content is hashed and no stamp written.
const RACY_MS = 2000;

/** The files the bundle is made of: this file and everything under src/ (JSON imports included), sorted. */
function sourceFiles() {
  const files = readdirSync(src, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath ?? e.path, e.name))
    .sort();
  return [self, ...files];
}

/** Content hash of the sources: names the bundle and kiln's version for caches (KILN_SOURCE_HASH). */
function contentHash(files) {
  const h = createHash('sha256');
  for (const p of files) h.update(relative(root, p)).update('\0').update(readFileSync(p)).update('\0');
  return h.digest('hex').slice(0, 20);
}

/**
 * contentHash, read from a stamp when one matches: sha256 of every source's path, size, mtime, ctime
 * (ns) and inode. Any write to a file changes its ctime (which, unlike mtime, cannot be set back), an
 * added, removed or renamed file the list; so a matching stamp means the same contents.
 */
function sourceHash() {
  const files = sourceFiles();
  const h = createHash('sha256');
  let newest = 0n;
  for (const p of files) {
    const s = statSync(p, { bigint: true });
    h.update(`${relative(root, p)}\0${s.size} ${s.mtimeNs} ${s.ctimeNs} ${s.ino}\0`);
    if (s.ctimeNs > newest) newest = s.ctimeNs;
    if (s.mtimeNs > newest) newest = s.mtimeNs;
  }
  const stampFile = join(cacheDir, `stamp-${h.digest('hex').slice(0, 32)}`);
  try {
    const known = readFileSync(stampFile, 'utf8');
    if (/^[0-9a-f]{20}$/.test(known)) return known;
  } catch {
    // no stamp yet
  }
  const hash = contentHash(files);
  if (BigInt(Date.now() - RACY_MS) * 1_000_000n > newest) {
    try {
      mkdirSync(cacheDir, { recursive: true });
      writeFileSync(`${stampFile}.${process.pid}.tmp`, hash);
      renameSync(`${stampFile}.${process.pid}.tmp`, stampFile);
    } catch {
      // a read-only cache only costs speed
    }
  }
  return hash;
}

/** Bundles src/cli/main.ts into the directory `out` (built beside it first: concurrent runs may race). */
async function bundle(out) {
  // tsx depends on esbuild; resolve it from tsx so a non-hoisted install works too.
  const esbuild = createRequire(createRequire(import.meta.url).resolve('tsx'))('esbuild');
  const meta = /\bimport\.meta\.(url|dirname|filename)\b/g;
  const tmp = `${out}.${process.pid}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  await esbuild.build({
    entryPoints: { main: entry },
    outdir: tmp,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    splitting: true,
    chunkNames: 'chunk-[hash]',
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
  try {
    renameSync(tmp, out); // the chunks and maps name each other relatively: the directory moves whole
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(join(out, 'main.mjs'))) throw e; // else another run was first
  }
}

/** Removes all but the KEEP most recently built bundles (and the stamps beyond KEEP_STAMPS, abandoned temp dirs). */
function prune() {
  const byAge = (names) => names.map((f) => ({ f, t: statSync(join(cacheDir, f)).mtimeMs })).sort((a, b) => b.t - a.t);
  const entries = readdirSync(cacheDir);
  const drop = [
    ...byAge(entries.filter((f) => /^[0-9a-f]{20}$/.test(f))).slice(KEEP),
    ...byAge(entries.filter((f) => f.startsWith('stamp-') && !f.endsWith('.tmp'))).slice(KEEP_STAMPS),
    ...byAge(entries.filter((f) => f.endsWith('.tmp'))).filter(({ t }) => t < Date.now() - 3_600_000),
    ...entries.filter((f) => /^main-.*\.mjs(\.map)?$/.test(f)).map((f) => ({ f })), // single-file bundles of earlier versions
  ];
  for (const { f } of drop) rmSync(join(cacheDir, f), { recursive: true, force: true });
}

async function bundled() {
  if (process.env.KILN_NO_BUNDLE === '1') return undefined;
  try {
    const hash = sourceHash();
    const out = join(cacheDir, hash);
    if (!existsSync(join(out, 'main.mjs'))) {
      mkdirSync(cacheDir, { recursive: true });
      await bundle(out);
      prune();
    }
    return { hash, main: join(out, 'main.mjs') };
  } catch {
    return undefined;
  }
}

// The npm package (no src/, a built dist/ from `make build`): plain JS, no esbuild, no tsx.
const built = join(root, 'dist', 'cli', 'main.js');
const packaged = !existsSync(entry) && existsSync(built);
const b = packaged ? undefined : await bundled();
// (Stack traces point into the bundle; `node --enable-source-maps` maps them back to src/ — not on by
// default, as Node would then parse the maps of every module at startup.)
if (packaged) {
  try {
    process.env.KILN_SOURCE_HASH ??= readFileSync(join(root, 'dist', 'build-id'), 'utf8').trim();
  } catch {
    // no build id: kiln estimate does not cache lowered models
  }
  await import(pathToFileURL(built).href);
} else if (b && existsSync(b.main)) {
  // The same hash names kiln's version for caches of derived data (kiln estimate's lowered models).
  process.env.KILN_SOURCE_HASH = b.hash;
  await import(pathToFileURL(b.main).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
