"""The PyTorch -> IR mapping table of the PyTorch importer (``costmodel/torch_import.py``).

Every mapped op is one handler registered for all the forms it takes in a traced graph: the
``nn`` module (``MODULES``, by exact type), the ``torch.*`` / ``F.*`` function, the ``Tensor``
method (torch.fx) and the ATen operator (torch.export). Each registration states the argument
signature it binds. Mapping (PyTorch -> IR op):

* Conv2d / F.conv2d (groups, dilation, stride, int/pair/'same'/'valid' zero padding; a preceding
  F.pad or ZeroPad2d folds into its padding) -> conv2d; Linear / F.linear on (N, F) -> linear;
  BatchNorm1d/2d / F.batch_norm in inference form (running statistics) -> batchnorm.
* ReLU, ReLU6, Hardtanh(0, 6), Sigmoid, SiLU, Hardswish, Hardsigmoid (modules, functions,
  methods, in-place forms) -> activation; ``x * sigmoid(x)`` and ``x * hardsigmoid(x)`` where the
  gate feeds only that product -> swish / hswish; other products, e.g. SE gates (C, 1, 1) x
  (C, H, W), also through ``expand``/``expand_as`` -> multiply; tensor + tensor -> add.
* MaxPool2d, AvgPool2d (ceil_mode, count_include_pad), AdaptiveAvgPool2d (output 1 -> global
  average pool), ``mean`` over (2, 3) -> pooling; cat on the channel axis -> concat;
  chunk / split / channel slicing ``x[:, a:b]`` -> split.
* view / reshape / flatten / unflatten / squeeze / unsqueeze / transpose / permute chains ->
  flatten, unflatten (a vector back to a map, as linear SE gates do) or channel_shuffle
  (``costmodel/torch_views.py``); ChannelShuffle / F.channel_shuffle -> channel_shuffle.
* Dropout (any kind, at inference), torchvision's StochasticDepth -> dropout (identity);
  Identity, contiguous, clone, detach -> no node; F.interpolate / Upsample (nearest, bilinear
  without align_corners) -> upsample.
* Shape arithmetic (``x.size()``, ``x.shape``, ``operator.*`` on ints) and functions of
  constants only (parameters, buffers) are evaluated; they create no node.
"""
from __future__ import annotations

import ast
import builtins
import math
import operator
from types import SimpleNamespace
from typing import Callable, Dict, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from .ops import Activation, AdaptiveAvgPool, AvgPool, BatchNorm, Conv2d, Flatten, GlobalAvgPool, Linear, MaxPool
from .torch_base import NotMapped, Pending, TorchImportError, has_tensor, is_tensor

FUNCTIONS: Dict[object, Tuple] = {}   # function object -> (signature, handler)
BY_NAME: Dict[str, Tuple] = {}        # "module.qualname" -> (signature, handler), for optional packages
METHODS: Dict[str, Tuple] = {}        # Tensor method name -> (signature, handler)
ATEN: Dict[str, Tuple] = {}           # aten operator name (without overload) -> (signature, handler)
MODULES: Dict[type, Callable] = {}    # exact nn.Module type -> handler(imp, module, x)
HANDLERS: Dict[str, Callable] = {}    # handlers the dispatch calls by name (getitem: torch_ops_data)
OP_NAMES = set()


def _parse(sig: str):
    names, defaults, var = [], {}, None
    for part in (p.strip() for p in sig.split(",")):
        if not part:
            continue
        if part.startswith("*"):
            var = part[1:]
            names.append(var)
            continue
        k, eq, v = part.partition("=")
        names.append(k.strip())
        if eq:
            defaults[k.strip()] = ast.literal_eval(v.strip())
    return names, defaults, var


def _resolve(path: str):
    obj = {"torch": torch, "F": F, "operator": operator}.get(path.split(".")[0])
    for part in path.split(".")[1:]:
        obj = getattr(obj, part, None)
    return obj


def op(name: str, sig: str, functions=(), methods=(), aten=(), method_sig=None, aten_sig=None, names=()):
    """Register ``handler(imp, a)`` (``a``: the bound arguments) for every form of one op."""
    def deco(fn):
        OP_NAMES.add(name)
        for f in functions:
            obj = _resolve(f)
            if obj is not None:  # absent in this torch version
                FUNCTIONS[obj] = (_parse(sig), fn)
        for n in names:
            BY_NAME[n] = (_parse(sig), fn)
        for m in methods:
            METHODS[m] = (_parse(method_sig or sig), fn)
        for a in aten:
            ATEN[a] = (_parse(aten_sig or sig), fn)
        return fn
    return deco


def bind(spec, args, kwargs) -> SimpleNamespace:
    names, defaults, var = spec
    out = dict(defaults)
    pos = list(args)
    for i, n in enumerate(names):
        if n == var:
            rest = pos[i:]
            if len(rest) == 1 and isinstance(rest[0], (list, tuple)):
                rest = list(rest[0])
            out[n] = tuple(rest)
            pos = pos[:i]
            break
        if i < len(pos):
            out[n] = pos[i]
    if len(pos) > len(names):
        raise NotMapped(f"{len(pos)} positional arguments (expects {', '.join(names)})")
    for k, v in kwargs.items():
        k = names[0] if k == "self" else k
        if k not in names:
            raise NotMapped(f"argument {k}={v!r:.40}")
        out[k] = v
    missing = [n for n in names if n not in out]
    if missing:
        raise NotMapped(f"missing argument {missing[0]}")
    return SimpleNamespace(**out)


# ----------------------------------------------------------------------------- dispatch
def _static(fn, args, kwargs, imp):
    try:
        return fn(*args, **kwargs)
    except AssertionError as e:
        raise TorchImportError(f"{imp.where(imp.node)}: the model's own assertion fails at this input size: "
                               f"{' '.join(str(e).split()) or 'assert'}") from None
    except Exception as e:  # a computation on constants we cannot evaluate
        raise NotMapped(f"evaluating it on constants failed ({type(e).__name__}: {str(e)[:80]})") from None


def _run(imp, entry, args, kwargs, inplace=False):
    spec, handler = entry
    a = bind(spec, args, kwargs)
    out = handler(imp, a)
    node = imp.node
    if (inplace or getattr(a, "inplace", False) is True) and node.args and hasattr(node.args[0], "op"):
        imp.mutate(node.args[0], out)  # in-place: later reads of the input see the result
    return out


def call_function(imp, target, args, kwargs):
    if target is operator.getitem:
        if is_tensor(args[0]):
            return HANDLERS["getitem"](imp, args[0], args[1])
        return args[0][args[1]]
    if target is builtins.getattr and is_tensor(args[0]):
        return tensor_attr(args[0], *args[1:])
    if not has_tensor(args) and not has_tensor(kwargs):
        return _static(target, args, kwargs, imp)
    if hasattr(target, "_schema"):  # aten operator (torch.export)
        base = target._schema.name.split("::")[-1]
        entry = ATEN.get(base) or (ATEN.get(base[:-1]) if base.endswith("_") else None)  # in-place forms
        if entry is None and base.startswith("_assert"):
            return None
        if entry is None:
            raise NotMapped("")
        return _run(imp, entry, args, kwargs, inplace=base.endswith("_"))
    entry = FUNCTIONS.get(target) if _hashable(target) else None
    if entry is None:
        entry = BY_NAME.get(f"{getattr(target, '__module__', '')}.{getattr(target, '__qualname__', '')}")
    if entry is None:
        raise NotMapped("")
    return _run(imp, entry, args, kwargs, inplace=target in (operator.iadd, operator.imul))


def _hashable(x) -> bool:
    try:
        hash(x)
        return True
    except TypeError:
        return False


def call_method(imp, name, args, kwargs):
    self = args[0]
    if not is_tensor(self):
        if has_tensor(args[1:]) or has_tensor(kwargs):
            raise NotMapped("")
        return _static(lambda *a, **k: getattr(self, name)(*a, **k), args[1:], kwargs, imp)
    if name in ("size", "dim", "numel", "type", "get_device"):
        return tensor_attr(self, name)(*args[1:], **kwargs)
    entry = METHODS.get(name)
    if entry is None:
        raise NotMapped("")
    return _run(imp, entry, args, kwargs, inplace=name.endswith("_") and not name.startswith("__"))


def call_module(imp, m, args, kwargs):
    handler = MODULES.get(type(m))
    if handler is None:
        from torch.nn.modules.lazy import LazyModuleMixin
        if isinstance(m, LazyModuleMixin):
            raise NotMapped("an uninitialized lazy module: its weights do not exist until it runs once (costmodel "
                            "never runs the model); use the module with explicit sizes")
        raise NotMapped("")
    if len(args) != 1 or kwargs or not is_tensor(args[0]):
        raise NotMapped("called with arguments other than one tensor")
    out = handler(imp, m, args[0])
    node = imp.node
    if getattr(m, "inplace", False) is True and hasattr(node.args[0], "op"):
        imp.mutate(node.args[0], out)
    return out


def tensor_attr(x, name, *default):
    shape = torch.Size(x.shape)
    attrs = {"shape": shape, "ndim": len(shape), "dtype": torch.float32, "device": torch.device("cpu"),
             "is_cuda": False, "requires_grad": False, "is_quantized": False,
             "size": lambda dim=None: shape if dim is None else shape[dim], "dim": lambda: len(shape),
             "numel": lambda: math.prod(shape), "type": lambda *a: "torch.FloatTensor", "get_device": lambda: -1}
    if name not in attrs:
        raise NotMapped(f"tensor attribute {name!r}")
    return attrs[name]


def supported_summary() -> str:
    mods = sorted({t.__name__ for t in MODULES})
    return f"modules {', '.join(mods)}; functions and methods {', '.join(sorted(OP_NAMES))}"


# ----------------------------------------------------------------------------- helpers
def _pair(v, what="size"):
    if isinstance(v, (list, tuple)):
        if len(v) == 1:
            v = (v[0], v[0])
        if len(v) != 2:
            raise NotMapped(f"{what} {list(v)} (2-D ops take one or two values)")
        return (int(v[0]), int(v[1]))
    return (int(v), int(v))


def _const(t, what: str):
    if not isinstance(t, torch.Tensor):
        raise NotMapped(f"{what} must be a parameter or buffer, got {type(t).__name__}")
    if isinstance(t, nn.parameter.UninitializedParameter):
        raise TorchImportError(f"{what} is an uninitialized lazy parameter: run the module once or give its size")
    return t  # the module's own tensor (detached when converted): its identity marks it as used


def _map(imp, x):
    """ref and full shape of a (N, C, H, W) input."""
    ref = imp.ref(x)
    shape = imp.full(ref)
    if len(shape) != 4:
        raise NotMapped(f"needs an (N, C, H, W) input, got {list(shape)}")
    return ref, shape


def _padded(imp, x, value: float, allow: bool = True):
    """(ref, extra (t, b, l, r)) of an input that may be a pending pad with this fill value."""
    if isinstance(x, Pending) and x.kind == "pad" and allow and x.data[1] == value and x.resolved is None:
        ref, _ = _map(imp, x.base)
        return ref, x.data[0]
    ref, _ = _map(imp, x)
    return ref, (0, 0, 0, 0)


def _dim(d, rank: int) -> int:
    d = int(d)
    return d + rank if d < 0 else d


# ----------------------------------------------------------------------------- conv / linear / bn
def conv(imp, x, weight, bias, stride, padding, dilation, groups):
    w = _const(weight, "conv weight")
    if w.dim() != 4:
        raise NotMapped(f"{w.dim() - 2}-D convolution (only 2-D is modelled)")
    ref, extra = _padded(imp, x, 0.0)
    c = imp.full(ref)[1]
    groups = int(groups)
    if w.shape[1] * groups != c:
        raise TorchImportError(f"{imp.where(imp.node)}: weight {list(w.shape)} with groups={groups} expects "
                               f"{w.shape[1] * groups} input channels, the input has {c}")
    k, d = tuple(w.shape[2:]), _pair(dilation, "dilation")
    if isinstance(padding, str):
        if padding not in ("same", "valid"):
            raise NotMapped(f"padding={padding!r}")
        tot = [d[i] * (k[i] - 1) if padding == "same" else 0 for i in (0, 1)]
        pads = (tot[0] // 2, tot[0] - tot[0] // 2, tot[1] // 2, tot[1] - tot[1] // 2)
    else:
        ph, pw = _pair(padding, "padding")
        pads = (ph, ph, pw, pw)
    pads = tuple(p + e for p, e in zip(pads, extra))
    b = None if bias is None else _const(bias, "conv bias")
    out = imp.emit(Conv2d(int(w.shape[0]), k, _pair(stride, "stride"), pads, d, groups, b is not None), [ref])
    imp.set_weights(out, weight=w, bias=b)
    return imp.tv(out)


@op("conv2d", "input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1",
    functions=("F.conv2d", "torch.conv2d"), aten=("conv2d",))
def _conv2d(imp, a):
    return conv(imp, a.input, a.weight, a.bias, a.stride, a.padding, a.dilation, a.groups)


def _conv_module(imp, m, x):
    if m.padding_mode != "zeros":
        raise NotMapped(f"padding_mode={m.padding_mode!r} (only zero padding is modelled)")
    return conv(imp, x, m.weight, m.bias, m.stride, m.padding, m.dilation, m.groups)


def linear(imp, x, weight, bias):
    w = _const(weight, "linear weight")
    ref = imp.ref(x)
    shape = imp.full(ref)
    if len(shape) != 2:
        raise NotMapped(f"linear over the last axis of a {list(shape)} tensor (only (N, F) inputs are modelled; "
                        f"flatten first)")
    if w.dim() != 2 or w.shape[1] != shape[1]:
        raise TorchImportError(f"{imp.where(imp.node)}: weight {list(w.shape)} does not match the {shape[1]} "
                               f"input features")
    b = None if bias is None else _const(bias, "linear bias")
    out = imp.emit(Linear(int(w.shape[0]), b is not None), [ref])
    imp.set_weights(out, weight=w, bias=b)
    return imp.tv(out)


@op("linear", "input, weight, bias=None", functions=("F.linear", "torch._C._nn.linear"), aten=("linear",))
def _linear(imp, a):
    return linear(imp, a.input, a.weight, a.bias)


def batchnorm(imp, x, mean, var, weight, bias, training, eps):
    if training or mean is None or var is None:
        raise NotMapped("batch statistics (training=True or no running statistics); only the inference form "
                        "with running statistics is modelled")
    if (weight is None) != (bias is None):
        raise NotMapped("an affine weight without a bias (or the reverse)")
    ref = imp.ref(x)
    c = imp.full(ref)[1]
    if _const(mean, "running_mean").numel() != c:
        raise TorchImportError(f"{imp.where(imp.node)}: {mean.numel()} running statistics for {c} channels")
    out = imp.emit(BatchNorm(affine=weight is not None), [ref])
    imp.set_weights(out, weight=None if weight is None else _const(weight, "bn weight"),
                    bias=None if bias is None else _const(bias, "bn bias"), running_mean=_const(mean, "mean"),
                    running_var=_const(var, "var"), eps=float(eps))
    return imp.tv(out)


@op("batch_norm", "input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, "
    "eps=1e-05", functions=("F.batch_norm",),
    aten=("batch_norm",), aten_sig="input, weight, bias, running_mean, running_var, training, momentum, eps, "
                                   "cudnn_enabled=True")
def _batch_norm(imp, a):
    return batchnorm(imp, a.input, a.running_mean, a.running_var, a.weight, a.bias, a.training, a.eps)


@op("batch_norm", "input, weight, bias, running_mean, running_var, momentum, eps",
    aten=("_native_batch_norm_legit_no_training",))
def _native_bn(imp, a):
    return (batchnorm(imp, a.input, a.running_mean, a.running_var, a.weight, a.bias, False, a.eps), None, None)


def _bn_module(imp, m, x):
    return batchnorm(imp, x, m.running_mean, m.running_var, m.weight, m.bias, False, m.eps)


# ----------------------------------------------------------------------------- activations
MUL_TARGETS = {operator.mul, operator.imul, torch.mul}


def _is_mul(node) -> bool:
    if node.op == "call_method":
        return node.target in ("mul", "mul_", "__mul__")
    if node.op != "call_function":
        return False
    if hasattr(node.target, "_schema"):
        return node.target._schema.name in ("aten::mul", "aten::mul_")
    return node.target in MUL_TARGETS


def act(imp, x, fn: str, gate: str = "", src=None):
    """Activation ``fn``; with ``gate`` (swish / hswish) a pending gate when the only reader of
    the result is a product with the activation's own input (``src``: the fx node of that input,
    default the node's first argument). relu6 of a pending ``x + 3`` is pending too: hard-sigmoid
    written out, ``relu6(x + 3) / 6``, completes at the division."""
    node = imp.node
    if fn == "relu6" and isinstance(x, Pending) and x.kind == "shift" and x.resolved is None:
        return Pending("relu6shift", x.base, x.shape, node, x.data)
    src = src if src is not None else (node.args[0] if node.args else None)
    users = list(node.users)
    if gate and hasattr(src, "op") and len(users) == 1 and _is_mul(users[0]) and src in users[0].args[:2] \
            and node in users[0].args[:2] and src is not node:
        base = imp.tv(imp.ref(x))
        return Pending("gate", base, base.shape, node, (gate, fn))
    return imp.tv(imp.emit(Activation(fn), [imp.ref(x)]))


@op("relu", "input, inplace=False", functions=("F.relu", "torch.relu", "torch.relu_", "F.relu_"),
    methods=("relu", "relu_"), aten=("relu", "relu_"))
def _relu(imp, a):
    return act(imp, a.input, "relu")


@op("relu6", "input, inplace=False", functions=("F.relu6",), aten=("relu6", "relu6_"))
def _relu6(imp, a):
    return act(imp, a.input, "relu6")


def _hardtanh(imp, x, lo, hi):
    if (float(lo), float(hi)) != (0.0, 6.0):
        raise NotMapped(f"hardtanh({lo:g}, {hi:g}) is not relu6 (0, 6)")
    return act(imp, x, "relu6")


@op("hardtanh", "input, min_val=-1.0, max_val=1.0, inplace=False", functions=("F.hardtanh", "F.hardtanh_"),
    aten=("hardtanh", "hardtanh_"))
def _hardtanh_fn(imp, a):
    return _hardtanh(imp, a.input, a.min_val, a.max_val)


@op("sigmoid", "input", functions=("torch.sigmoid", "F.sigmoid", "torch.sigmoid_"), methods=("sigmoid", "sigmoid_"),
    aten=("sigmoid", "sigmoid_"))
def _sigmoid(imp, a):
    return act(imp, a.input, "sigmoid", gate="swish")


@op("silu", "input, inplace=False", functions=("F.silu",), aten=("silu", "silu_"))
def _silu(imp, a):
    return act(imp, a.input, "swish")


@op("gelu", "input, approximate='none'", functions=("F.gelu",), aten=("gelu",))
def _gelu(imp, a):
    if a.approximate not in ("none", "tanh"):
        raise NotMapped(f"approximate={a.approximate!r}")
    return act(imp, a.input, "gelu")


@op("hardswish", "input, inplace=False", functions=("F.hardswish",), aten=("hardswish", "hardswish_"))
def _hardswish(imp, a):
    return act(imp, a.input, "hswish")


@op("hardsigmoid", "input, inplace=False", functions=("F.hardsigmoid",), aten=("hardsigmoid", "hardsigmoid_"))
def _hardsigmoid(imp, a):
    return act(imp, a.input, "hsigmoid", gate="hswish")


# ----------------------------------------------------------------------------- pooling
def pool(imp, x, kind, kernel, stride, padding, ceil_mode, dilation=1, count_include_pad=True):
    if _pair(dilation, "dilation") != (1, 1):
        raise NotMapped("dilated pooling")
    k = _pair(kernel, "kernel_size")
    s = k if stride is None or (isinstance(stride, (list, tuple)) and not stride) else _pair(stride, "stride")
    ph, pw = _pair(padding, "padding")
    fill = float("-inf") if kind == "max" else 0.0
    ref, extra = _padded(imp, x, fill, allow=not ceil_mode and (kind == "max" or count_include_pad))
    pads = tuple(p + e for p, e in zip((ph, ph, pw, pw), extra))
    if kind == "max":
        o = MaxPool(k, s, pads, bool(ceil_mode))
    else:
        o = AvgPool(k, s, pads, bool(ceil_mode), bool(count_include_pad))
    return imp.tv(imp.emit(o, [ref]))


@op("max_pool2d", "input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False",
    functions=("F.max_pool2d", "torch.max_pool2d"), aten=("max_pool2d",))
def _max_pool2d(imp, a):
    if a.return_indices:
        raise NotMapped("return_indices=True")
    return pool(imp, a.input, "max", a.kernel_size, a.stride, a.padding, a.ceil_mode, a.dilation)


@op("avg_pool2d", "input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True, "
    "divisor_override=None", functions=("F.avg_pool2d", "torch._C._nn.avg_pool2d"), aten=("avg_pool2d",))
def _avg_pool2d(imp, a):
    if a.divisor_override is not None:
        raise NotMapped(f"divisor_override={a.divisor_override}")
    return pool(imp, a.input, "avg", a.kernel_size, a.stride, a.padding, a.ceil_mode,
                count_include_pad=a.count_include_pad)


def adaptive(imp, x, size):
    ref, (_, _, h, w) = _map(imp, x)
    size = list(size) if isinstance(size, (list, tuple)) else [size, size]
    if len(size) == 1:
        size = size * 2
    size = (h if size[0] is None else int(size[0]), w if size[1] is None else int(size[1]))
    o = GlobalAvgPool() if size == (1, 1) else AdaptiveAvgPool(size)
    return imp.tv(imp.emit(o, [ref]))


@op("adaptive_avg_pool2d", "input, output_size",
    functions=("F.adaptive_avg_pool2d", "torch._C._nn.adaptive_avg_pool2d"),
    aten=("adaptive_avg_pool2d", "_adaptive_avg_pool2d"))
def _adaptive(imp, a):
    return adaptive(imp, a.input, a.output_size)


@op("mean", "input, dim=None, keepdim=False, dtype=None", functions=("torch.mean",), methods=("mean",),
    aten=("mean",))
def _mean(imp, a):
    rank = len(a.input.shape)
    dims = a.dim if isinstance(a.dim, (list, tuple)) else ([] if a.dim is None else [a.dim])
    if rank != 4 or sorted(_dim(d, 4) for d in dims) != [2, 3] or a.dtype not in (None, torch.float32):
        raise NotMapped(f"mean over dim={a.dim} of a rank-{rank} tensor (only the spatial mean over (2, 3) of a "
                        f"map is modelled)")
    ref = imp.emit(GlobalAvgPool(), [imp.ref(a.input)])
    if not a.keepdim:
        ref = imp.emit(Flatten(), [ref], "flatten")
    return imp.tv(ref)
