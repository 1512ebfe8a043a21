// #16: every numeric option is checked against its range (src/cli/options.ts) and every JSON file
// kiln reads is reported as missing, a directory or corrupt (src/io/json.ts), in one coded line.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkNumberOption, describeRule } from '../../src/cli/options.ts';
import { readJsonFile } from '../../src/io/json.ts';
import { encodeNpy } from '../../src/io/npy.ts';
import { makeTensor } from '../../src/ir/tensor.ts';
import { kilnAsync, ROOT, tempDirsRemovedAfterAll } from './cli-helpers.ts';

const model = join(ROOT, 'examples', 'tfc_w1a1', 'model.onnx');
const dirs = tempDirsRemovedAfterAll();
let work: string;

beforeAll(() => {
  work = dirs();
  // C11: a design whose manifest.json was cut short.
  mkdirSync(join(work, 'cut'));
  writeFileSync(join(work, 'cut', 'manifest.json'), '{"files": ["rtl/kiln_top.v", "rt');
  writeFileSync(join(work, 'cut', 'dataflow.json'), '{"streams": [');
  writeFileSync(join(work, 'x.npy'), encodeNpy(makeTensor('float32', [1, 784])));
  writeFileSync(join(work, 'fold.json'), '{"fc1": {"pe": 2}');
  writeFileSync(join(work, 'empty.json'), '');
});

describe('numeric options: the range and the unit in one line', () => {
  it('the rule wording', () => {
    expect(describeRule({ above: 0, unit: 'MHz' })).toBe('a positive number in MHz');
    expect(describeRule({ integer: true, min: 1 })).toBe('a positive integer');
    expect(describeRule({ integer: true, min: 0 })).toBe('a non-negative integer');
    expect(describeRule({ min: 0, below: 1 })).toBe('a number in [0, 1)');
    expect(describeRule({ integer: true, min: 300, max: 12_000_000, unit: 'bit/s' })).toBe('an integer from 300 to 12000000 in bit/s');
    expect(describeRule({ integer: true, min: 1000, unit: 'ms' })).toBe('an integer of at least 1000 in ms');
    expect(describeRule({})).toBe('a finite number');
    expect(checkNumberOption('x', '2.5', { above: 0 })).toBe(2.5);
    expect(() => checkNumberOption('x', '', { above: 0 })).toThrow("KLN1014 --x must be a positive number, not ''");
    expect(() => checkNumberOption('x', 'Infinity', {})).toThrow('KLN1014 --x must be a finite number, not Infinity');
  });

  describe.concurrent('through the CLI', () => {
    const cases: [string[], string][] = [
      [['sim', 'cut', '--in', 'x.npy', '--clock-mhz', '0'], 'KLN1014 --clock-mhz must be a positive number in MHz, not 0'],
      [['sim', 'cut', '--in', 'x.npy', '--clock-mhz=-5'], 'KLN1014 --clock-mhz must be a positive number in MHz, not -5'],
      [['sim', 'cut', '--in', 'x.npy', '--clock-mhz', 'abc'], "KLN1014 --clock-mhz must be a positive number in MHz, not 'abc'"],
      [['sim', 'cut', '--in', 'x.npy', '--clock-mhz', '1e400'], 'KLN1014 --clock-mhz must be a positive number in MHz, not 1e400'],
      [['sim', 'cut', '--in', 'x.npy', '--clock-mhz', '100', '--clock-mhz', '200'], 'KLN1014 --clock-mhz was given 2 times (100, 200): give it once'],
      [['sim', 'cut', '--in', 'x.npy', '--backpressure', '1'], 'KLN1014 --backpressure must be a number in [0, 1), not 1'],
      [['sim', 'cut', '--in', 'x.npy', '--seed', '1.5'], 'KLN1014 --seed must be a non-negative integer, not 1.5'],
      [['sim', 'cut', '--in', 'x.npy', '--job-timeout', '0'], 'KLN1014 --job-timeout must be a positive number in s, not 0'],
      [['estimate', model, '--clock-mhz', '0'], 'KLN1014 --clock-mhz must be a positive number in MHz, not 0'],
      [['compile', model, '-o', 'o', '--fold', 'auto', '--fps', 'NaN', '--device', 'xc7z020'], "KLN1014 --fps must be a positive number in inferences/s, not 'NaN'"],
      [['demo', '-o', 'd', '--clock-mhz', '-1'], 'KLN1014 --clock-mhz must be a positive number in MHz, not -1'],
      // Before, --baud 0 reached Yosys and printed its 14-line log.
      [['bitstream', 'cut', '--board', 'icebreaker', '--baud', '0'], 'KLN1014 --baud must be an integer from 300 to 12000000 in bit/s, not 0'],
      [['bitstream', 'cut', '--board', 'pynq-z2', '--clock-mhz', '0'], 'KLN1014 --clock-mhz must be a positive number in MHz, not 0'],
      [['hil', '--sim', 'cut', '--inputs', 'x.npy', '--retries', '-1'], 'KLN1014 --retries must be a non-negative integer, not -1'],
      [['worker', '--redis', 'redis://127.0.0.1:1', '--lock-ms', '10'], 'KLN1014 --lock-ms must be an integer of at least 1000 in ms, not 10'],
      [['compress', model, '-o', 'c.onnx', '--prune', 'half'], "KLN1014 --prune must be a finite number, not 'half'"],
    ];
    for (const [args, want] of cases) {
      it(args.join(' ').replace(model, 'm.onnx'), async () => {
        const r = await kilnAsync(args, work);
        expect({ code: r.code, stderr: r.stderr, stdout: r.stdout }).toEqual({ code: 2, stderr: `${want}\n`, stdout: '' });
      }, 30_000);
    }
  });
});

describe('JSON readers: missing, a directory or corrupt, said so', () => {
  it('readJsonFile', () => {
    expect(() => readJsonFile(join(work, 'none.json'), 'folding file')).toThrow(`KLN1001 folding file '${join(work, 'none.json')}' does not exist`);
    expect(() => readJsonFile(work, 'folding file')).toThrow(`KLN1011 folding file '${work}' is a directory, not a JSON file`);
    expect(() => readJsonFile(join(work, 'empty.json'), 'folding file')).toThrow(`KLN1011 folding file '${join(work, 'empty.json')}' is corrupt (empty: Unexpected end of JSON input)`);
  });

  describe.concurrent('through the CLI', () => {
    const manifest = "KLN1011 manifest 'cut/manifest.json' is corrupt (truncated: Unterminated string in JSON at position 32); recompile the design with kiln compile";
    const cases: [string[], string][] = [
      // C11: was a SyntaxError (exit 70); it is there, so not "no manifest.json" either.
      [['bitstream', 'cut', '--board', 'icebreaker'], manifest],
      [['bitstream', 'cut', '--board', 'pynq-z2'], manifest],
      [['sim', 'cut', '--in', 'x.npy'], manifest],
      [['synth', 'cut'], manifest],
      [['compile', model, '-o', 'o', '--fold', 'fold.json'], "KLN1011 folding file 'fold.json' is corrupt (truncated: Expected ',' or '}' after property value in JSON at position 17)"],
      [['estimate', model, '--fold', '.'], "KLN1011 folding file '.' is a directory, not a JSON file"],
    ];
    for (const [args, want] of cases) {
      it(args.join(' ').replace(model, 'm.onnx'), async () => {
        const r = await kilnAsync(args, work);
        expect({ code: r.code, stderr: r.stderr, stdout: r.stdout }).toEqual({ code: 2, stderr: `${want}\n`, stdout: '' });
      }, 30_000);
    }
  });
});
