import type { OpTable } from '../registry.ts';

export const elementwiseOps: OpTable = {};
