"""The PyTorch importer's mapping, part two: element-wise products and sums, data movement
(cat, chunk/split, channel slicing, views, pads), dropout, upsampling, and the table of ``nn``
module types (``MODULES``). Registered into ``costmodel/torch_ops.py``'s tables; see its
docstring for the whole mapping."""
from __future__ import annotations

import torch
from torch import nn

from .ops import Activation, Add, ChannelShuffle, Concat, Dropout, Multiply, Split, Upsample
from .torch_base import TV, NotMapped, Pending, is_tensor
from .torch_ops import (HANDLERS, MODULES, _bn_module, _conv_module, _dim, _hardtanh, _map, _pair, act, adaptive,
                        linear, op,
                        pool)


# ----------------------------------------------------------------------------- element-wise
def _is_tensor_other(imp, a, what):
    """Both operands tensors (``what``: 'add of' / 'multiply by')."""
    for v in (a.other, a.input):
        if not is_tensor(v):
            raise NotMapped(f"{what} a constant {type(v).__name__} (only operations on two tensors are modelled)")


@op("add", "input, other, alpha=1", functions=("operator.add", "operator.iadd", "torch.add"),
    methods=("add", "add_", "__add__", "__iadd__"), aten=("add", "add_"))
def _add(imp, a):
    if is_tensor(a.input) != is_tensor(a.other) and a.alpha == 1:
        t, c = (a.input, a.other) if is_tensor(a.input) else (a.other, a.input)
        if isinstance(c, (int, float)) and not isinstance(c, bool) and c == 0:
            return t  # 0 + x (an accumulator started at 0): the identity, no node
        if isinstance(t, TV) and isinstance(c, (int, float)) and not isinstance(c, bool) and c == 3:
            src = next((n for n in imp.node.args[:2] if hasattr(n, "op")), None)
            return Pending("shift", t, t.shape, imp.node, src)  # x + 3 of a hard-sigmoid written out
    _is_tensor_other(imp, a, "add of")
    if a.alpha != 1:
        raise NotMapped(f"alpha={a.alpha}")
    x, y = imp.ref(a.input), imp.ref(a.other)
    if imp.full(x) != imp.full(y):
        raise NotMapped(f"add with broadcasting {list(imp.full(x))} + {list(imp.full(y))} (only equal shapes are "
                        f"modelled)")
    return imp.tv(imp.emit(Add(), [x, y]))


def _operand(imp, v):
    """A product's operand: a pending expand multiplies as its (broadcastable) base."""
    if isinstance(v, Pending) and v.kind == "expand" and v.resolved is None:
        return v.base.ref
    return imp.ref(v)


@op("mul", "input, other", functions=("operator.mul", "operator.imul", "torch.mul"),
    methods=("mul", "mul_", "__mul__", "__imul__"), aten=("mul", "mul_"))
def _mul(imp, a):
    for p, other in ((a.input, a.other), (a.other, a.input)):
        if isinstance(p, Pending) and p.kind == "relu6shift" and isinstance(other, TV) and other.ref == p.base.ref:
            return Pending("hswish6", p.base, p.shape, imp.node, p.data)  # x * relu6(x + 3), "/ 6" to follow
    _is_tensor_other(imp, a, "multiply by")
    for gate, other in ((a.input, a.other), (a.other, a.input)):
        if isinstance(gate, Pending) and gate.kind == "gate" and gate.resolved is None \
                and imp.ref(other) == gate.base.ref:  # x * sigmoid(x): one activation
            gate.resolved = ref = imp.emit(Activation(gate.data[0]), [gate.base.ref], name=imp.base_name(gate.origin))
            return imp.tv(ref)
    x, y = _operand(imp, a.input), _operand(imp, a.other)
    sx, sy = imp.full(x), imp.full(y)
    if len(sx) != len(sy) or any(p != q and 1 not in (p, q) for p, q in zip(sx, sy)):
        raise NotMapped(f"multiply of {list(sx)} by {list(sy)} (only equal shapes or a (N, C, 1, 1) gate are "
                        f"modelled)")
    return imp.tv(imp.emit(Multiply(), [x, y]))


@op("div", "input, other, rounding_mode=None", functions=("operator.truediv", "operator.itruediv", "torch.div",
                                                           "torch.true_divide"),
    methods=("div", "div_", "__truediv__", "true_divide"), aten=("div",))
def _div(imp, a):
    """Only hard-sigmoid and hard-swish written out: relu6(x + 3) / 6 and x * relu6(x + 3) / 6."""
    x, c = a.input, a.other
    if isinstance(x, Pending) and x.kind in ("relu6shift", "hswish6") and not is_tensor(c) and c == 6 \
            and a.rounding_mode is None:
        if x.kind == "relu6shift":
            return act(imp, x.base, "hsigmoid", gate="hswish", src=x.data)
        return act(imp, x.base, "hswish")
    raise NotMapped("divide (only hard-sigmoid and hard-swish written out, relu6(x + 3) / 6 and "
                    "x * relu6(x + 3) / 6, are modelled)")


@op("clamp", "input, min=None, max=None", functions=("torch.clamp", "torch.clip"),
    methods=("clamp", "clip", "clamp_", "clip_"), aten=("clamp", "clip"))
def _clamp(imp, a):
    if (a.min, a.max) == (0, 6):
        return act(imp, a.input, "relu6")
    if a.min == 0 and a.max is None:
        return act(imp, a.input, "relu")
    raise NotMapped(f"clamp({a.min}, {a.max}) is neither relu6 (0, 6) nor relu (0, None)")


# ----------------------------------------------------------------------------- data movement
@op("cat", "tensors, dim=0", functions=("torch.cat", "torch.concat", "torch.concatenate"), aten=("cat", "concat"))
def _cat(imp, a):
    xs = list(a.tensors)
    if not xs or not all(is_tensor(x) for x in xs):
        raise NotMapped("cat with a constant tensor (e.g. a learned token)")
    refs = [imp.ref(x) for x in xs]
    rank = len(imp.full(refs[0]))
    if _dim(a.dim, rank) != 1:
        raise NotMapped(f"cat on dim {a.dim} of rank-{rank} tensors (only the channel axis 1 is modelled)")
    if len(refs) == 1:
        return imp.tv(refs[0])
    return imp.tv(imp.emit(Concat(), refs))


def split(imp, x, sizes):
    ref = imp.ref(x)
    if len(sizes) == 1:
        return (imp.tv(ref),)
    out = imp.emit(Split(tuple(sizes)), [ref])
    return tuple(imp.tv(r) for r in imp.g.outputs_of(out))


def _channels(imp, x, dim, what):
    shape = x.shape
    if _dim(dim, len(shape)) != 1:
        raise NotMapped(f"{what} on dim {dim} of a rank-{len(shape)} tensor (only the channel axis 1 is modelled)")
    return shape[1]


@op("chunk", "input, chunks, dim=0", functions=("torch.chunk",), methods=("chunk",), aten=("chunk",))
def _chunk(imp, a):
    c = _channels(imp, a.input, a.dim, "chunk")
    each = -(-c // int(a.chunks))
    n = -(-c // each)
    return split(imp, a.input, [each] * (n - 1) + [c - each * (n - 1)])


@op("split", "input, split_size_or_sections, dim=0", functions=("torch.split",), methods=("split",),
    aten=("split", "split_with_sizes"))
def _split(imp, a):
    c = _channels(imp, a.input, a.dim, "split")
    s = a.split_size_or_sections
    if isinstance(s, (list, tuple)):
        sizes = [int(v) for v in s]
        if sum(sizes) != c:
            raise NotMapped(f"split sizes {sizes} do not add up to the {c} channels")
    else:
        s = int(s)
        sizes = [s] * (c // s) + ([c % s] if c % s else [])
    return split(imp, a.input, sizes)


def channel_range(imp, x, dim, start, stop, step):
    shape = x.shape
    dim = _dim(dim, len(shape))
    size = shape[dim]
    lo, hi, st = slice(start, None if stop is None else min(int(stop), 2 ** 62), step).indices(size)
    if (lo, hi, st) == (0, size, 1):
        return x
    if dim != 1 or st != 1 or hi <= lo:
        raise NotMapped(f"slice [{start}:{stop}:{step}] of axis {dim} (only a contiguous channel range is modelled)")
    parts = [(p, q) for p, q in ((0, lo), (lo, hi), (hi, size)) if q > p]
    return split(imp, x, [q - p for p, q in parts])[parts.index((lo, hi))]


def getitem(imp, x, idx):
    idx = idx if isinstance(idx, tuple) else (idx,)
    rank = len(x.shape)
    if any(i is Ellipsis for i in idx):
        k = idx.index(Ellipsis)
        idx = idx[:k] + (slice(None),) * (rank - len(idx) + 1) + idx[k + 1:]
    if len(idx) > rank or not all(isinstance(i, slice) for i in idx):
        raise NotMapped(f"indexing with {idx!r:.60} (only slices of the channel axis are modelled)")
    for d, s in enumerate(idx):
        x = channel_range(imp, x, d, s.start, s.stop, s.step)
    return x


@op("slice", "input, dim=0, start=None, end=None, step=1", aten=("slice",))
def _slice(imp, a):
    return channel_range(imp, a.input, a.dim, a.start, a.end, a.step)


def _shape_of(x):
    return tuple(x.shape)


@op("view", "input, *shape", methods=("view", "reshape"), aten=("view", "_unsafe_view", "reshape"),
    aten_sig="input, shape")
def _view(imp, a):
    return imp.view(a.input, shape=tuple(a.shape))


@op("reshape", "input, shape", functions=("torch.reshape",))
def _reshape(imp, a):
    return imp.view(a.input, shape=tuple(a.shape))


@op("view_as", "input, other", methods=("view_as", "reshape_as"), aten=("view_as", "reshape_as"))
def _view_as(imp, a):
    return imp.view(a.input, shape=_shape_of(a.other))


def _flatten_shape(shape, start, end):
    rank = len(shape)
    s, e = _dim(start, rank), _dim(end, rank)
    if rank == 0 or e < s:
        return tuple(shape)
    merged = 1
    for d in shape[s:e + 1]:
        merged *= d
    return tuple(shape[:s]) + (merged,) + tuple(shape[e + 1:])


@op("flatten", "input, start_dim=0, end_dim=-1", functions=("torch.flatten",), methods=("flatten",),
    aten=("flatten",))
def _flatten(imp, a):
    return imp.view(a.input, shape=_flatten_shape(a.input.shape, a.start_dim, a.end_dim))


def _unflatten_shape(shape, dim, sizes):
    d = _dim(dim, len(shape))
    return tuple(shape[:d]) + tuple(int(s) for s in sizes) + tuple(shape[d + 1:])


@op("unflatten", "input, dim, sizes", functions=("torch.unflatten",), methods=("unflatten",), aten=("unflatten",))
def _unflatten(imp, a):
    return imp.view(a.input, shape=_unflatten_shape(a.input.shape, a.dim, a.sizes))


@op("squeeze", "input, dim=None", functions=("torch.squeeze",), methods=("squeeze",), aten=("squeeze",))
def _squeeze(imp, a):
    shape = a.input.shape
    dims = a.dim if isinstance(a.dim, (list, tuple)) else (range(len(shape)) if a.dim is None else [a.dim])
    drop = {_dim(d, len(shape)) for d in dims}
    return imp.view(a.input, shape=tuple(s for i, s in enumerate(shape) if not (i in drop and s == 1)))


@op("unsqueeze", "input, dim", functions=("torch.unsqueeze",), methods=("unsqueeze",), aten=("unsqueeze",))
def _unsqueeze(imp, a):
    shape = list(a.input.shape)
    d = _dim(a.dim, len(shape) + 1)
    return imp.view(a.input, shape=tuple(shape[:d] + [1] + shape[d:]))


@op("transpose", "input, dim0, dim1", functions=("torch.transpose", "torch.swapaxes", "torch.swapdims"),
    methods=("transpose", "swapaxes", "swapdims"), aten=("transpose",))
def _transpose(imp, a):
    rank = len(a.input.shape)
    perm = list(range(rank))
    i, j = _dim(a.dim0, rank), _dim(a.dim1, rank)
    perm[i], perm[j] = perm[j], perm[i]
    return imp.view(a.input, perm=perm)


@op("permute", "input, *dims", methods=("permute",), aten=("permute",), aten_sig="input, dims")
def _permute(imp, a):
    rank = len(a.input.shape)
    perm = [_dim(d, rank) for d in a.dims]
    if sorted(perm) != list(range(rank)):
        raise NotMapped(f"permute {list(a.dims)} of a rank-{rank} tensor")
    return imp.view(a.input, perm=perm)


@op("permute", "input, dims", functions=("torch.permute",))
def _permute_fn(imp, a):
    return _permute(imp, a)


@op("contiguous", "input, memory_format=None", methods=("contiguous", "clone", "detach", "float", "cpu"),
    functions=("torch.clone",), aten=("clone", "contiguous", "alias", "detach", "lift_fresh_copy"))
def _alias(imp, a):
    if a.memory_format not in (None, torch.contiguous_format, torch.preserve_format):
        raise NotMapped(f"memory_format={a.memory_format}")
    return a.input


@op("expand", "input, *size", methods=("expand",), aten=("expand",), aten_sig="input, size, implicit=False")
def _expand(imp, a):
    shape = tuple(int(s) if s != -1 else a.input.shape[i] for i, s in enumerate(a.size))
    base = imp.tv(imp.ref(a.input))
    if shape == base.shape:
        return base
    return Pending("expand", base, shape, imp.node)


@op("expand_as", "input, other", methods=("expand_as",), aten=("expand_as",))
def _expand_as(imp, a):
    return _expand(imp, type(a)(input=a.input, size=_shape_of(a.other)))


@op("channel_shuffle", "input, groups", functions=("F.channel_shuffle", "torch.channel_shuffle",
                                                   "torch.native_channel_shuffle"),
    aten=("channel_shuffle", "native_channel_shuffle"))
def _shuffle(imp, a):
    ref, _ = _map(imp, a.input)
    return imp.tv(imp.emit(ChannelShuffle(int(a.groups)), [ref]))


@op("pad", "input, pad, mode='constant', value=None", functions=("F.pad", "torch._C._nn.pad"), aten=("pad",))
def _pad(imp, a):
    return pad(imp, a.input, a.pad, a.mode, a.value)


@op("constant_pad_nd", "input, pad, value=0", aten=("constant_pad_nd",))
def _constant_pad(imp, a):
    return pad(imp, a.input, a.pad, "constant", a.value)


def pad(imp, x, pads, mode, value):
    pads = [int(p) for p in pads]
    if mode != "constant" or len(pads) not in (2, 4) or min(pads) < 0 or len(x.shape) != 4:
        raise NotMapped(f"pad {pads} mode={mode!r} (only non-negative constant padding of H and W of a map is "
                        f"modelled, as the padding of the convolution or pooling that reads it)")
    left, right, top, bottom = (pads + [0, 0])[:4]
    base = imp.tv(imp.ref(x))
    n, c, h, w = base.shape
    value = 0.0 if value is None else float(value)
    return Pending("pad", base, (n, c, h + top + bottom, w + left + right), imp.node,
                   ((top, bottom, left, right), value))


# ----------------------------------------------------------------------------- identity at inference
def dropout(imp, x, p, training):
    if training:
        raise NotMapped("training=True: random at inference, not the identity (pass training=self.training)")
    return imp.tv(imp.emit(Dropout(float(p) if 0 <= float(p) < 1 else 0.0), [imp.ref(x)]))


@op("dropout", "input, p=0.5, training=True, inplace=False",
    functions=("F.dropout", "F.dropout1d", "F.dropout2d", "F.dropout3d", "F.alpha_dropout",
               "F.feature_alpha_dropout"), aten=("dropout", "feature_dropout", "alpha_dropout"),
    aten_sig="input, p, train")
def _dropout(imp, a):
    return dropout(imp, a.input, a.p, getattr(a, "training", getattr(a, "train", False)))


@op("stochastic_depth", "input, p, mode, training=True",
    names=("torchvision.ops.stochastic_depth.stochastic_depth",))
def _stochastic_depth(imp, a):
    """torchvision's StochasticDepth: the identity at inference, no node (torch.export sees none
    either, and timm's DropPath traces to nothing)."""
    if a.training and a.p > 0:
        raise NotMapped("training=True: random at inference, not the identity")
    return a.input


# ----------------------------------------------------------------------------- upsampling
def upsample(imp, x, size, scale, mode, align_corners):
    ref, (_, _, h, w) = _map(imp, x)
    if mode not in ("nearest", "bilinear") or (mode == "bilinear" and align_corners):
        raise NotMapped(f"mode={mode!r} align_corners={align_corners} (nearest, or bilinear without "
                        f"align_corners, is modelled)")
    if size is None:
        sh, sw = scale if isinstance(scale, (list, tuple)) else (scale, scale)
        if not (h * sh).is_integer() or not (w * sw).is_integer():
            raise NotMapped(f"scale_factor {scale} that does not give an integer size")
        size = (int(h * sh), int(w * sw))
    return imp.tv(imp.emit(Upsample(_pair(size), mode), [ref]))


@op("interpolate", "input, size=None, scale_factor=None, mode='nearest', align_corners=None, "
    "recompute_scale_factor=None, antialias=False", functions=("F.interpolate", "F.upsample"))
def _interpolate(imp, a):
    if a.antialias:
        raise NotMapped("antialias=True")
    return upsample(imp, a.input, a.size, a.scale_factor, a.mode, a.align_corners)


@op("upsample_nearest2d", "input, output_size, scale_factors=None", aten=("upsample_nearest2d",))
def _up_nearest(imp, a):
    return upsample(imp, a.input, a.output_size, a.scale_factors, "nearest", None)


@op("upsample_bilinear2d", "input, output_size, align_corners, scale_factors=None", aten=("upsample_bilinear2d",))
def _up_bilinear(imp, a):
    return upsample(imp, a.input, a.output_size, a.scale_factors, "bilinear", a.align_corners)


# ----------------------------------------------------------------------------- modules
def _identity(imp, m, x):
    return x


def _upsample_module(imp, m, x):
    return upsample(imp, x, m.size, m.scale_factor, m.mode, m.align_corners)


def _flatten_module(imp, m, x):
    return imp.view(x, shape=_flatten_shape(x.shape, m.start_dim, m.end_dim))


def _pad_module(imp, m, x):
    return pad(imp, x, m.padding, "constant", m.value)


MODULES.update({
    nn.Conv2d: _conv_module,
    nn.Linear: lambda imp, m, x: linear(imp, x, m.weight, m.bias),
    nn.BatchNorm1d: _bn_module, nn.BatchNorm2d: _bn_module, nn.SyncBatchNorm: _bn_module,
    nn.ReLU: lambda imp, m, x: act(imp, x, "relu"),
    nn.ReLU6: lambda imp, m, x: act(imp, x, "relu6"),
    nn.Hardtanh: lambda imp, m, x: _hardtanh(imp, x, m.min_val, m.max_val),
    nn.Sigmoid: lambda imp, m, x: act(imp, x, "sigmoid", gate="swish"),
    nn.SiLU: lambda imp, m, x: act(imp, x, "swish"),
    nn.GELU: lambda imp, m, x: act(imp, x, "gelu"),
    nn.Hardswish: lambda imp, m, x: act(imp, x, "hswish"),
    nn.Hardsigmoid: lambda imp, m, x: act(imp, x, "hsigmoid", gate="hswish"),
    nn.MaxPool2d: lambda imp, m, x: (_no_indices(m) or pool(imp, x, "max", m.kernel_size, m.stride, m.padding,
                                                            m.ceil_mode, m.dilation)),
    nn.AvgPool2d: lambda imp, m, x: (_no_divisor(m) or pool(imp, x, "avg", m.kernel_size, m.stride, m.padding,
                                                            m.ceil_mode, count_include_pad=m.count_include_pad)),
    nn.AdaptiveAvgPool2d: lambda imp, m, x: adaptive(imp, x, m.output_size),
    nn.Dropout: lambda imp, m, x: dropout(imp, x, m.p, False),
    nn.Dropout1d: lambda imp, m, x: dropout(imp, x, m.p, False),
    nn.Dropout2d: lambda imp, m, x: dropout(imp, x, m.p, False),
    nn.Dropout3d: lambda imp, m, x: dropout(imp, x, m.p, False),
    nn.AlphaDropout: lambda imp, m, x: dropout(imp, x, m.p, False),
    nn.FeatureAlphaDropout: lambda imp, m, x: dropout(imp, x, m.p, False),
    nn.Flatten: _flatten_module,
    nn.Unflatten: lambda imp, m, x: imp.view(x, shape=_unflatten_shape(x.shape, m.dim, m.unflattened_size)),
    nn.Identity: _identity,
    nn.ChannelShuffle: lambda imp, m, x: imp.tv(imp.emit(ChannelShuffle(int(m.groups)), [_map(imp, x)[0]])),
    nn.Upsample: _upsample_module,
    nn.ZeroPad2d: _pad_module, nn.ConstantPad2d: _pad_module,
})


def _no_indices(m):
    if m.return_indices:
        raise NotMapped("return_indices=True")


def _no_divisor(m):
    if m.divisor_override is not None:
        raise NotMapped(f"divisor_override={m.divisor_override}")

HANDLERS["getitem"] = getitem
