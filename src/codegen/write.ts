// Atomic output directory writer: everything is written into a temporary sibling directory which
// is renamed into place only when complete, so a failed compile never leaves a half-written
// directory, and an existing one is replaced only with --force.
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fail } from '../diag/index.ts';
import { checkOutputPath } from '../io/output-path.ts';

/** Files by path relative to the directory. */
export type FileSet = Map<string, string>;

/** The output-path guard (src/io/output-path.ts), then: an existing directory is replaced only with force. */
export function checkOutputDir(outDir: string, force: boolean): void {
  checkOutputPath(outDir, 'directory');
  if (existsSync(outDir) && !force) fail('OutputExists', `output directory '${outDir}' already exists (use --force to replace it)`);
}

export function writeDirAtomic(outDir: string, files: FileSet, force: boolean): void {
  checkOutputDir(outDir, force);
  const target = resolve(outDir);
  const parent = dirname(target);
  mkdirSync(parent, { recursive: true });
  const tag = `${process.pid}-${Date.now().toString(36)}`;
  const tmp = join(parent, `.${basename(target)}.tmp-${tag}`);
  const old = join(parent, `.${basename(target)}.old-${tag}`);
  try {
    for (const [rel, text] of [...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const path = join(tmp, rel);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, text);
    }
    if (existsSync(target)) renameSync(target, old);
    renameSync(tmp, target);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    if (existsSync(old) && !existsSync(target)) renameSync(old, target);
    throw e;
  }
  rmSync(old, { recursive: true, force: true });
}
