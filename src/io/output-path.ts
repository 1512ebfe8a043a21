// The one output-path guard of every command that writes (compile's directory, exec/sim/compress
// files, demo's directory): a path that would replace the current directory or one of its parents,
// lands in a system or virtual file system (/proc hangs a write, /sys and /dev are devices), passes
// through a file, or sits under an unwritable directory is refused with a coded error before any
// work starts, so no simulation runs for an output that cannot be written and no user file is lost.
import { accessSync, constants, readFileSync, realpathSync, statfsSync, statSync, type Stats } from 'node:fs';
import { dirname, relative, resolve, sep, isAbsolute } from 'node:path';
import { fail } from '../diag/index.ts';

export type OutputKind = 'directory' | 'file';

/** Mount points whose contents are not ordinary files (kernel interfaces, devices). */
const SYSTEM_ROOTS = ['/proc', '/sys', '/dev'];

/** statfs magic numbers of virtual file systems (linux/magic.h): proc, sysfs, debugfs, tracefs, cgroup, cgroup2, securityfs, configfs, pstore, efivarfs, bpf, devpts, fusectl, binfmt_misc. */
const VIRTUAL_FS = new Set([
  0x9fa0, 0x62656572, 0x64626720, 0x74726163, 0x27e0eb, 0x63677270, 0x73636673, 0x62656570,
  0x6165676c, 0xde5e81e4, 0xcafe4a11, 0x1cd1, 0x65735543, 0x42494e4d,
]);

function statOrUndefined(p: string): Stats | undefined {
  try {
    return statSync(p);
  } catch {
    return undefined;
  }
}

/** True when `a` is `b` or one of its ancestors (both absolute). */
function containsOrIs(a: string, b: string): boolean {
  const r = relative(a, b);
  return r === '' || (!r.startsWith('..') && !isAbsolute(r));
}

function underSystemRoot(p: string): string | undefined {
  return SYSTEM_ROOTS.find((root) => p === root || p.startsWith(root + sep));
}

/**
 * The mount holding the absolute, real path `p` according to a /proc/self/mountinfo text: the
 * longest mount point containing it (the last listed of equal ones: it is mounted over the others),
 * and whether it is read-only (the mount's own options or its file system's).
 */
export function mountOf(mountinfo: string, p: string): { point: string; readOnly: boolean } | undefined {
  let best: { point: string; readOnly: boolean } | undefined;
  for (const line of mountinfo.split('\n')) {
    const f = line.split(' ');
    const dash = f.indexOf('-');
    if (f.length < 6 || dash < 6) continue;
    const point = f[4].replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (!containsOrIs(point, p) || (best && point.length < best.point.length)) continue;
    best = { point, readOnly: f[5].split(',').includes('ro') || (f[dash + 3] ?? '').split(',').includes('ro') };
  }
  return best;
}

/** Where `p` is mounted read-only, if it is (Linux; elsewhere the access check stands). */
function readOnlyMount(p: string): string | undefined {
  let info: string;
  try {
    info = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return undefined;
  }
  const m = mountOf(info, p);
  return m?.readOnly ? m.point : undefined;
}

/**
 * Checks `path` as the place a command will write a `kind` (a directory it creates or replaces, or a
 * file); `what` names it in the message ("output directory", "--out file"). Returns the absolute path.
 * Existence of a directory (and --force) is the caller's check (checkOutputDir).
 */
export function checkOutputPath(path: string, kind: OutputKind, what: string = `output ${kind}`): string {
  const shown = `'${path}'`;
  if (path.trim() === '') fail('BadOutputPath', `${what} ${shown} is empty: give a ${kind} name`);
  const target = resolve(path);
  const cwd = process.cwd();
  if (containsOrIs(target, cwd)) {
    fail('BadOutputPath', `${what} ${shown} is ${target === cwd ? 'the current directory' : `'${target}', a parent of the current directory`}: it would be replaced; give a new ${kind} name`);
  }
  // The nearest existing ancestor decides where the bytes go (through symlinks: realpath).
  let existing = dirname(target);
  while (statOrUndefined(existing) === undefined && dirname(existing) !== existing) existing = dirname(existing);
  const parentStat = statOrUndefined(existing);
  if (parentStat !== undefined && !parentStat.isDirectory()) {
    fail('BadOutputPath', `${what} ${shown} passes through '${existing}', which is a file, not a directory`);
  }
  let real = existing;
  try {
    real = realpathSync(existing);
  } catch {
    // keep the lexical path
  }
  const realTarget = resolve(real, relative(existing, target));
  if (containsOrIs(realTarget, realpathSync(cwd))) {
    fail('BadOutputPath', `${what} ${shown} is the current directory or a parent of it (through a link): give a new ${kind} name`);
  }
  const sys = underSystemRoot(realTarget) ?? underSystemRoot(target);
  let virtual = sys !== undefined;
  if (!virtual) {
    try {
      virtual = VIRTUAL_FS.has(Number(statfsSync(real).type));
    } catch {
      // statfs unsupported: the prefix check stands
    }
  }
  if (virtual) fail('BadOutputPath', `${what} ${shown} is in a system or virtual file system (${sys ?? 'not ordinary files'}): write it to an ordinary directory`);
  if (kind === 'file' && existing !== dirname(target)) {
    fail('BadOutputPath', `${what} ${shown} is in '${dirname(path)}', which does not exist (create it first)`);
  }
  const own = statOrUndefined(target);
  if (own !== undefined && kind === 'file' && own.isDirectory()) fail('BadOutputPath', `${what} ${shown} is a directory, not a file`);
  if (own !== undefined && kind === 'directory' && !own.isDirectory()) fail('BadOutputPath', `${what} ${shown} is an existing file, not a directory`);
  // Root passes every access check, so a read-only mount is found from the mount table, not EACCES.
  const ro = readOnlyMount(real);
  if (ro !== undefined) fail('BadOutputPath', `${what} ${shown} is on a read-only file system (mounted at '${ro}'): write it to a writable directory`);
  try {
    accessSync(existing, constants.W_OK | constants.X_OK);
  } catch {
    fail('BadOutputPath', `${what} ${shown} cannot be written: '${existing}' is not writable`);
  }
  return target;
}
