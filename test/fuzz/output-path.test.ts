// #16 C4–C10: the output-path guard (src/io/output-path.ts) through the real CLI. Each bad path is one
// KLN1016 line, exit 2, before any work; the files beside it are untouched.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { mountOf } from '../../src/io/output-path.ts';
import { kilnAsync, ROOT, tempDir } from '../unit/cli-helpers.ts';

const model = join(ROOT, 'examples', 'tfc_w1a1', 'model.onnx');
let base: string;
let work: string;

beforeAll(() => {
  base = tempDir();
  work = join(base, 'work');
  mkdirSync(work);
  writeFileSync(join(work, 'keep.txt'), 'mine');
});

function untouched(): void {
  expect(readdirSync(work)).toEqual(['keep.txt']);
  expect(readFileSync(join(work, 'keep.txt'), 'utf8')).toBe('mine');
  expect(readdirSync(base)).toEqual(['work']);
}

describe.concurrent('output-path guard', () => {
  const cases: [string[], string][] = [
    // C4: '' was seen as missing by the exists-check and then resolved to the current directory.
    [['compile', model, '-o', ''], "KLN1016 output directory '' is empty: give a directory name"],
    [['compile', model, '-o', '', '--force'], "KLN1016 output directory '' is empty: give a directory name"],
    [['compile', model, '-o', '.', '--force'], "KLN1016 output directory '.' is the current directory: it would be replaced; give a new directory name"],
    [['compile', model, '-o', '..', '--force'], "KLN1016 output directory '..' is '<base>', a parent of the current directory: it would be replaced; give a new directory name"],
    [['compile', model, '-o', '/', '--force'], "KLN1016 output directory '/' is '/', a parent of the current directory: it would be replaced; give a new directory name"],
    [['compile', model, '-o', '<work>', '--force'], "KLN1016 output directory '<work>' is the current directory: it would be replaced; give a new directory name"],
    // C5: mkdir/rename under /proc hung.
    [['compile', model, '-o', '/proc/kiln_out'], "KLN1016 output directory '/proc/kiln_out' is in a system or virtual file system (/proc): write it to an ordinary directory"],
    [['compile', model, '-o', '/sys/kiln_out'], "KLN1016 output directory '/sys/kiln_out' is in a system or virtual file system (/sys): write it to an ordinary directory"],
    [['compile', model, '-o', '/dev/kiln_out'], "KLN1016 output directory '/dev/kiln_out' is in a system or virtual file system (/dev): write it to an ordinary directory"],
    // C7: EEXIST from mkdir through a file.
    [['compile', model, '-o', 'keep.txt/sub'], "KLN1016 output directory 'keep.txt/sub' passes through '<work>/keep.txt', which is a file, not a directory"],
    [['compile', model, '-o', 'keep.txt', '--force'], "KLN1016 output directory 'keep.txt' is an existing file, not a directory"],
    // C8, C9: EISDIR / ENOENT in exec.
    [['exec', model, '--in', '.'], "KLN1011 input file '.' is a directory, not a .npy or .pb file"],
    [['exec', model, '--in', 'keep.txt', '--out', 'missing_dir/y.npy'], "KLN1016 output file 'missing_dir/y.npy' is in 'missing_dir', which does not exist (create it first)"],
    [['exec', model, '--in', 'keep.txt', '--out', '.'], "KLN1014 output file '.' must end in .npy or .pb, not '.'"],
    [['exec', model, '--in', 'keep.txt', '--out', '/proc/y.npy'], "KLN1016 output file '/proc/y.npy' is in a system or virtual file system (/proc): write it to an ordinary directory"],
    // C10: ENOENT after the whole simulation: now refused before the design is even read.
    [['sim', 'no_design', '--in', 'x.npy', '--out', 'missing_dir/y.npy'], "KLN1016 output file 'missing_dir/y.npy' is in 'missing_dir', which does not exist (create it first)"],
    [['compress', model, '--bits', '4', '-o', 'missing_dir/m.onnx'], "KLN1016 --out file 'missing_dir/m.onnx' is in 'missing_dir', which does not exist (create it first)"],
    [['demo', '-o', '.'], "KLN1016 output directory '.' is the current directory: it would be replaced; give a new directory name"],
  ];
  for (const [args, message] of cases) {
    it(`${args.slice(0, 1)} ${args.slice(2).map((a) => `'${a}'`).join(' ')}`, async () => {
      const fill = (s: string) => s.replaceAll('<work>', work).replaceAll('<base>', base);
      const r = await kilnAsync(args.map(fill), work);
      expect({ code: r.code, stderr: r.stderr, stdout: r.stdout }).toEqual({ code: 2, stderr: `${fill(message)}\n`, stdout: '' });
      untouched();
    }, 30_000);
  }

  // C6 as an ordinary user: EACCES from the mode bits. Root passes every access check, so this one
  // cannot run as root; the read-only mount below is what root meets.
  it.skipIf(process.getuid?.() === 0)('C6: an unwritable parent', async () => {
    const ro = join(tempDir(), 'ro');
    mkdirSync(ro, { mode: 0o555 });
    const r = await kilnAsync(['compile', model, '-o', join(ro, 'out')], work);
    expect(r.stderr).toBe(`KLN1016 output directory '${join(ro, 'out')}' cannot be written: '${ro}' is not writable\n`);
  }, 30_000);

  // C6 as root: a read-only file system, found in the mount table (not from EACCES or EROFS after
  // the work). A private mount namespace (unshare -m) holds the read-only tmpfs, so nothing leaks;
  // where namespaces are not allowed the test is skipped.
  const canMount = spawnSync('unshare', ['-m', 'sh', '-c', 'd=$(mktemp -d) && mount -t tmpfs -o ro tmpfs "$d"; s=$?; umount "$d"; rmdir "$d"; exit $s'], { encoding: 'utf8' }).status === 0;
  it.skipIf(!canMount)('C6: a read-only file system, even as root', () => {
    const ro = tempDir();
    const script = `mount -t tmpfs -o ro tmpfs '${ro}' && exec '${process.execPath}' '${join(ROOT, 'bin', 'kiln.js')}' compile '${model}' -o '${ro}/out'`;
    const r = spawnSync('unshare', ['-m', 'sh', '-c', script], { cwd: work, encoding: 'utf8', timeout: 30_000 });
    expect({ code: r.status, stderr: r.stderr, stdout: r.stdout }).toEqual({
      code: 2, stderr: `KLN1016 output directory '${ro}/out' is on a read-only file system (mounted at '${ro}'): write it to a writable directory\n`, stdout: '',
    });
    expect(readdirSync(ro)).toEqual([]);
    rmSync(ro, { recursive: true });
  }, 30_000);
});

describe('mountOf (/proc/self/mountinfo)', () => {
  const info = [
    '25 1 0:23 / / rw,relatime - overlay overlay rw,lowerdir=/l',
    '30 25 0:40 / /data ro,relatime - ext4 /dev/sda1 rw',
    '31 25 0:41 / /mnt/with\\040space rw - ext4 /dev/sdb1 ro',
    '32 30 0:42 / /data/scratch rw,relatime - tmpfs tmpfs rw',
    '33 25 0:43 / /data2 rw - tmpfs tmpfs rw',
  ].join('\n');
  const cases: [string, { point: string; readOnly: boolean }][] = [
    ['/home/u/out', { point: '/', readOnly: false }],
    ['/data/out', { point: '/data', readOnly: true }],
    ['/data/scratch/out', { point: '/data/scratch', readOnly: false }],
    ['/data2/out', { point: '/data2', readOnly: false }],
    ['/mnt/with space/x', { point: '/mnt/with space', readOnly: true }],
  ];
  for (const [p, want] of cases) it(p, () => expect(mountOf(info, p)).toEqual(want));
});
