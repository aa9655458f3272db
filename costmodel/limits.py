"""The resource policy: every limit costmodel puts on the work one input may ask for, its default,
and the environment variable that changes it (README, "Errors": "Limits").

An input (a file, a block string, a command-line value) is data from someone else: it may be
huge, endless (a FIFO, /dev/zero), or small but asking for exponential work (YAML aliases that
expand a thousand-fold per level). Every such path is bounded by one of these limits, checked
*before* the work or the allocation is done, and refused with a one-line ``LimitError`` that
names what was asked, the limit, and the variable that raises it.

- ``COSTMODEL_MAX_TEXT_BYTES`` (4 MiB): a text input file: spec (.yaml/.yml/.json), device file
  (.json), PyTorch file (.py);
- ``COSTMODEL_MAX_MODEL_BYTES`` (2 GiB): a binary input file: ONNX model, weights (.npz);
- ``COSTMODEL_MAX_ALIAS_NODES`` (10,000): the nodes YAML aliases (``*name``) add to a spec when
  expanded;
- ``COSTMODEL_MAX_BLOCKS`` (2,000): the blocks of one network after repeats and the depth
  multiplier (the deepest zoo network has about 60; ``costmodel table`` on 2,000 inverted
  residual blocks takes about 2 s of CPU, ``costmodel memory`` about 50 s: its schedule lower
  bound is quadratic in the layers);
- ``COSTMODEL_MAX_PATCHES`` (4,096): the patches of ``costmodel memory --patches RxC`` (each is
  planned on its own);
- ``COSTMODEL_MAX_EXEC_BYTES`` (the memory available: MemAvailable of /proc/meminfo, else physical
  memory): what the NumPy executor (``costmodel verify``, ``costmodel.execute``) or ``costmodel
  measure`` may allocate for weights and activations (``costmodel.exec_checks``).

A value is a non-negative integer, optionally with a unit: ``K``/``M``/``G``/``T`` (10^3..) or
``KiB``/``MiB``/``GiB``/``TiB`` (2^10..), ``B`` optional: ``COSTMODEL_MAX_TEXT_BYTES=100MB``.
Input files are read as regular files only (a FIFO, a terminal or ``/dev/zero`` is refused
before anything is read; ``costmodel.fileio.read_bytes``).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Callable, Optional

from .errors import CostModelError


class LimitError(CostModelError):
    """An input asks for more than a limit of the resource policy allows (names the limit, the
    amount asked for, and the environment variable that raises it)."""


def _available_memory() -> int:
    """Bytes of memory available now: MemAvailable of /proc/meminfo, else physical memory, else
    16 GiB (a platform that tells neither)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 16 * 2 ** 30


@dataclass(frozen=True)
class Limit:
    """One limit: the environment variable that sets it, its default (a number, or a function
    computing it), what it bounds and its unit."""

    env: str
    default: object
    what: str
    unit: str = ""

    def value(self) -> int:
        raw = os.environ.get(self.env)
        if raw is None or not raw.strip():
            return int(self.default() if callable(self.default) else self.default)
        return parse_amount(raw, self.env)


LIMITS = {
    "text_bytes": Limit("COSTMODEL_MAX_TEXT_BYTES", 4 * 2 ** 20, "text input file size", "bytes"),
    "model_bytes": Limit("COSTMODEL_MAX_MODEL_BYTES", 2 * 2 ** 30, "binary input file size", "bytes"),
    "alias_nodes": Limit("COSTMODEL_MAX_ALIAS_NODES", 10_000, "nodes added by YAML aliases", "nodes"),
    "blocks": Limit("COSTMODEL_MAX_BLOCKS", 2_000, "blocks after repeats and depth", "blocks"),
    "patches": Limit("COSTMODEL_MAX_PATCHES", 4_096, "patches of a patch grid", "patches"),
    "exec_bytes": Limit("COSTMODEL_MAX_EXEC_BYTES", _available_memory, "executor memory", "bytes"),
}

_AMOUNT = re.compile(r"^\s*(\d{1,30})\s*([kmgt]?)(i?)(b?)\s*$", re.IGNORECASE)


def parse_amount(text: str, env: str) -> int:
    """'100', '64MB', '2GiB' -> an integer (K/M/G/T = 10^3.., KiB/MiB/GiB/TiB = 2^10..)."""
    m = _AMOUNT.match(str(text))
    if not m or (m.group(3) and not m.group(2)):
        raise LimitError(f"{env}={str(text)[:40]!r} is not an amount; give a non-negative integer, optionally with "
                         f"K, M, G, T (10^3..) or KiB, MiB, GiB, TiB (2^10..), e.g. {env}=64MiB")
    exp = "kmgt".index(m.group(2).lower()) + 1 if m.group(2) else 0
    return int(m.group(1)) * ((1024 if m.group(3) else 1000) ** exp)


def get(key: str) -> int:
    """The current value of limit ``key`` (one of ``LIMITS``), with its environment override."""
    return LIMITS[key].value()


def amount(n: int, unit: str) -> str:
    """'16 MiB (16,777,216 bytes)' for bytes, '10,000 blocks' otherwise; huge amounts rounded."""
    if unit == "bytes":
        return f"{n:,} bytes" if n < 1024 else binary_size(n) + (f" ({n:,} bytes)" if n < 10 ** 15 else "")
    if n >= 10 ** 15:  # beyond any limit: its digits say nothing more
        return (f"about {float(n):.3g}" if n < 10 ** 300 else "more than 1e+300") + f" {unit}".rstrip()
    return f"{n:,} {unit}".rstrip()


def binary_size(n: int) -> str:
    """Bytes in binary units: 4.55 PiB, 16 MiB, 1.46 KiB (three significant figures)."""
    if n >= 2 ** 1000:
        return "more than 1e+300 bytes"
    v, unit = float(n), "B"
    for u in ("KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if v < 1024:
            break
        v, unit = v / 1024, u
    if unit == "B":
        return f"{n} B"
    return f"{v:.3g} {unit}"


def check(key: str, need: int, what: Optional[str] = None, where: str = "",
          hint: Optional[Callable[[], str]] = None) -> None:
    """Raise ``LimitError`` when ``need`` exceeds limit ``key``: one line naming ``what`` (default:
    the limit's own description), ``need``, the limit (then ``hint()``, with its own leading
    punctuation) and how to raise it."""
    lim = LIMITS[key]
    cap = lim.value()
    if need <= cap:
        return
    extra = hint() if hint else ""
    raise LimitError(f"{where + ': ' if where else ''}{what or lim.what}: {amount(need, lim.unit)}, over the limit "
                     f"of {amount(cap, lim.unit)}{extra} (raise the limit with the environment variable {lim.env})")


__all__ = ["LIMITS", "Limit", "LimitError", "amount", "check", "get", "parse_amount"]
