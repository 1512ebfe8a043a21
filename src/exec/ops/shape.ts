import type { OpTable } from '../registry.ts';

export const shapeOps: OpTable = {};
