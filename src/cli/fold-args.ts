// The folding options shared by `kiln compile` and `kiln estimate`: --fold <file.json> and --fold auto
// (--fps, --device, --clock-mhz). A module of its own, light to load: `kiln estimate` must start fast.
import { fail } from '../diag/index.ts';
import type { Folding } from '../dataflow/fold.ts';
import type { AutoFoldOptions } from '../dataflow/fold-auto.ts';
import { numberOption } from './options.ts';
import { readJsonFile } from '../io/json.ts';

/** Reads a folding JSON file { "<layer>": { "pe": n, "simd": m } } (KLN1001 / KLN1011). */
export function readFoldingFile(path: string): Folding {
  return readJsonFile(path, 'folding file') as Folding;
}

/** The --fold auto options, shared by compile and estimate. */
export const autoFoldOptions = {
  fps: numberOption('fps', { above: 0, unit: 'inferences/s', describe: 'with --fold auto: target inferences per second' }),
  device: { type: 'string', describe: 'with --fold auto: device part (src/estimate/devices/*.json)' },
  'clock-mhz': numberOption('clock-mhz', { above: 0, unit: 'MHz', default: 200, describe: 'clock for FPS figures (MHz)' }),
} as const;

/** AutoFoldOptions when --fold auto was given (KLN1014 when --fps or --device is missing). */
export function autoFoldArgs(args: { fold?: string; fps?: number; device?: string; 'clock-mhz': number }): AutoFoldOptions | undefined {
  if (args.fold !== 'auto') return undefined;
  if (args.fps === undefined || args.device === undefined) fail('BadArgument', '--fold auto needs --fps <inferences/s> and --device <part>');
  return { fps: args.fps, device: args.device, clockMHz: args['clock-mhz'] };
}
