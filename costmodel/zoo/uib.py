"""MobileNetV4's blocks (Qin et al. 2024, arXiv 2404.10518, section 3): the Universal Inverted
Bottleneck, the fused inverted bottleneck and the Mobile MQA attention block, as the official TensorFlow code
(tensorflow/models official/vision/modeling/layers/nn_blocks.py, ``UniversalInvertedBottleneckBlock``
and ``InvertedBottleneckBlock(use_depthwise=False)``) and timm (``UniversalInvertedResidual``,
``EdgeResidual``) build them; the two agree layer for layer.

**UIB** (paper Fig. 4) is one block with two optional depthwise convs, kernel 0 meaning absent:

    [start dw k1 + BN]  ->  1x1 expand to make_divisible(C_in x e, 8) + BN + act
    ->  [middle dw k2 / s + BN + act]  ->  1x1 project to C_out + BN  ->  [layer scale]  ->  (+ x)

| start | middle | the paper's name |
|---|---|---|
| 0 | k | IB (MobileNetV2's inverted bottleneck) |
| k | 0 | ConvNext-like (spatial mixing on the narrow input) |
| 0 | 0 | FFN (two 1x1 convs) |
| k | k | ExtraDW |

The stride goes to the middle depthwise when there is one (``middle_dw_downsample=True`` in every
MNv4 spec), else to the start depthwise; an FFN cannot stride. Identity shortcut when the stride
is 1 and C_in == C_out. Mult-Adds of a stride-1 UIB: H W [k1^2 C_in + C_in E + k2^2 E + E C_out].

**Fused IB** (the MNv4 stems' ``fused_ib``, timm's ``EdgeResidual``): k x k / s conv to
make_divisible(C_in x e, 8) + BN + act, 1x1 project + BN, shortcut when s = 1 and C_in == C_out.

**Mobile MQA** (section 3.2; TF ``MultiHeadSelfAttentionBlock(use_multi_query=True)`` with
``OptimizedMultiQueryAttentionLayerWithDownSampling``, timm ``MobileAttention`` +
``MultiQueryAttention2d``): BatchNorm of the input, then h query heads and ONE key and value head
(multi-query attention):

    q = 1x1 conv to h x d_k (no bias)                       -> h matrices d_k x N   (N = H W)
    k = [dw 3x3 / s_kv + BN] -> 1x1 conv to d_k (no bias)    -> 1 matrix d_k x M     (M = N / s_kv^2)
    v = [dw 3x3 / s_kv + BN] -> 1x1 conv to d_v (no bias)    -> 1 matrix d_v x M
    A = softmax(q^T k / sqrt(d_k)) (h x N x M);  o = v A^T (h x d_v x N) -> map (h d_v, H, W)
    out = 1x1 conv to C_out (no bias) -> [layer scale] -> (+ x)

The regrouping into heads is a view (``Reshape``), the two products are ``MatMul`` ops (operands read
transposed, the single key/value head broadcast over the h query heads) whose h N M (d_k + d_v)
multiply-accumulates count in ``attn_madds``; the projections are 1x1 convs and count in ``madds``.
"""
from __future__ import annotations

from ..errors import SpecError
from ..graph import GraphBuilder
from ..ops_attention import LayerScale, MatMul, Reshape, Softmax
from ..rounding import make_divisible
from ..spec import Context, block_type


def _expanded(c_in: int, e) -> int:
    if isinstance(e, bool) or not isinstance(e, (int, float)) or not e > 0:
        raise SpecError(f"expansion ratio e must be a positive number, got {e!r}")
    return make_divisible(c_in * e, 8)


def _kernel(k, what: str) -> int:
    if isinstance(k, bool) or not isinstance(k, int) or k < 0 or (k and k % 2 == 0):
        raise SpecError(f"{what} must be 0 (absent) or an odd kernel size, got {k!r}")
    return k


@block_type("uib")
def universal_inverted_bottleneck(g: GraphBuilder, x: str, ctx: Context, *, c: int, e: float, start_k: int = 0,
                                  mid_k: int = 3, s=1, act: str = "relu", layer_scale: bool = False,
                                  width: str = "scaled") -> str:
    """MobileNetV4 Universal Inverted Bottleneck: optional start depthwise (``start_k``, BN, no
    activation), 1x1 expansion to make_divisible(C_in x e, 8) + BN + act, optional middle
    depthwise (``mid_k``, BN + act), 1x1 projection to c + BN, optional layer scale (a learned
    per-channel multiply, the Hybrid models), identity shortcut when s = 1 and C_in == C_out.
    The stride is applied by the middle depthwise, else by the start one. Kernel 0 = absent."""
    start_k, mid_k = _kernel(start_k, "uib start_k"), _kernel(mid_k, "uib mid_k")
    stride = (s, s) if isinstance(s, int) else tuple(s)
    if stride != (1, 1) and not (start_k or mid_k):
        raise SpecError("uib: a strided block needs a start or a middle depthwise conv (an FFN cannot stride)")
    c_in = g.shape(x)[0]
    c_out = ctx.ch(c, width)
    y = x
    if start_k:
        y = g.dwconv(y, start_k, 1 if mid_k else s, act=None, name="dw_start")
    y = g.conv(y, _expanded(c_in, e), 1, act=act, name="expand")
    if mid_k:
        y = g.dwconv(y, mid_k, s, act=act, name="dw_mid")
    y = g.conv(y, c_out, 1, act=None, name="project")
    if layer_scale:
        y = g.add(LayerScale(), y, "layer_scale")
    if stride == (1, 1) and c_in == c_out:
        y = g.add_tensors([x, y], "add")
    return y


@block_type("fused_ib")
def fused_inverted_bottleneck(g: GraphBuilder, x: str, ctx: Context, *, c: int, e: float, k: int = 3, s=1,
                              act: str = "relu", width: str = "scaled") -> str:
    """Fused inverted bottleneck (MobileNetV4's ``fused_ib``, EfficientNet-EdgeTPU's fused MBConv):
    k x k / s conv to make_divisible(C_in x e, 8) + BN + act, 1x1 projection to c + BN, identity
    shortcut when s = 1 and C_in == C_out."""
    c_in = g.shape(x)[0]
    c_out = ctx.ch(c, width)
    y = g.conv(x, _expanded(c_in, e), _kernel(k, "fused_ib k") or 1, s, act=act, name="expand")
    y = g.conv(y, c_out, 1, act=None, name="project")
    stride = (s, s) if isinstance(s, int) else tuple(s)
    if stride == (1, 1) and c_in == c_out:
        y = g.add_tensors([x, y], "add")
    return y


def _positive(v, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise SpecError(f"mqa {what} must be a positive integer, got {v!r}")
    return v


@block_type("mqa")
def mobile_mqa(g: GraphBuilder, x: str, ctx: Context, *, c: int, heads: int, key_dim: int, value_dim: int,
               kv_stride: int = 1, dw_k: int = 3, layer_scale: bool = False, width: str = "scaled") -> str:
    """MobileNetV4 Mobile MQA block: BatchNorm; queries 1x1 conv to heads x key_dim; one key and
    one value head (1x1 convs to key_dim, value_dim), each after a depthwise dw_k x dw_k /
    kv_stride conv + BN when kv_stride > 1; softmax(q^T k / sqrt(key_dim)) v per head; 1x1 output
    conv to c (no conv has a bias); optional layer scale; identity shortcut when C_in == c. Heads
    and key/value dims are not scaled by alpha."""
    heads, key_dim, value_dim = (_positive(heads, "heads"), _positive(key_dim, "key_dim"),
                                 _positive(value_dim, "value_dim"))
    kv_stride, dw_k = _positive(kv_stride, "kv_stride"), _kernel(dw_k, "mqa dw_k")
    c_in, h, w = g.shape(x)
    c_out = ctx.ch(c, width)
    n = g.bn(x, "norm")
    q = g.conv(n, heads * key_dim, 1, bn=False, bias=False, name="query")
    q = g.add(Reshape((heads, key_dim, h * w)), q, "query.heads")

    def head(name: str, dim: int) -> str:
        y = g.dwconv(n, dw_k or 1, kv_stride, act=None, name=f"{name}.down") if kv_stride > 1 else n
        y = g.conv(y, dim, 1, bn=False, bias=False, name=name)
        _, hk, wk = g.shape(y)
        return g.add(Reshape((1, dim, hk * wk)), y, f"{name}.rows")

    k, v = head("key", key_dim), head("value", value_dim)
    a = g.add(MatMul(transpose_a=True, scale=key_dim ** -0.5), [q, k], "logits")    # (heads, N, M)
    a = g.add(Softmax(), a, "softmax")
    o = g.add(MatMul(transpose_b=True), [v, a], "context")                            # (heads, d_v, N)
    o = g.add(Reshape((heads * value_dim, h, w)), o, "context.map")
    y = g.conv(o, c_out, 1, bn=False, bias=False, name="output")
    if layer_scale:
        y = g.add(LayerScale(), y, "layer_scale")
    if c_in == c_out:
        y = g.add_tensors([x, y], "add")
    return y
