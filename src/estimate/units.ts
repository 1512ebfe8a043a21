// Resource units: the FPGA families kiln estimates for and the resource kinds each counts. Owned by
// estimate/ (the model); synth/ measures in the same units and imports them from here.

export type Family = 'xc7' | 'ice40';
export const families: Family[] = ['xc7', 'ice40'];

/** Resources in the family's own units (xc7: lut, ff, dsp, bram18; ice40: lc, mac16, ebr). */
export type Resources = Record<string, number>;
export const resourceKinds: Record<Family, string[]> = {
  xc7: ['lut', 'ff', 'dsp', 'bram18'],
  ice40: ['lc', 'mac16', 'ebr'],
};
