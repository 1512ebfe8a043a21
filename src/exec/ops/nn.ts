import type { OpTable } from '../registry.ts';

export const nnOps: OpTable = {};
