#!/usr/bin/python3
# Generates the variants suite's models (test/generality/models/*.onnx, see README.md there).
# Run with Debian 12's python3-onnx 1.12 and python3-numpy 1.24:  /usr/bin/python3 test/generality/make-variants.py
# Deterministic: every model's weights come from numpy's PCG64 seeded by the model's name, so a
# re-run writes byte-identical files. Each model varies ONE rule against a small base network, in
# the graph style of one exporter (see STYLES); the lowering test (variants.test.ts) reads the
# variant table from models/index.json, which this script writes.
import hashlib
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'models')
QONNX = 'qonnx.custom_op.general'

STYLES = {
    'qkeras': 'QKeras via qonnx.converters.from_keras: Quant (QONNX) on inputs, weights and biases, power-of-two scales, quantized_relu = Relu then unsigned Quant, NHWC inputs with a Transpose',
    'brevitas': 'Brevitas QONNX export: Quant with float (non power-of-two) per-tensor or per-channel scales, BipolarQuant weights, Trunc after average pooling, NCHW',
    'qdq': 'PyTorch / ORT quantize_static QDQ: QuantizeLinear + DequantizeLinear around every op, int8 weights as initializers behind DequantizeLinear (per channel, axis 0), int32 biases',
    'qop': 'TFLite -> tf2onnx QOperator: QuantizeLinear once, QLinearMatMul / QLinearConv / QLinearAdd on uint8/int8 codes, DequantizeLinear at the end',
    'hls4ml': 'hls4ml fixed point (ap_fixed<W,I> as QONNX Quant with scale 2^-(W-I)): wide activations (16 bits), 8-bit weights, power-of-two scales',
    'float': 'plain float32 ONNX (no quantizers), as torch.onnx.export writes an unquantized model',
}


class B:
    """A graph under construction: nodes, initializers, fresh names."""

    def __init__(self, name):
        self.name = name
        self.nodes = []
        self.inits = []
        self.n = 0
        self.rng = np.random.Generator(np.random.PCG64(int(hashlib.sha256(name.encode()).hexdigest()[:8], 16)))

    def fresh(self, base):
        self.n += 1
        return f'{base}_{self.n}'

    def const(self, arr, base='c'):
        name = self.fresh(base)
        self.inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    def f32(self, x, base='c'):
        return self.const(np.asarray(x, dtype=np.float32), base)

    def node(self, op, inputs, domain='', outputs=1, **attrs):
        outs = [self.fresh(op.lower()) for _ in range(outputs)]
        self.nodes.append(helper.make_node(op, inputs, outs, name=self.fresh(op), domain=domain, **attrs))
        return outs[0] if outputs == 1 else outs

    def codes(self, shape, bits, signed):
        lo, hi = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2 ** bits - 1)
        return self.rng.integers(lo, hi + 1, size=shape)

    def save(self, in_name, in_shape, out_name, opset=13, in_type=TensorProto.FLOAT):
        g = helper.make_graph(self.nodes, self.name, [helper.make_tensor_value_info(in_name, in_type, in_shape)],
                              [helper.make_tensor_value_info(out_name, TensorProto.FLOAT, None)], self.inits)
        ops = [helper.make_opsetid('', opset)]
        if any(n.domain == QONNX for n in self.nodes):
            ops.append(helper.make_opsetid(QONNX, 1))
        m = helper.make_model(g, opset_imports=ops, producer_name='kiln test/generality/make-variants.py')
        m.ir_version = 8
        # (no onnx.checker: it wants an output shape, which the QONNX custom ops keep onnx from inferring)
        onnx.save(m, os.path.join(OUT, f'{self.name}.onnx'))


# ---------------------------------------------------------------------------------------------
# Quantizer styles over float tensors (QONNX Quant, QDQ pairs): q(b, x, bits, signed, scale)

def quant(b, x, bits, signed, scale, narrow=0, zp=0.0, rounding='ROUND'):
    return b.node('Quant', [x, b.f32(scale), b.f32(zp), b.f32(bits)], domain=QONNX, signed=int(signed), narrow=narrow, rounding_mode=rounding)


def qdq(b, x, bits, signed, scale, zp=None, axis=None):
    dt = np.int8 if signed else np.uint8
    z = b.const(np.asarray(zp if zp is not None else 0, dtype=dt))
    s = b.f32(scale)
    kw = {} if axis is None else {'axis': axis}
    return b.node('DequantizeLinear', [b.node('QuantizeLinear', [x, s, z], **kw), s, z], **kw)


class Style:
    """How one exporter writes the quantizers of the same float network."""

    def __init__(self, kind):
        self.kind = kind
        po2 = kind in ('qkeras', 'hls4ml')
        self.po2 = po2
        self.abits = 8 if kind in ('hls4ml', 'qdq') else 4

    def ascale(self, b, bits):
        """An activation scale: power of two (QKeras, hls4ml) or a float (Brevitas, QDQ)."""
        if self.kind == 'hls4ml':
            return 2.0 ** -(bits - 3)  # ap_fixed<bits, 3>
        if self.po2:
            return 2.0 ** -(bits - 2)
        return float(np.float32(b.rng.uniform(0.02, 0.2) * 8 / 2 ** bits * 4))

    def act(self, b, x, signed=False, bits=None, scale=None):
        bits = bits or self.abits
        scale = scale if scale is not None else self.ascale(b, bits)
        if self.kind == 'qdq':
            return qdq(b, x, min(bits, 8), signed, scale)
        return quant(b, x, bits, signed, scale)

    def weight(self, b, shape, bits=None, per_channel=False):
        """A weight tensor behind its quantizer (float out), codes random on the grid."""
        bits = bits or (8 if self.kind in ('qdq', 'hls4ml') else 4)
        codes = b.codes(shape, bits, True)
        if self.kind == 'qkeras':
            sc = np.float32(2.0 ** -(bits - 1))
            scale = np.full([shape[0]] + [1] * (len(shape) - 1), sc, np.float32) if per_channel else sc
        else:
            scale = (b.rng.uniform(0.01, 0.1, size=[shape[0]] + [1] * (len(shape) - 1)) if per_channel else np.array(b.rng.uniform(0.01, 0.1))).astype(np.float32)
            if self.kind == 'hls4ml':
                scale = np.float32(2.0 ** -(bits - 2))
        if self.kind == 'qdq':
            q = b.const(codes.astype(np.int8), 'w')
            if per_channel:
                s = b.f32(np.reshape(scale, [shape[0]]))
                return b.node('DequantizeLinear', [q, s, b.const(np.zeros(shape[0], np.int8))], axis=0)
            return b.node('DequantizeLinear', [q, b.f32(scale), b.const(np.int8(0))])
        w = b.f32(codes * scale, 'w')
        return quant(b, w, bits, True, scale)

    def inp(self, b, x, signed=True):
        if self.kind == 'hls4ml':
            return quant(b, x, 16, True, 2.0 ** -10)
        return self.act(b, x, signed=signed, bits=8, scale=2.0 ** -5 if self.po2 else 0.03125 * 1.5)

    def bias(self, b, n):
        return b.f32(b.rng.integers(-8, 8, size=n) * 2.0 ** -6, 'bias')


# ---------------------------------------------------------------------------------------------
# Networks. Every builder gets (b, style, x) with x the quantized float input, returns the
# (unquantized) output tensor; the caller adds the output quantizer.

def dense(b, s, x, n_in, n_out, bias=True, per_channel=False, wbits=None, gemm=True):
    w = s.weight(b, [n_out, n_in], bits=wbits, per_channel=per_channel)
    if gemm:
        return b.node('Gemm', [x, w] + ([s.bias(b, n_out)] if bias else []), transB=1)
    y = b.node('MatMul', [x, b.node('Transpose', [w], perm=[1, 0])])
    return b.node('Add', [y, s.bias(b, n_out)]) if bias else y


def conv(b, s, x, cin, cout, k=3, stride=1, pad=1, group=1, bias=True, per_channel=False, wbits=None, dims=2):
    w = s.weight(b, [cout, cin // group] + [k] * dims, bits=wbits, per_channel=per_channel)
    return b.node('Conv', [x, w] + ([s.bias(b, cout)] if bias else []), kernel_shape=[k] * dims, strides=[stride] * dims,
                  pads=[pad] * (2 * dims), group=group)


def relu_q(b, s, x, **kw):
    return s.act(b, b.node('Relu', [x]), **kw)


VARIANTS = []


def variant(name, style, rule, doc, in_shape, build, opset=13):
    VARIANTS.append(dict(name=name, style=style, rule=rule, doc=doc, in_shape=in_shape, build=build, opset=opset))


def mlp(body):
    """MLP base: in [1,16] -> Quant -> body -> out Quant (signed)."""
    def build(b, s):
        x = s.inp(b, 'x')
        y = body(b, s, x)
        return s.act(b, y, signed=True, bits=8)
    return build


def cnn(body, signed_out=True):
    def build(b, s):
        x = s.inp(b, 'x')
        y = body(b, s, x)
        return s.act(b, y, signed=signed_out, bits=8)
    return build


def add_core(style):
    s = style
    st = s.kind
    # --- MLP rules ---
    variant(f'{st}_dense', st, 'dense', 'two dense layers with a quantized Relu between', [1, 16],
            mlp(lambda b, s, x: dense(b, s, relu_q(b, s, dense(b, s, x, 16, 8)), 8, 4)))
    variant(f'{st}_dense_nobias', st, 'dense', 'dense layers without biases', [1, 16],
            mlp(lambda b, s, x: dense(b, s, relu_q(b, s, dense(b, s, x, 16, 8, bias=False)), 8, 4, bias=False)))
    variant(f'{st}_dense_perchannel', st, 'weights', 'per-output-channel weight scales', [1, 16],
            mlp(lambda b, s, x: dense(b, s, relu_q(b, s, dense(b, s, x, 16, 8, per_channel=True)), 8, 4, per_channel=True)))
    variant(f'{st}_dense_matmul', st, 'dense', 'MatMul + Add instead of Gemm', [1, 16],
            mlp(lambda b, s, x: dense(b, s, relu_q(b, s, dense(b, s, x, 16, 8, gemm=False)), 8, 4, gemm=False)))
    variant(f'{st}_dense_w2', st, 'weights', '2-bit weights', [1, 16],
            mlp(lambda b, s, x: dense(b, s, relu_q(b, s, dense(b, s, x, 16, 8, wbits=2)), 8, 4, wbits=2)))
    variant(f'{st}_dense_signed_act', st, 'activations', 'signed hidden activation, no Relu', [1, 16],
            mlp(lambda b, s, x: dense(b, s, s.act(b, dense(b, s, x, 16, 8), signed=True), 8, 4)))
    variant(f'{st}_dense_relu6', st, 'activations', 'Clip(0, 6) (Relu6) before the quantizer', [1, 16],
            mlp(lambda b, s, x: dense(b, s, s.act(b, b.node('Clip', [dense(b, s, x, 16, 8), b.f32(0.0), b.f32(6.0)])), 8, 4)))
    variant(f'{st}_dense_sigmoid', st, 'activations', 'Sigmoid before the quantizer', [1, 16],
            mlp(lambda b, s, x: dense(b, s, s.act(b, b.node('Sigmoid', [dense(b, s, x, 16, 8)])), 8, 4)))
    variant(f'{st}_dense_leakyrelu', st, 'activations', 'LeakyRelu(0.125) before a signed quantizer', [1, 16],
            mlp(lambda b, s, x: dense(b, s, s.act(b, b.node('LeakyRelu', [dense(b, s, x, 16, 8)], alpha=0.125), signed=True), 8, 4)))
    # --- CNN rules (NCHW [1, 2, 6, 6]) ---
    img = [1, 2, 6, 6]
    variant(f'{st}_conv3x3', st, 'conv', '3x3 conv, pad 1, then a quantized Relu and a 1x1 conv', img,
            cnn(lambda b, s, x: conv(b, s, relu_q(b, s, conv(b, s, x, 2, 4)), 4, 3, k=1, pad=0)))
    variant(f'{st}_conv_stride2', st, 'conv', '3x3 conv, stride 2, no padding', img,
            cnn(lambda b, s, x: conv(b, s, x, 2, 4, stride=2, pad=0)))
    variant(f'{st}_conv_depthwise', st, 'conv', 'depthwise 3x3 conv (group = channels) after a 1x1', img,
            cnn(lambda b, s, x: conv(b, s, relu_q(b, s, conv(b, s, x, 2, 4, k=1, pad=0)), 4, 4, group=4)))
    variant(f'{st}_conv_maxpool', st, 'pool', 'conv, quantized Relu, 2x2 MaxPool, 1x1 conv', img,
            cnn(lambda b, s, x: conv(b, s, b.node('MaxPool', [relu_q(b, s, conv(b, s, x, 2, 4))], kernel_shape=[2, 2], strides=[2, 2]), 4, 3, k=1, pad=0)))
    variant(f'{st}_conv_gap_dense', st, 'pool', 'conv, quantized Relu, GlobalAveragePool, Flatten, dense', img,
            mlp(lambda b, s, x: dense(b, s, b.node('Flatten', [s.act(b, b.node('GlobalAveragePool', [relu_q(b, s, conv(b, s, x, 2, 4))]))]), 4, 3)))
    variant(f'{st}_conv_flatten_dense', st, 'data movement', 'conv, quantized Relu, Flatten (NCHW order), dense', img,
            mlp(lambda b, s, x: dense(b, s, b.node('Flatten', [relu_q(b, s, conv(b, s, x, 2, 2, stride=2, pad=0))]), 8, 4)))
    variant(f'{st}_conv_residual', st, 'integer composition', 'residual Add of two quantized branches (same scale), then a quantizer', img,
            cnn(lambda b, s, x: residual(b, s, x)))
    variant(f'{st}_conv_batchnorm', st, 'activations', 'conv, BatchNormalization, Relu, quantizer', img,
            cnn(lambda b, s, x: conv(b, s, relu_q(b, s, batchnorm(b, conv(b, s, x, 2, 4), 4)), 4, 2, k=1, pad=0)))


def residual(b, s, x):
    sc = s.ascale(b, s.abits)
    a = relu_q(b, s, conv(b, s, x, 2, 4, k=1, pad=0), scale=sc)
    c = relu_q(b, s, conv(b, s, a, 4, 4), scale=sc)
    return conv(b, s, relu_q(b, s, b.node('Add', [a, c])), 4, 2, k=1, pad=0)


def batchnorm(b, x, c):
    r = b.rng
    return b.node('BatchNormalization', [x, b.f32(r.uniform(0.5, 1.5, c)), b.f32(r.uniform(-0.2, 0.2, c)), b.f32(r.uniform(-0.2, 0.2, c)), b.f32(r.uniform(0.5, 2, c))])


def add_style_specific():
    k, br, q, h = Style('qkeras'), Style('brevitas'), Style('qdq'), Style('hls4ml')
    # QKeras: NHWC input with Transposes around a conv (qkeras_qconv2d style)
    def nhwc(b, s):
        x = s.inp(b, 'x')
        t = b.node('Transpose', [x], perm=[0, 3, 1, 2])
        y = s.act(b, conv(b, s, t, 2, 3, k=2, stride=2, pad=0), signed=True, bits=8)
        return b.node('Transpose', [y], perm=[0, 2, 3, 1])
    variant('qkeras_conv_nhwc', 'qkeras', 'data movement', 'NHWC input, Transpose to NCHW, conv, Transpose back (qkeras_qconv2d style)', [1, 6, 6, 2], nhwc)
    variant('qkeras_quantized_bits_input', 'qkeras', 'host boundary', 'input quantizer with 6 bits, narrow range', [1, 16],
            lambda b, s: s.act(b, dense(b, s, quant(b, 'x', 6, True, 2.0 ** -3, narrow=1), 16, 4), signed=True, bits=8))
    # Brevitas: BipolarQuant weights and activations (binary nets), Trunc after AveragePool
    def bipolar(b, s):
        x = s.inp(b, 'x')
        w = b.f32(np.where(b.rng.random([8, 16]) < 0.5, -1.0, 1.0), 'w')
        y = b.node('MatMul', [x, b.node('Transpose', [b.node('BipolarQuant', [w, b.f32(1.0)], domain=QONNX)], perm=[1, 0])])
        a = b.node('BipolarQuant', [y, b.f32(1.0)], domain=QONNX)
        w2 = b.f32(np.where(b.rng.random([4, 8]) < 0.5, -1.0, 1.0), 'w')
        y2 = b.node('MatMul', [a, b.node('Transpose', [b.node('BipolarQuant', [w2, b.f32(1.0)], domain=QONNX)], perm=[1, 0])])
        return s.act(b, y2, signed=True, bits=8)
    variant('brevitas_bipolar', 'brevitas', 'weights', 'BipolarQuant (binary) weights and hidden activation', [1, 16], bipolar)
    def trunc_avgpool(b, s):
        x = s.inp(b, 'x')
        a = s.act(b, b.node('Relu', [conv(b, s, x, 2, 4)]), scale=0.125, bits=4)
        p = b.node('AveragePool', [a], kernel_shape=[2, 2], strides=[2, 2])
        t = b.node('Trunc', [p, b.f32(0.125), b.f32(0.0), b.f32(6.0), b.f32(0.125), b.f32(4.0)], domain=QONNX, signed=0, narrow=0, rounding_mode='FLOOR')
        return s.act(b, conv(b, s, t, 4, 2, k=1, pad=0), signed=True, bits=8)
    variant('brevitas_avgpool_trunc', 'brevitas', 'pool', 'AveragePool then Trunc (Brevitas TruncAvgPool2d)', [1, 2, 6, 6], trunc_avgpool)
    variant('brevitas_hardtanh', 'brevitas', 'activations', 'QuantHardTanh: Clip(-1, 1) before a signed quantizer', [1, 16],
            mlp(lambda b, s, x: dense(b, s, s.act(b, b.node('Clip', [dense(b, s, x, 16, 8), b.f32(-1.0), b.f32(1.0)]), signed=True), 8, 4)))
    variant('brevitas_tanh', 'brevitas', 'activations', 'Tanh before a signed quantizer', [1, 16],
            mlp(lambda b, s, x: dense(b, s, s.act(b, b.node('Tanh', [dense(b, s, x, 16, 8)]), signed=True), 8, 4)))
    variant('brevitas_concat', 'brevitas', 'integer composition', 'Concat on channels of two quantized conv branches with one scale, after a first conv', [1, 2, 6, 6],
            cnn(lambda b, s, x: concat_branches(b, s, relu_q(b, s, conv(b, s, x, 2, 2, k=1, pad=0)))))
    # QDQ: HardSigmoid, Mul/Add scale-shift, opset-13 QDQ avgpool
    variant('qdq_hardsigmoid', 'qdq', 'activations', 'HardSigmoid before the quantizer', [1, 16],
            mlp(lambda b, s, x: dense(b, s, s.act(b, b.node('HardSigmoid', [dense(b, s, x, 16, 8)])), 8, 4)))
    variant('qdq_scale_shift', 'qdq', 'activations', 'Mul and Add by per-channel constants (a folded scale/shift) before Relu', [1, 16],
            mlp(lambda b, s, x: dense(b, s, relu_q(b, s, b.node('Add', [b.node('Mul', [dense(b, s, x, 16, 8), b.f32(b.rng.uniform(0.5, 2, 8))]), b.f32(b.rng.uniform(-0.3, 0.3, 8))])), 8, 4)))
    variant('qdq_avgpool', 'qdq', 'pool', 'conv, quantized Relu, QDQ AveragePool 2x2', [1, 2, 6, 6],
            cnn(lambda b, s, x: conv(b, s, s.act(b, b.node('AveragePool', [relu_q(b, s, conv(b, s, x, 2, 4))], kernel_shape=[2, 2], strides=[2, 2])), 4, 2, k=1, pad=0)))
    variant('qdq_three_dense', 'qdq', 'dense', 'three dense layers', [1, 16],
            mlp(lambda b, s, x: dense(b, s, relu_q(b, s, dense(b, s, relu_q(b, s, dense(b, s, x, 16, 12)), 12, 8)), 8, 4)))
    variant('hls4ml_conv_a16', 'hls4ml', 'activations', 'ap_ufixed<16,6> hidden activation between two 3x3 convs', [1, 2, 6, 6],
            cnn(lambda b, s, x: conv(b, s, relu_q(b, s, conv(b, s, x, 2, 3), bits=16, scale=2.0 ** -10), 3, 2)))
    variant('hls4ml_dense_a16', 'hls4ml', 'activations', 'ap_fixed<16,6> signed hidden activation between dense layers', [1, 16],
            mlp(lambda b, s, x: dense(b, s, s.act(b, dense(b, s, x, 16, 8), signed=True, bits=16, scale=2.0 ** -10), 8, 4)))
    variant('hls4ml_dense_a12', 'hls4ml', 'activations', 'ap_ufixed<12,4> hidden activation (4,096 levels)', [1, 16],
            mlp(lambda b, s, x: dense(b, s, relu_q(b, s, dense(b, s, x, 16, 8), bits=12, scale=2.0 ** -8), 8, 4)))
    variant('brevitas_concat_input_fanout', 'brevitas', 'integer composition', 'Concat of two conv branches that both read the graph input', [1, 2, 6, 6],
            cnn(lambda b, s, x: concat_branches(b, s, x)))


def concat_branches(b, s, x):
    sc = s.ascale(b, s.abits)
    a = relu_q(b, s, conv(b, s, x, 2, 2, k=1, pad=0), scale=sc)
    c = relu_q(b, s, conv(b, s, x, 2, 3), scale=sc)
    return conv(b, s, b.node('Concat', [a, c], axis=1), 5, 2, k=1, pad=0)


# --- TFLite -> ONNX QOperator ---------------------------------------------------------------
def qop_models():
    def qin(b, x, scale, zp, dt=np.uint8):
        return b.node('QuantizeLinear', [x, b.f32(scale), b.const(np.asarray(zp, dt))])

    def qmm(b, a, sa, za, n_in, n_out, so, zo, dt=np.uint8, wdt=np.int8):
        wc = b.codes([n_in, n_out], 8, True).astype(wdt)
        sw = float(np.float32(b.rng.uniform(0.005, 0.02)))
        return b.node('QLinearMatMul', [a, b.f32(sa), b.const(np.asarray(za, dt)), b.const(wc, 'w'), b.f32(sw), b.const(np.asarray(0, wdt)),
                                        b.f32(so), b.const(np.asarray(zo, dt))])

    def out(b, y, so, zo, dt=np.uint8):
        return b.node('DequantizeLinear', [y, b.f32(so), b.const(np.asarray(zo, dt))])

    def mm2(b, s):
        a = qin(b, 'x', 0.05, 128)
        h = qmm(b, a, 0.05, 128, 16, 8, 0.04, 0)
        y = qmm(b, h, 0.04, 0, 8, 4, 0.1, 128)
        return out(b, y, 0.1, 128)
    variant('qop_matmul', 'qop', 'dense', 'two QLinearMatMul layers (uint8, zero points 128 / 0 = fused Relu)', [1, 16], mm2)

    def mm_int8(b, s):
        a = qin(b, 'x', 0.05, 0, np.int8)
        h = qmm(b, a, 0.05, 0, 16, 8, 0.04, -128, np.int8)
        y = qmm(b, h, 0.04, -128, 8, 4, 0.1, 0, np.int8)
        return out(b, y, 0.1, 0, np.int8)
    variant('qop_matmul_int8', 'qop', 'dense', 'QLinearMatMul on int8 activations (zero point -128 = fused Relu)', [1, 16], mm_int8)

    def mm_bias(b, s):
        a = qin(b, 'x', 0.05, 128)
        h = qmm(b, a, 0.05, 128, 16, 8, 0.04, 0)
        d = out(b, h, 0.04, 0)
        d = b.node('Add', [d, b.f32(b.rng.integers(-4, 4, 8) * 0.04)])
        h2 = qin(b, d, 0.04, 0)
        y = qmm(b, h2, 0.04, 0, 8, 4, 0.1, 128)
        return out(b, y, 0.1, 128)
    variant('qop_matmul_dq_add', 'qop', 'dense', 'QLinearMatMul, DequantizeLinear, float bias Add, QuantizeLinear, QLinearMatMul', [1, 16], mm_bias)

    def qconv(b, s):
        a = qin(b, 'x', 0.05, 128)
        wc = b.codes([3, 2, 3, 3], 8, True).astype(np.int8)
        y = b.node('QLinearConv', [a, b.f32(0.05), b.const(np.uint8(128)), b.const(wc, 'w'), b.f32(0.01), b.const(np.int8(0)), b.f32(0.05), b.const(np.uint8(0)),
                                   b.const(b.rng.integers(-50, 50, 3).astype(np.int32), 'bias')], kernel_shape=[3, 3], pads=[1, 1, 1, 1])
        return out(b, y, 0.05, 0)
    variant('qop_conv', 'qop', 'conv', 'QLinearConv 3x3 pad 1 with int32 bias', [1, 2, 6, 6], qconv)

    def qconv_pool(b, s):
        a = qin(b, 'x', 0.05, 128)
        wc = b.codes([4, 2, 3, 3], 8, True).astype(np.int8)
        y = b.node('QLinearConv', [a, b.f32(0.05), b.const(np.uint8(128)), b.const(wc, 'w'), b.f32(0.01), b.const(np.int8(0)), b.f32(0.05), b.const(np.uint8(0))],
                   kernel_shape=[3, 3], pads=[1, 1, 1, 1])
        p = b.node('MaxPool', [y], kernel_shape=[2, 2], strides=[2, 2])
        return out(b, p, 0.05, 0)
    variant('qop_conv_maxpool', 'qop', 'pool', 'QLinearConv then MaxPool on uint8 codes', [1, 2, 6, 6], qconv_pool)

    def qadd(b, s):
        a = qin(b, 'x', 0.05, 128)
        h1 = qmm(b, a, 0.05, 128, 16, 8, 0.04, 0)
        h2 = qmm(b, a, 0.05, 128, 16, 8, 0.04, 0)
        sm = b.node('QLinearAdd', [h1, b.f32(0.04), b.const(np.uint8(0)), h2, b.f32(0.04), b.const(np.uint8(0)), b.f32(0.08), b.const(np.uint8(0))], domain='com.microsoft')
        return out(b, sm, 0.08, 0)
    variant('qop_add', 'qop', 'integer composition', 'QLinearAdd (com.microsoft) of two QLinearMatMul branches', [1, 16], qadd)


# --- The refusal classes of issue 12, as models ------------------------------------------------
def refusal_models():
    k, br, q = Style('qkeras'), Style('brevitas'), Style('qdq')
    variant('qkeras_relu_before_unsigned_input', 'qkeras', 'host boundary', 'Relu on the graph input before an unsigned Quant (QKeras quantized_relu input)', [1, 16],
            lambda b, s: s.act(b, dense(b, s, quant(b, b.node('Relu', ['x']), 8, False, 2.0 ** -5), 16, 4), signed=True, bits=8))
    variant('qkeras_relu_before_unsigned_hidden', 'qkeras', 'activations', 'quantized_relu written as a signed Quant, Relu, then an unsigned Quant', [1, 16],
            mlp(lambda b, s, x: dense(b, s, quant(b, b.node('Relu', [quant(b, dense(b, s, x, 16, 8), 8, True, 2.0 ** -4)]), 4, False, 2.0 ** -2), 8, 4)))

    def raw_branch(b, s):
        x = s.inp(b, 'x')
        a = relu_q(b, s, conv(b, s, x, 2, 4, k=1, pad=0), scale=0.5, bits=4)
        c = conv(b, s, a, 4, 4)  # raw accumulator: no quantizer on this branch
        return s.act(b, conv(b, s, relu_q(b, s, b.node('Add', [a, c]), scale=0.5, bits=4), 4, 2, k=1, pad=0), signed=True, bits=8)
    variant('brevitas_residual_raw_branch', 'brevitas', 'integer composition', 'residual Add whose one branch is a raw conv accumulator (no quantizer)', [1, 2, 6, 6], raw_branch)

    def conv1d(b, s):
        x = s.inp(b, 'x')
        y = relu_q(b, s, conv(b, s, x, 2, 4, k=3, pad=1, dims=1))
        return s.act(b, conv(b, s, y, 4, 2, k=1, pad=0, dims=1), signed=True, bits=8)
    variant('brevitas_conv1d', 'brevitas', 'shapes', '1-D convolutions on [1, C, L] (RadioML style)', [1, 2, 16], conv1d)

    def conv1d_pools(b, s):
        x = s.inp(b, 'x')
        y = b.node('MaxPool', [relu_q(b, s, conv(b, s, x, 2, 4, k=3, pad=1, dims=1))], kernel_shape=[2], strides=[2])
        z = s.act(b, b.node('AveragePool', [relu_q(b, s, conv(b, s, y, 4, 4, k=3, stride=2, pad=1, dims=1))], kernel_shape=[2], strides=[2]))
        return s.act(b, dense(b, s, b.node('Flatten', [z]), 8, 3), signed=True, bits=8)
    for st in ('qdq', 'qkeras'):
        variant(f'{st}_conv1d_pools', st, 'shapes', '1-D conv, MaxPool1d(2), strided 1-D conv, AveragePool1d(2), flatten, dense on [1, 2, 16]', [1, 2, 16], conv1d_pools)

    def d2s(b, s):
        x = s.inp(b, 'x')
        y = s.act(b, conv(b, s, x, 1, 4), signed=True, bits=8)
        return b.node('DepthToSpace', [y], blocksize=2, mode='CRD')
    variant('qdq_depth_to_space', 'qdq', 'data movement', 'conv to 4 channels then DepthToSpace(2) (ESPCN pixel shuffle)', [1, 1, 4, 4], d2s)

    def gap_big(b, s):
        x = s.inp(b, 'x')
        g = s.act(b, b.node('GlobalAveragePool', [x]))
        return s.act(b, dense(b, s, b.node('Flatten', [g]), 16, 4), signed=True, bits=8)
    variant('qdq_gap_32x32x16', 'qdq', 'pool', 'GlobalAveragePool over a 32x32x16 input, then a dense layer (width converter behind the pool)', [1, 16, 32, 32], gap_big)

    def float_mlp(b, s):
        w1 = b.f32(b.rng.normal(0, 0.3, [8, 16]), 'w')
        w2 = b.f32(b.rng.normal(0, 0.3, [4, 8]), 'w')
        h = b.node('Relu', [b.node('Gemm', ['x', w1, b.f32(b.rng.normal(0, 0.1, 8))], transB=1)])
        return b.node('Gemm', [h, w2, b.f32(b.rng.normal(0, 0.1, 4))], transB=1)
    variant('float_mlp', 'float', 'host boundary', 'an unquantized float32 MLP (Gemm, Relu, Gemm)', [1, 16], float_mlp)

    def float_cnn(b, s):
        w1 = b.f32(b.rng.normal(0, 0.3, [4, 2, 3, 3]), 'w')
        h = b.node('Relu', [b.node('Conv', ['x', w1], kernel_shape=[3, 3], pads=[1, 1, 1, 1])])
        return b.node('Conv', [h, b.f32(b.rng.normal(0, 0.3, [2, 4, 1, 1]), 'w')], kernel_shape=[1, 1])
    variant('float_cnn', 'float', 'host boundary', 'an unquantized float32 CNN (Conv, Relu, Conv)', [1, 2, 6, 6], float_cnn)


# --- Integer composition (issue 12): a residual Add where one branch is a raw accumulator --------
def raw_accumulator_models():
    def raw(left=False, partner_scale=None):
        def build(b, s):
            x = s.inp(b, 'x')
            a = relu_q(b, s, conv(b, s, x, 2, 4, k=1, pad=0), scale=0.5, bits=4)
            c = conv(b, s, a, 4, 4)  # raw accumulator: no quantizer on this branch
            p = a if partner_scale is None else relu_q(b, s, conv(b, s, a, 4, 4, k=1, pad=0), scale=partner_scale, bits=4)
            j = b.node('Add', [c, p] if left else [p, c])
            return s.act(b, conv(b, s, relu_q(b, s, j, scale=0.5, bits=4), 4, 2, k=1, pad=0), signed=True, bits=8)
        return build
    variant('qkeras_residual_raw_branch', 'qkeras', 'integer composition',
            'residual Add(a, raw conv accumulator of a): bias on 2^-6 under a 2^-4 sum, exact on 2^-6; the 0.5 branch x32', [1, 2, 6, 6], raw())
    variant('qkeras_residual_raw_left', 'qkeras', 'integer composition',
            'residual Add(raw conv accumulator, a): the raw branch on the first input', [1, 2, 6, 6], raw(left=True))
    variant('qkeras_residual_raw_coarse', 'qkeras', 'integer composition',
            'residual Add of a 2^-8 quantized branch and a raw accumulator on 2^-6: the raw branch x4', [1, 2, 6, 6], raw(partner_scale=2.0 ** -8))
    variant('hls4ml_residual_raw_branch', 'hls4ml', 'integer composition',
            'residual Add(a, raw conv accumulator): sum and bias on one grid 2^-7, the 0.5 branch x64', [1, 2, 6, 6], raw())


# --- Integer composition (issue 12): sums that stay exact integers through a whole block ----------
def integer_chain_models():
    def decimal_residual(b, s):
        # qonnx residual_block_clean: weights in {-0.1, 0, 0.1}, biases 0.1 * integers (float32), no quantizer after the
        # input's: every sum stays an integer (biases on the grid in float32), Relu an unsigned clamp, the
        # join ratio 100 in float32, and the MaxPool runs on the join's raw codes.
        def dconv(h, cin, cout):
            w = b.f32(np.float32(0.1) * b.rng.integers(-1, 2, size=[cout, cin, 3, 3]).astype(np.float32), 'w')
            bias = b.f32(np.float32(0.1) * b.rng.integers(-3, 4, size=cout).astype(np.float32), 'bias')
            return b.node('Conv', [h, w, bias], kernel_shape=[3, 3], pads=[1, 1, 1, 1])
        c0 = dconv(quant(b, 'x', 6, True, 2.0 ** -3), 1, 2)
        r = b.node('Relu', [dconv(b.node('Relu', [dconv(c0, 2, 2)]), 2, 2)])
        return b.node('MaxPool', [b.node('Add', [c0, r])], kernel_shape=[2, 2], strides=[2, 2])
    variant('brevitas_raw_decimal_residual', 'brevitas', 'integer composition',
            'residual_block_clean style: weights {-0.1, 0, 0.1}, biases 0.1·k, no activation quantizer, Relu, residual Add, MaxPool on the raw sum', [1, 1, 6, 6], decimal_residual)

    def grid_conv_maxpool(b, s):
        # onnx2c conv_k2_maxpool_k2: a float input, weights on 2^-3, Conv, MaxPool of the raw sum at the output.
        w = b.f32(b.rng.integers(-4, 5, size=[3, 2, 2, 2]) / 8.0, 'w')
        y = b.node('Conv', ['x', w, b.f32(b.rng.integers(-8, 9, size=3) / 32.0, 'bias')], kernel_shape=[2, 2])
        return b.node('Flatten', [b.node('MaxPool', [y], kernel_shape=[2, 2], strides=[2, 2])])
    variant('float_grid_conv_maxpool', 'float', 'integer composition', 'float input, Conv with weights on 2^-3, MaxPool of the unquantized sum, Flatten', [1, 2, 5, 5], grid_conv_maxpool)


# --- Shapes (issue 12): GlobalMaxPool -------------------------------------------------------------
def global_maxpool_models():
    for st in ('qkeras', 'brevitas', 'qdq'):
        variant(f'{st}_conv_global_maxpool', st, 'pool', 'conv, quantized Relu, GlobalMaxPool, Flatten, dense', [1, 2, 6, 6],
                mlp(lambda b, s, x: dense(b, s, b.node('Flatten', [b.node('GlobalMaxPool', [relu_q(b, s, conv(b, s, x, 2, 4))])]), 4, 3)))
    for st in ('qkeras', 'qdq'):
        variant(f'{st}_conv_maxpool_ceil', st, 'pool', 'conv, quantized Relu, 2x2/2 MaxPool with ceil_mode = 1 on a 5x5 image (3x3 out, floor gives 2x2)', [1, 2, 5, 5],
                cnn(lambda b, s, x: conv(b, s, b.node('MaxPool', [relu_q(b, s, conv(b, s, x, 2, 4))], kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1), 4, 3, k=1, pad=0)))
    variant('qkeras_conv_global_maxpool_before_quant', 'qkeras', 'pool', 'conv, Relu, GlobalMaxPool, then the quantizer (max moves after it)', [1, 2, 5, 7],
            mlp(lambda b, s, x: dense(b, s, b.node('Flatten', [s.act(b, b.node('GlobalMaxPool', [b.node('Relu', [conv(b, s, x, 2, 4)])]))]), 4, 3)))


# --- Data movement (issue 12): pixel shuffles at the graph boundary are host reorders -------------
def pixel_shuffle_models():
    variant('brevitas_depth_to_space', 'brevitas', 'data movement', 'conv to 8 channels, quantizer, DepthToSpace(2, DCR) at the output', [1, 2, 4, 4],
            lambda b, s: b.node('DepthToSpace', [s.act(b, conv(b, s, s.inp(b, 'x'), 2, 8), signed=True, bits=8)], blocksize=2, mode='DCR'))
    variant('qkeras_space_to_depth_input', 'qkeras', 'data movement', 'input quantizer, SpaceToDepth(2), then conv and dense', [1, 1, 6, 6],
            cnn(lambda b, s, x: conv(b, s, relu_q(b, s, conv(b, s, b.node('SpaceToDepth', [x], blocksize=2), 4, 4)), 4, 2, k=1, pad=0)))


# --- FINN-ONNX in (issue 12): MultiThreshold as the hidden activation ------------------------------
def multithreshold(b, x, channels, steps, out_scale, out_bias, lo, hi):
    t = np.sort(b.rng.uniform(lo, hi, size=[channels, steps]), axis=1).astype(np.float32)
    return b.node('MultiThreshold', [x, b.f32(t, 'thresholds')], domain=QONNX, out_scale=out_scale, out_bias=out_bias, out_dtype='UINT4')


def finn_models():
    variant('qkeras_dense_multithreshold', 'qkeras', 'finn', 'dense, FINN MultiThreshold (15 per-channel steps, out_scale 0.5), dense', [1, 16],
            mlp(lambda b, s, x: dense(b, s, multithreshold(b, dense(b, s, x, 16, 8), 8, 15, 0.5, 0.0, -2.0, 2.0), 8, 4)))
    variant('qkeras_conv_multithreshold', 'qkeras', 'finn', 'conv, FINN MultiThreshold (7 steps, out_bias -2: signed codes), 1x1 conv', [1, 2, 6, 6],
            cnn(lambda b, s, x: conv(b, s, multithreshold(b, conv(b, s, x, 2, 4), 4, 7, 1.0, -2.0, -1.5, 1.5), 4, 2, k=1, pad=0)))


def main():
    os.makedirs(OUT, exist_ok=True)
    for st in ('qkeras', 'brevitas', 'qdq', 'hls4ml'):
        add_core(Style(st))
    add_style_specific()
    qop_models()
    refusal_models()
    raw_accumulator_models()
    integer_chain_models()
    global_maxpool_models()
    pixel_shuffle_models()
    finn_models()
    index = []
    for v in VARIANTS:
        b = B(v['name'])
        y = v['build'](b, Style(v['style']) if v['style'] in ('qkeras', 'brevitas', 'qdq', 'hls4ml') else None)
        b.save('x', v['in_shape'], y, opset=v['opset'])
        index.append({k: v[k] for k in ('name', 'style', 'rule', 'doc', 'in_shape')})
    names = [v['name'] for v in index]
    assert len(set(names)) == len(names), 'duplicate model names'
    with open(os.path.join(OUT, 'index.json'), 'w') as f:
        json.dump({'generator': 'test/generality/make-variants.py', 'styles': STYLES, 'models': index}, f, indent=1)
        f.write('\n')
    print(f'{len(index)} models in {OUT}', file=sys.stderr)


if __name__ == '__main__':
    main()
