// Named pipelines are data: lists of pass names. A nested list is run to a fixed point
// (each pass of it in turn until none changes the graph, at most MAX_ROUNDS rounds).
import { dce } from './dce.ts';
import { fixBatch } from './fix-batch.ts';
import { foldBatchNorm } from './fold-batchnorm.ts';
import { foldConstants } from './fold-constants.ts';
import { inferShapes } from './infer-shapes.ts';
import type { Pass } from './pass.ts';
import { schemaCheck } from './schema-check.ts';

/** Every pass kiln has, by name (an explicit list; add new passes here). */
export const PASSES: Pass[] = [schemaCheck, fixBatch, inferShapes, foldConstants, foldBatchNorm, dce];

export type PipelineStep = string | string[];
export type Pipeline = PipelineStep[];

/** Shapes and constants feed each other: Shape(x) folds once x's shape is known, and so on. */
const settle: string[] = ['infer-shapes', 'fold-constants'];

/** Clean-up every import gets: nodes that fit their op's schema, one batch, known shapes, no constant subgraphs, no BatchNorm, no dead code. */
export const tidy: Pipeline = ['schema-check', 'fix-batch', settle, 'fold-batchnorm', 'dce', 'infer-shapes'];

/**
 * The same without BatchNorm folding, which changes float rounding: for running a model exactly
 * as ONNX specifies it (kiln exec, golden and onnxruntime comparisons).
 */
export const tidyExact: Pipeline = ['schema-check', 'fix-batch', settle, 'dce', 'infer-shapes'];

/**
 * Graph preparation before `lowerModel` (src/passes/to-dataflow.ts, which streamlines and lowers to
 * the dataflow IR): tidy-exact, since the thresholds must reproduce the model's own BatchNorm
 * arithmetic, not a refolded one. (lowerModel also accepts untidied graphs.)
 */
export const lower: Pipeline = tidyExact;

export const PIPELINES: Record<string, Pipeline> = { tidy, 'tidy-exact': tidyExact, lower };
