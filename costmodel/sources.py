"""One way in: ``load(source, ...)`` builds a graph from any input kind, and ``source_kind`` says
which kind a source string is. Every command and the Python API go through here.

=============  ==========================================  =============================================
kind           source                                      reader
=============  ==========================================  =============================================
``registry``   a network name (``mobilenet_v2``)            ``costmodel.registry.build``
``spec``       a spec file ``.yaml``/``.yml``/``.json``     ``costmodel.specfile.read_spec``
``blocks``     a block string (``"conv_k3_s2_c32 gap"``)    ``costmodel.specfile.spec_from_blocks``
``onnx``       an ONNX model ``.onnx``                      ``costmodel.onnx_import.load_onnx``
``torch``      ``torchvision:NAME``, ``timm:NAME``,         ``costmodel.torch_import.load_torch_ref``
               ``path/to/file.py:factory``
=============  ==========================================  =============================================

``None`` for ``alpha``, ``res``, ``classes`` and ``depth`` means the source's own default (a spec
file's ``classes:``, an ONNX model's fixed classifier, a registry network's 1000); a value the
source cannot take (alpha for an ONNX model, knobs for a spec file) is an error naming the source.
"""
from __future__ import annotations

import os
import re

from .errors import KnobError
from .graph import Graph

#: suffixes of the file kinds
SPEC_SUFFIXES = (".yaml", ".yml", ".json")
ONNX_SUFFIXES = (".onnx",)
#: ``package:name`` references to PyTorch models, and ``file.py:factory``
TORCH_PREFIXES = ("torchvision:", "timm:")
_PY_FACTORY = re.compile(r"^(?P<path>.+\.py):(?P<factory>[A-Za-z_][A-Za-z0-9_]*)$")
KINDS = ("registry", "spec", "blocks", "onnx", "torch")


def _text(source) -> str:
    """A source as a string: a str, or a path-like object (``pathlib.Path``)."""
    if isinstance(source, os.PathLike):
        return os.fspath(source)
    if not isinstance(source, str):
        from .validate import short
        raise KnobError(f"a network must be a name, a file path or a block string, got {type(source).__name__} "
                        f"{short(source)}")
    return source


def source_kind(source) -> str:
    """'registry', 'spec', 'blocks', 'onnx' or 'torch' for a network argument."""
    from .blockstring import looks_like_blocks, starts_with_block_type
    text = _text(source)
    low = text.lower()
    if low.startswith(TORCH_PREFIXES) or _PY_FACTORY.match(text):
        return "torch"
    if low.endswith(SPEC_SUFFIXES):
        return "spec"
    if low.endswith(ONNX_SUFFIXES):
        return "onnx"
    if looks_like_blocks(text) or text.startswith("@"):
        return "blocks"
    from .registry import networks
    if text not in networks() and not os.path.exists(text) and starts_with_block_type(text):
        return "blocks"  # a one-block network such as 'conv_k3_s2_c32'
    return "registry"


def load(source, alpha=None, res=None, classes=None, depth=None, *, skip_unsupported: bool = False,
         **knobs) -> Graph:
    """Build a network from a registry name, a spec file (.yaml/.yml/.json), an ONNX model (.onnx),
    a PyTorch reference (``torchvision:NAME``, ``timm:NAME``, ``file.py:factory``) or a
    whitespace-separated block string: ``costmodel.load("my_net.yaml", alpha=0.5, res="320x240")``.
    ``skip_unsupported``: imported models (ONNX, PyTorch) count unsupported ops as zero and flag them."""
    text = _text(source)
    kind = source_kind(text)
    if skip_unsupported and kind not in ("onnx", "torch"):
        raise KnobError("--skip-unsupported applies to imported models (ONNX, PyTorch) only")
    if kind == "spec":
        from .specfile import read_spec
        return read_spec(text).build(alpha, res, classes, depth, **knobs)
    if kind == "blocks":
        from .specfile import spec_from_blocks
        return spec_from_blocks(text).build(alpha, res, classes, depth, **knobs)
    if kind in ("onnx", "torch"):
        what = "an ONNX model" if kind == "onnx" else "a PyTorch model"
        for name, value, why in (("alpha", alpha, "its widths are fixed"), ("depth", depth, "its depth is fixed"),
                                 ("classes", classes, "its classifier is fixed")):
            if value is not None:
                raise KnobError(f"{text}: {name} does not apply to {what} ({why})")
        if kind == "onnx":
            if knobs:
                raise KnobError(f"{text}: an ONNX model takes no knobs ({', '.join(knobs)})")
            from .onnx_import import load_onnx
            return load_onnx(text, res=res, skip_unsupported=skip_unsupported)
        from .torch_refs import load_torch_ref
        return load_torch_ref(text, input_size=res, args=knobs, skip_unsupported=skip_unsupported)
    from .registry import build, networks
    if text not in networks() and os.path.isfile(text):
        raise KnobError(f"{text!r:.80} is a file but not a spec file, ONNX model or Python file with a factory: "
                        f"spec files end in {', '.join(SPEC_SUFFIXES)}, ONNX models in .onnx, PyTorch factories "
                        f"are given as file.py:function")
    return build(text, alpha=alpha, res=res, classes=classes, depth=depth, **knobs)
