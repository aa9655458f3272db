"""The official tensorflow/tpu block strings of MnasNet, EfficientNet and MixNet, decoded once
(``mnasnet_models.py``'s ``MnasNetDecoder``, ``efficientnet_builder.py``'s ``BlockDecoder``,
``mixnet_builder.py``'s ``MixnetDecoder``: the same grammar, MixNet's with more options).

Grammar: options joined by ``_``: ``r<int>`` repeats, ``k<int>`` depthwise kernel (MixNet:
``k<int>.<int>...``, one per group), ``a`` / ``p`` expand / project kernels (MixNet; their count
is the number of groups, every kernel 1), ``s<d><d>`` strides, ``e<int>`` expansion ratio,
``i`` / ``o`` input / output channels, ``se<float>`` SE ratio in (0, 1], ``sw`` swish (MixNet),
``noskip`` no identity shortcut. Errors are one-line ``SpecError``s naming the option.
"""
from __future__ import annotations

import re
from typing import Sequence

from ..errors import SpecError

_OPTION = re.compile(r"([a-z]+)(\d.*)?$")
#: options without a value
FLAGS = ("sw", "noskip")


#: decoded strings: (text, keys, required, family) -> the decoded dict (each caller gets a copy); at most
#: ``_DECODED_MAX`` entries (the zoo's strings are a few dozen; strings from elsewhere stop being kept)
_DECODED: dict = {}
_DECODED_MAX = 4096


def decode(text: str, keys: Sequence[str], required: Sequence[str], example: str, family: str = "") -> dict:
    """``text`` decoded: ``{repeat, k: (kernels...), a, p (group counts, 1 without them), s: (sh, sw),
    e, i, o, se: float or None, swish, skip}``, accepting only ``keys`` and requiring ``required``.

    A string is decoded once per grammar (every build of a network reads the same strings): the
    result's values are immutable (ints, tuples, a float, bools), so each call gets a shallow copy
    of the first decoding. A bad string is never stored: it raises every time."""
    key = (text, tuple(keys), tuple(required), family) if type(text) is str else None
    got = _DECODED.get(key) if key is not None else None
    if got is None:
        got = _decode(text, keys, required, example, family)
        if key is not None and len(_DECODED) < _DECODED_MAX:
            _DECODED[key] = got
    return dict(got)


def _decode(text, keys, required, example, family) -> dict:
    """``decode``'s work, not cached."""
    where = f"{family + ' ' if family else ''}block string {text!r}"
    if not isinstance(text, str) or not text:
        raise SpecError(f"{where}: expected a non-empty string like {example!r}")
    opts = {}
    for pos, part in enumerate(text.split("_")):
        m = _OPTION.match(part)
        if not m or m.group(1) not in keys:
            raise SpecError(f"{where}: option {pos + 1} {part!r} is not one of {', '.join(keys)} followed by its "
                            f"value")
        key, value = m.groups()
        if key in opts:
            raise SpecError(f"{where}: option {key!r} given twice")
        if (key in FLAGS) != (value is None):
            raise SpecError(f"{where}: option {part!r}: " + (f"{key} takes no value" if key in FLAGS
                                                              else f"{key} needs a value, e.g. {key}1"))
        opts[key] = value
    missing = [k for k in required if k not in opts]
    if missing:
        raise SpecError(f"{where}: missing option(s) {', '.join(missing)}")

    def ints(key, many=False):
        v = opts.get(key, "1")
        pattern = r"[1-9]\d*(\.[1-9]\d*)*" if many else r"[1-9]\d*"
        if not re.fullmatch(pattern, v):
            raise SpecError(f"{where}: {key}{v} must be " + ("positive integers separated by '.'" if many
                                                             else "a positive integer"))
        return tuple(int(x) for x in v.split("."))

    if not re.fullmatch(r"[1-9][1-9]", opts["s"]):
        raise SpecError(f"{where}: s{opts['s']} must be a pair of stride digits such as s11 or s22")
    multi = "a" in keys
    out = {"repeat": ints("r")[0], "k": ints("k", multi), "a": len(ints("a", multi)), "p": len(ints("p", multi)),
           "s": (int(opts["s"][0]), int(opts["s"][1])), "e": ints("e")[0], "i": ints("i")[0], "o": ints("o")[0],
           "se": None, "swish": "sw" in opts, "skip": "noskip" not in opts}
    for key in ("a", "p"):
        if key in opts and set(ints(key, multi)) != {1}:
            raise SpecError(f"{where}: {key}{opts[key]}: expand/project kernels must all be 1")
    if "se" in opts:
        try:
            se = float(opts["se"])
        except ValueError:
            se = -1.0
        if not 0 < se <= 1:
            raise SpecError(f"{where}: se{opts['se']} must be a number in (0, 1]")
        out["se"] = se
    return out
