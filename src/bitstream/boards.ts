// The boards `kiln bitstream` builds for: device, package, the oscillator that clocks the design and
// the pin constraints (templates/bitstream/<board>.pcf).
import { join } from 'node:path';
import { templatesDir } from '../codegen/helpers.ts';

export interface Ice40Board {
  name: string;
  /** nextpnr-ice40 device flag and package. */
  device: 'up5k';
  package: 'sg48';
  /** The board oscillator on pin 35 (the only clock the design uses). */
  clockMHz: number;
  pcf: string;
}

export const boards = {
  icebreaker: { name: 'icebreaker', device: 'up5k', package: 'sg48', clockMHz: 12, pcf: join(templatesDir, 'bitstream', 'icebreaker.pcf') },
  upduino: { name: 'upduino', device: 'up5k', package: 'sg48', clockMHz: 12, pcf: join(templatesDir, 'bitstream', 'upduino.pcf') },
} satisfies Record<string, Ice40Board>;

export type BoardName = keyof typeof boards;
export const boardNames = Object.keys(boards) as BoardName[];
