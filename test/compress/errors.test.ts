// Bad input to `kiln compress` → one coded error line, exit code 2, and no output file.
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeNpy } from '../../src/io/npy.ts';
import { makeTensor } from '../../src/ir/tensor.ts';
import { kilnAsync, tempDir } from '../unit/cli-helpers.ts';
import { zooPath } from './helpers.ts';

const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const calib = join(dir, 'calib.npy');
writeFileSync(calib, encodeNpy(makeTensor('float32', [4, 784], new Float32Array(4 * 784).fill(0.5))));
const wrongShape = join(dir, 'wrong.npy');
writeFileSync(wrongShape, encodeNpy(makeTensor('float32', [4, 783], new Float32Array(4 * 783))));
const model = zooPath('mlp_fp32');

const cases: [string, string[], RegExp][] = [
  ['calibration file of the wrong shape', ['--bits', '8', '--calib', wrongShape], /^KLN1012 calibration file '.*wrong\.npy' must be float32 \[N, 784\].*not float32 \[4, 783\]/],
  ['bit width 0', ['--bits', '0', '--calib', calib], /^KLN1014 weight bit width must be an integer from 2 to 16, not 0/],
  ['bit width 33', ['--bits', '33', '--calib', calib], /^KLN1014 weight bit width must be an integer from 2 to 16, not 33/],
  ['activation bit width 1', ['--bits', '8', '--act-bits', '1', '--calib', calib], /^KLN1014 activation bit width must be an integer from 2 to 16, not 1/],
  ['rank larger than every matrix', ['--rank', '100'], /^KLN1014 rank 100 is larger than every factorable matrix \(largest smaller side: 64\)/],
  ['rank larger than the named matrix', ['--rank', '/fcs.2/Gemm=11'], /^KLN1014 rank 11 for '\/fcs.2\/Gemm' must be an integer from 1 to 10 \(the matrix is 10×64\)/],
  ['pruning ratio 1', ['--prune', '1'], /^KLN1014 pruning ratio must be in \[0, 1\), not 1/],
  ['pruning ratio −0.1', ['--prune=-0.1'], /^KLN1014 pruning ratio must be in \[0, 1\), not -0.1/],
  ['filter pruning ratio 1.5', ['--filter-prune', '1.5'], /^KLN1014 filter pruning ratio must be in \[0, 1\), not 1.5/],
  ['quantization without calibration data', ['--bits', '8'], /^KLN1014 quantizing activations or correcting biases needs calibration data/],
  ['no method', [], /^KLN1014 give at least one method/],
  ['unknown budget device', ['--prune', '0.5', '--device', 'xc9nope'], /^KLN2004 device must be one of .*, not 'xc9nope'/],
];

describe.concurrent('kiln compress: coded errors, no output written', () => {
  for (const [name, args, message] of cases) {
    it(name, async () => {
      const out = join(dir, `${name.replace(/\W+/g, '_')}.onnx`);
      const r = await kilnAsync(['compress', model, '-o', out, ...args]);
      expect(r.stderr.trim()).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.code).toBe(2);
      expect(existsSync(out)).toBe(false);
    });
  }
});
