"""Channel rounding policies of the official implementations, one named function each.

A width multiplier alpha scales a layer's channel count c; how the product is rounded is part of
each architecture's definition and changes the exact parameter count.
"""
from __future__ import annotations

import math

from .errors import KnobError, SpecError

#: the widest layer a width multiplier may produce (keeps the float arithmetic of rounding exact)
MAX_CHANNELS = 10 ** 12


def check_width(v: float) -> None:
    """A scaled channel count must be a finite number of at most ``MAX_CHANNELS``."""
    if not math.isfinite(v) or v > MAX_CHANNELS:
        raise KnobError(f"width multiplier too large: a layer would have {v:g} channels (more than "
                        f"{MAX_CHANNELS:.0e}); use a realistic alpha")


def make_divisible(v: float, divisor: int = 8, min_value: int | None = None) -> int:
    """TF-slim / torchvision ``_make_divisible``: round v to the nearest multiple of ``divisor``
    (halves up), at least ``min_value`` (default ``divisor``), and add one ``divisor`` if that
    rounding went more than 10% below v (MobileNetV2 code, also V3, MnasNet, MixNet)."""
    check_width(v)
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def floor_min8(c: int, alpha: float) -> int:
    """MobileNetV1 (TF-slim ``depth``): ``max(int(c * alpha), 8)``."""
    check_width(c * alpha)
    return max(int(c * alpha), 8)


def divisible8(c: int, alpha: float) -> int:
    """MobileNetV2/V3/MixNet: ``make_divisible(c * alpha, 8)``."""
    return make_divisible(c * alpha, 8)


def divisible4(c: int, alpha: float) -> int:
    """GhostNet (huawei-noah ghostnet.py, timm ghostnet.py): ``make_divisible(c * width, 4)``, the
    nearest multiple of 4, at least 4, plus 4 if that lost more than 10%."""
    return make_divisible(c * alpha, 4)


def unscaled(c: int, alpha: float) -> int:
    """Channels fixed by the architecture; alpha is not applied."""
    return int(c)


def round_min1(c: int, alpha: float) -> int:
    """User spec files and block strings (their default): ``max(1, c * alpha rounded to the
    nearest integer, halves up)``. Exact at alpha = 1: the network builds as written."""
    check_width(c * alpha)
    return max(1, math.floor(c * alpha + 0.5))


def floor_min(minimum: int):
    """TF-slim's ``max(int(c * alpha), min_depth)`` with another minimum (the SSD feature extractors'
    extra layers and predictors use ``min_depth = 16``: policy ``floor_min16``)."""
    def rule(c, alpha: float) -> int:
        check_width(c * alpha)
        return max(int(c * alpha), minimum)
    rule.__name__ = f"floor_min{minimum}"
    rule.__doc__ = f"``max(int(c * alpha), {minimum})`` (TF-slim's depth rule with min_depth {minimum})."
    return rule


#: width policy of spec files and block strings that name none: exact at alpha = 1 (the zoo's
#: networks name their own, and ``costmodel show`` writes it)
USER_DEFAULT_WIDTH = "round_min1"

POLICIES = {"floor_min8": floor_min8, "divisible8": divisible8, "unscaled": unscaled, "round_min1": round_min1,
            "floor_min16": floor_min(16), "divisible4": divisible4}


def policy(name: str):
    """The rounding function named ``name``; ``floor_min<N>`` for any N >= 1 is TF-slim's rule with
    minimum N."""
    try:
        return POLICIES[name]
    except (KeyError, TypeError):
        pass
    if isinstance(name, str) and name.startswith("floor_min") and name[9:].isdigit() and int(name[9:]) >= 1:
        return floor_min(int(name[9:]))
    raise SpecError(f"unknown width policy {name!r:.60}; accepted: {', '.join(POLICIES)} (or floor_min<N>)")


def ceil_repeats(n: int, depth: float) -> int:
    """EfficientNet's ``round_repeats``: ``int(math.ceil(depth * n))`` (efficientnet_model.py), the
    same float product as the official code."""
    check_width(depth * n)
    return int(math.ceil(depth * n))


#: how a depth multiplier d scales a stage's repeat count n
REPEAT_RULES = {"ceil": ceil_repeats}


def repeat_rule(name: str):
    try:
        return REPEAT_RULES[name]
    except KeyError:
        raise SpecError(f"unknown depth rule {name!r}; accepted: {', '.join(REPEAT_RULES)}") from None
