import type { OpTable } from '../registry.ts';

export const quantOps: OpTable = {};
