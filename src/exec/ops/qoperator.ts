import type { OpTable } from '../registry.ts';

export const qoperatorOps: OpTable = {};
