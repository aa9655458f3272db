"""Shared pieces of the PyTorch importer (``costmodel/torch_import.py``): its error, the torch
check, and the values the walk (``torch_graph``) and the mapping table (``torch_ops``,
``torch_ops_data``) pass between them. Imports no other importer module, so they import it without
a cycle."""
from __future__ import annotations

from typing import Optional

from .errors import CostModelError


class TorchImportError(CostModelError):
    """A PyTorch module that cannot be traced or mapped (names the module and the op)."""


def require_torch(what: str = "importing PyTorch modules"):
    try:
        import torch
    except ImportError:
        raise TorchImportError(f"{what} needs PyTorch: pip install '.[torch]'") from None
    return torch


class NotMapped(Exception):  # noqa: N818 - internal signal, never escapes the importer
    """A node outside the mapping; ``reason`` says why (which argument), "" for an unknown target."""

    def __init__(self, reason: str = ""):
        super().__init__(reason)
        self.reason = reason


# ----------------------------------------------------------------------------- values
class TV:
    """A tensor of the IR: its ref and its PyTorch shape (batch 1 first)."""

    __slots__ = ("ref", "shape")

    def __init__(self, ref: str, shape):
        self.ref, self.shape = ref, tuple(shape)


class Pending:
    """A tensor that is not (yet) an IR tensor: a view chain, a pad, an expand or an activation
    waiting to be fused into the multiply that reads it. Resolved by ``Importer.ref``."""

    __slots__ = ("kind", "base", "shape", "origin", "data", "resolved")

    def __init__(self, kind: str, base: TV, shape, origin, data=None):
        self.kind, self.base, self.shape, self.origin, self.data = kind, base, tuple(shape), origin, data
        self.resolved: Optional[str] = None


#: why a pending tensor cannot become an IR tensor when something other than its completion reads it
PENDING_REASONS = {
    "pad": "a pad is modelled only as extra padding of the convolution or pooling that reads it",
    "shift": "add of a constant: x + 3 is modelled only inside hard-sigmoid relu6(x + 3) / 6",
    "relu6shift": "relu6(x + 3) is modelled only inside hard-sigmoid relu6(x + 3) / 6 or hard-swish "
                  "x * relu6(x + 3) / 6",
    "hswish6": "x * relu6(x + 3) is modelled only inside hard-swish x * relu6(x + 3) / 6",
}


def is_tensor(v) -> bool:
    return isinstance(v, (TV, Pending))


def has_tensor(v) -> bool:
    if isinstance(v, (TV, Pending)):
        return True
    if isinstance(v, (list, tuple)):
        return any(has_tensor(x) for x in v)
    if isinstance(v, dict):
        return any(has_tensor(x) for x in v.values())
    if isinstance(v, slice):
        return has_tensor((v.start, v.stop, v.step))
    return False
