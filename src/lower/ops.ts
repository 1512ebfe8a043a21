// ONNX op families of the lowering, declared once (the rules in src/lower/rules/ and the passes
// around them import these instead of re-declaring their own lists).
import type { Node } from '../ir/graph.ts';

/** Ops that only reshape a tensor: the element order is unchanged. */
export const RESHAPES: ReadonlySet<string> = new Set(['Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Identity', 'Dropout', 'DebugMarker']);
/** Pixel shuffles: permutations that move elements between channels and pixels. */
export const PIXEL_SHUFFLES: ReadonlySet<string> = new Set(['DepthToSpace', 'SpaceToDepth']);
/** Layout ops on the run-time path: reshapes, Transpose and pixel shuffles (src/lower/spatial.ts tracks the order). */
export const LAYOUT: ReadonlySet<string> = new Set([...RESHAPES, 'Transpose', ...PIXEL_SHUFFLES]);
/** Layout ops replayed on a weight tensor (integers and scales alike). */
export const WEIGHT_LAYOUT: ReadonlySet<string> = new Set(['Transpose', 'Reshape', 'Identity', 'Squeeze', 'Unsqueeze', 'Flatten']);
/** Quantizers and dequantizers on the run-time path. */
export const QUANTIZERS: ReadonlySet<string> = new Set(['Quant', 'IntQuant', 'BipolarQuant', 'Sign', 'QuantizeLinear', 'DequantizeLinear', 'MultiThreshold']);
/** Ops whose output is an activation code model (y = (k − z)·s): the last one of a chain is the activation. */
export const ACTIVATION_QUANTIZERS: ReadonlySet<string> = new Set(['Quant', 'IntQuant', 'BipolarQuant', 'Sign', 'DequantizeLinear', 'QuantizeLinear', 'MultiThreshold']);
/** Ops whose output is quantized, so a MAC after them reads integer codes (FINN's MultiThreshold too). */
export const QUANTIZED_OUTPUTS: ReadonlySet<string> = new Set(['Quant', 'BipolarQuant', 'Sign', 'DequantizeLinear', 'MultiThreshold']);
/** QONNX Quant and its newer name IntQuant. */
export const isQuant = (n: Node): boolean => n.op === 'Quant' || n.op === 'IntQuant';
/** Fully connected layers (float and QOperator). */
export const DENSE_MACS: ReadonlySet<string> = new Set(['MatMul', 'Gemm', 'QLinearMatMul', 'MatMulInteger']);
/** Average pooling: a window sum, 1/k in the activation after it. */
export const POOL_SUMS: ReadonlySet<string> = new Set(['AveragePool', 'GlobalAveragePool']);
/** MAC-like ops on images: their input stream is NHWC (see src/lower/spatial.ts). */
export const SPATIAL_MACS: ReadonlySet<string> = new Set(['Conv', ...POOL_SUMS]);
/** Layers whose output is an integer sum (a "MAC"). */
export const MACS: ReadonlySet<string> = new Set([...DENSE_MACS, ...SPATIAL_MACS]);
/** Float MACs with a weight operand (the ones compression quantizes and calibration watches). */
export const WEIGHT_MACS: ReadonlySet<string> = new Set(['MatMul', 'Gemm', 'Conv']);
/** QOperator MACs: integer codes in, exact int32 accumulation of (x − x_zp)(w − w_zp). */
export const INTEGER_MACS: ReadonlySet<string> = new Set(['QLinearMatMul', 'MatMulInteger']);
/** Max pooling (a window, or the whole image): max commutes with a non-decreasing quantizer. */
export const MAX_POOLS: ReadonlySet<string> = new Set(['MaxPool', 'GlobalMaxPool']);
/** Ops that act on activation codes without changing their code model (max commutes with a monotone quantizer). */
export const CODE_OPS: ReadonlySet<string> = new Set([...MAX_POOLS, 'Pad']);
/** Ops between a MaxPool and its quantizer that are non-decreasing, so the MaxPool can move after the quantizer. */
export const NON_DECREASING: ReadonlySet<string> = new Set(['Relu', 'Clip', 'Quant', 'IntQuant', 'QuantizeLinear', 'DequantizeLinear', 'Identity', 'Dropout']);
/** Elementwise ops that are monotone in their run-time input when the other inputs are constants. */
export const MONOTONE: ReadonlySet<string> = new Set(['Add', 'Sub', 'Mul', 'Div', 'BatchNormalization', 'Relu', 'LeakyRelu', 'Clip', 'Max', 'Min', 'Sigmoid', 'Tanh', 'Neg', 'HardSigmoid', 'Cast']);
/** Elementwise ops that are affine (y = a·x + b per channel) with constant operands. */
export const AFFINE: ReadonlySet<string> = new Set(['Add', 'Sub', 'Mul', 'Div', 'Neg', 'BatchNormalization']);
/** Monotone ops that may end the graph (dropped: the host may apply them; argmax is unchanged). */
export const TAIL: ReadonlySet<string> = new Set(['Softmax', 'LogSoftmax']);
