"""Compact block strings, timm style: one token per block, options joined by ``_``.

Grammar (a network is blocks separated by whitespace; a spec file may give any block as a string)::

    network := (setting WHITESPACE)* block (WHITESPACE block)*
    setting := "@" SETTING NUMBER | "@" SETTING "=" VALUE
                                            network-level settings, before the first block, each
                                            at most once: @res160 (input resolution, default 224)
                                            @classes100 (default 1000) @alpha0.35 (default width
                                            multiplier, default 1) @in1 (input channels, default 3)
                                            @width=floor_min8 (rounding policy of alpha x c, default
                                            round_min1: exact at alpha 1; also divisible8, unscaled)
                                            @res320x240 (height x width) @depth1.2 (default depth
                                            multiplier) @depth_rule=ceil (how depth scales repeats)
    block   := TYPE ("_" option)*
    option  := KEY NUMBER("," NUMBER)* [","]  short numeric option, e.g. k3  s2  e6  c24  se0.25  k3,5
                                            (a trailing ',' makes a one-element list: k3,)
             | ACT                          activation: relu relu6 swish hswish sigmoid hsigmoid noact
             | ARG "=" VALUE("," VALUE)* [","]  any argument of the type; '-' in ARG stands for '_'
                                            (se-act=hswish, ceil-mode=true, kind=avg, name=b1,
                                            inputs=b1,b2); VALUE: int, float, true, false, none
                                            or a word
    TYPE    := a registered block type (``costmodel.spec.BLOCK_TYPES``: conv, dwsep, ir, pool, gap,
               dropout, flatten, fc, add, concat, fire, shufflenet_v2_unit, ...); the longest
               "_"-joined prefix that names one is the type
    KEY     := r (repeat)  k (kernel k)  s (stride s)  e (expansion ratio t)  x (expansion
               channels exp)  c (channels c)  g (groups)  d (dilation)  se (SE ratio se)
               p (dropout p)

``costmodel show NET --format blocks`` writes the settings a network needs (always @res and
@classes), so that loading its output builds the same network. --res / --alpha / --classes on
the command line override the settings, as they override a spec file's defaults.

On the command line a NET containing whitespace, or naming no registry network but starting with a
block type (``conv_k3_s2_c32``), is a block-string network.

``ir_r2_k3_s2_e6_c24`` is MobileNetV2's (t=6, c=24, n=2, s=2) row; ``conv_k3_s2_c32_relu6`` its stem;
``pool_k3_s2_kind=avg`` an average pool. Parsing checks only the grammar and the option names a
type accepts (errors give the column); values are checked when the spec is validated and built.
Names and values containing ``_`` or spaces need the mapping form of a spec file.
"""
from __future__ import annotations

import re
from typing import List, Optional, Tuple

from .errors import SpecError
from .spec import Block

#: short option key -> block argument
SHORT = {"r": "repeat", "k": "k", "s": "s", "e": "t", "x": "exp", "c": "c", "g": "groups", "d": "dilation",
         "se": "se", "p": "p"}
ACTS = ("relu", "relu6", "swish", "hswish", "sigmoid", "hsigmoid")
_NUM = r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_SHORT_RE = re.compile(rf"^([a-z]+)({_NUM}(?:,{_NUM})*,?)$")
#: network settings (``@res160``): key -> field of ``parse_network``'s settings
SETTINGS = {"res": "resolution", "classes": "classes", "alpha": "alpha", "in": "in_channels", "width": "width",
            "depth": "depth", "depth_rule": "depth_rule"}
_SETTING_RE = re.compile(rf"^@([a-z_]+)(?:=(.*)|({_NUM}(?:x\d+)?))$")


def _block_types():
    """Every registered block type: the generic vocabulary and the families' own."""
    from . import zoo  # noqa: F401  (registers the families' block types)
    from .spec import BLOCK_TYPES
    return BLOCK_TYPES


def _scalar(text: str):
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if re.fullmatch(_NUM, text):
        return float(text)
    return text


def _value(text: str, quoted: str = "", col: int = 0):
    """An option's value: a scalar, or a tuple for a comma list (``k3,5``; ``k3,`` is one element)."""
    try:
        if text.endswith(",") and len(text) > 1:  # k3, : a one-element list (MixNet's single kernel)
            return tuple(_scalar(p) for p in text[:-1].split(","))
        vals = tuple(_scalar(p) for p in text.split(","))
    except ValueError:  # an integer of more digits than Python converts (4300)
        raise _err(quoted or text, col or 1, f"a number in {_q(text)} has too many digits") from None
    return vals[0] if len(vals) == 1 else vals


def _err(text: str, col: int, msg: str) -> SpecError:
    """An error at 1-based column ``col`` of ``text``, quoting at most 60 characters around it."""
    from .validate import excerpt
    return SpecError(f"block string {excerpt(text, col - 1)}, column {col}: {msg}")


def _excerpt(text: str) -> str:
    from .validate import excerpt
    return excerpt(text)


def _q(tok: str) -> str:
    """A token of the string as an error quotes it (bounded: a token may be megabytes long)."""
    from .validate import short
    return short(tok)


def parse_block(text: str, offset: int = 0, full: Optional[str] = None) -> Block:
    """Parse one block string into a ``Block``. Within a network string ``full``, the block starts
    at ``offset``: errors quote ``full`` and give the 1-based column in it."""
    from .blocks import check_arg
    quoted = text if full is None else full
    types = _block_types()
    if text.startswith("@"):
        raise _err(quoted, offset + 1, f"{_q(text)} is a network setting ({', '.join('@' + k for k in SETTINGS)}); "
                                     f"settings come before the first block of a block-string network (in a "
                                     f"spec file, use the top-level keys)")
    tokens = text.split("_")
    starts, pos = [], 0
    for t in tokens:
        starts.append(pos)
        pos += len(t) + 1
    n_type = next((n for n in range(len(tokens), 0, -1) if "_".join(tokens[:n]) in types), 0)
    if not n_type:
        import difflib
        close = difflib.get_close_matches(tokens[0], types, n=2)
        hint = f" (did you mean {' or '.join(close)}?)" if close else ""
        raise _err(quoted, offset + 1, f"unknown block type {_q(tokens[0])}{hint}; accepted: "
                                       f"{', '.join(sorted(types))}")
    btype = "_".join(tokens[:n_type])
    bt = types[btype]
    params = set(bt.params)
    args, repeat, name, inputs, fixed = {}, None, None, None, False
    for tok, start in zip(tokens[n_type:], starts[n_type:]):
        col = offset + start + 1
        if "=" in tok:
            key, _, raw = tok.partition("=")
            key = key.replace("-", "_")
            if not key or not raw:
                raise _err(quoted, col, f"option {_q(tok)} needs the form ARG=VALUE")
            value = _value(raw, quoted, col)
            shown = key
        elif tok in ACTS or tok == "noact":
            key, value, shown = "act", (None if tok == "noact" else tok), "act"
        else:
            m = _SHORT_RE.match(tok)
            if not m or m.group(1) not in SHORT:
                raise _err(quoted, col, f"cannot read option {_q(tok)}; expected KEYNUMBER with KEY one of "
                                        f"{', '.join(SHORT)}, an activation ({', '.join(ACTS)}, noact) or ARG=VALUE")
            key, value, shown = SHORT[m.group(1)], _value(m.group(2), quoted, col), m.group(1)
        if key == "repeat":
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise _err(quoted, col, f"repeat must be a positive integer, got {_q(tok)}")
            repeat = value
        elif key == "name":
            if not isinstance(value, str):
                raise _err(quoted, col, f"name must be a word, got {_q(raw)}")
            name = value
        elif key == "inputs":
            inputs = value if isinstance(value, tuple) else (value,)
            if not all(isinstance(v, str) for v in inputs):
                raise _err(quoted, col, f"inputs must be block names, got {_q(raw)}")
        elif key == "fixed_depth":
            if not isinstance(value, bool):
                raise _err(quoted, col, f"fixed-depth must be true or false, got {_q(tok)}")
            fixed = value
        elif key not in params:
            accepted = ", ".join(list(bt.params) + ["repeat", "name", "inputs", "fixed_depth"])
            raise _err(quoted, col, f"{btype} has no argument {_q(key)} (option {_q(tok)}); accepted: {accepted}")
        elif key in args:
            raise _err(quoted, col, f"argument {key!r} given twice")
        else:
            bad = check_arg(key, value, shown)
            if bad:
                raise _err(quoted, col, f"{btype}: {bad}")
            args[key] = value
    return Block(btype, args, repeat, name, inputs, fixed)


def split_blocks(text: str) -> List[Tuple[str, int]]:
    """Whitespace-separated block strings with their 0-based offsets."""
    return [(m.group(0), m.start()) for m in re.finditer(r"\S+", text)]


def _setting(tok: str, col: int, full: str) -> Tuple[str, object]:
    from . import validate
    from .errors import KnobError
    from .rounding import POLICIES, REPEAT_RULES
    m = _SETTING_RE.match(tok)
    key = m.group(1) if m else None
    if key not in SETTINGS:
        raise _err(full, col, f"cannot read network setting {_q(tok)}; expected @KEYNUMBER or @KEY=VALUE with "
                              f"KEY one of {', '.join(SETTINGS)} (e.g. @res160 @classes100 @alpha0.5 "
                              f"@width=floor_min8)")
    raw = m.group(2) if m.group(2) is not None else m.group(3)
    field = SETTINGS[key]
    if field == "width":
        if raw not in POLICIES:
            raise _err(full, col, f"unknown width policy {_q(raw)} in {_q(tok)}; accepted: {', '.join(POLICIES)}")
        return field, raw
    if field == "depth_rule":
        if raw not in REPEAT_RULES:
            raise _err(full, col, f"unknown depth rule {_q(raw)} in {_q(tok)}; accepted: {', '.join(REPEAT_RULES)}")
        return field, raw
    if field == "resolution" and "x" in raw:
        try:
            hw = validate.resolution(validate.parse_res(raw))
        except KnobError:
            raise _err(full, col, f"resolution must be N or HxW with positive integers, got {_q(tok)}") from None
        return field, hw if hw[0] != hw[1] else hw[0]
    try:
        v = _scalar(raw)
    except ValueError:
        raise _err(full, col, f"{key} in {_q(tok)} has too many digits") from None
    if field in ("alpha", "depth"):
        import math
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
            raise _err(full, col, f"{'alpha' if field == 'alpha' else 'depth'} must be a positive finite number, "
                                  f"got {_q(tok)}")
        return field, float(v)
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise _err(full, col, f"{key} must be a positive integer, got {_q(tok)}")
    return field, v


def parse_network(text: str) -> Tuple[dict, Tuple[Block, ...]]:
    """Parse a block-string network: its settings (``{"resolution": 160, "classes": 100, "alpha":
    0.35, "in_channels": 3, "width": "floor_min8"}``, only those given) and its blocks."""
    from . import limits
    parts = split_blocks(text)
    limits.check("blocks", sum(1 for tok, _ in parts if not tok.startswith("@")), "blocks", "block string")
    settings, blocks = {}, []
    for tok, off in parts:
        if tok.startswith("@") and not blocks:
            field, v = _setting(tok, off + 1, text)
            if field in settings:
                raise _err(text, off + 1, f"network setting {_q(tok)} given twice")
            settings[field] = v
        elif tok.startswith("@"):
            raise _err(text, off + 1, f"network setting {_q(tok)} after a block; settings come before the first "
                                      f"block")
        else:
            blocks.append(parse_block(tok, off, text))
    if not blocks and settings:
        raise SpecError(f"block string {_excerpt(text.strip())}: network settings but no block; give at least one "
                        f"block after them, e.g. '@res160 conv_k3_s2_c32 gap fc'")
    if not blocks:
        raise SpecError("empty block string: give at least one block, e.g. 'conv_k3_s2_c32 gap fc'")
    return settings, tuple(blocks)


def parse_blocks(text: str) -> Tuple[Block, ...]:
    """Parse a whitespace-separated sequence of block strings (the command-line network form)
    without network settings (``parse_network`` reads those; here they are an error rather than
    being dropped)."""
    settings, blocks = parse_network(text)
    if settings:
        raise SpecError(f"block string {_excerpt(text.strip())} has network settings "
                        f"({', '.join('@' + k for k in SETTINGS if SETTINGS[k] in settings)}); read it with "
                        f"costmodel.blockstring.parse_network or costmodel.load")
    return blocks


def format_settings(width: str, in_channels: int, res, classes: int, alpha: float, depth: float = 1.0,
                    depth_rule: Optional[str] = None) -> List[str]:
    """The ``@`` settings that make a block string build like a spec with these values: @res and
    @classes always, @alpha, @in, @width, @depth and @depth_rule when they differ from the defaults."""
    from . import validate
    from .rounding import USER_DEFAULT_WIDTH
    out = [f"@res{validate.format_res(validate.resolution(res))}", f"@classes{int(classes)}"]
    if float(alpha) != 1.0:
        out.append(f"@alpha{_fmt_scalar(float(alpha))}")
    if int(in_channels) != 3:
        out.append(f"@in{int(in_channels)}")
    if width != USER_DEFAULT_WIDTH:
        out.append(f"@width={width}")
    if depth_rule:
        out.append(f"@depth_rule={depth_rule}")
        if float(depth) != 1.0:
            out.append(f"@depth{_fmt_scalar(float(depth))}")
    return out


def looks_like_blocks(net: str) -> bool:
    """A command-line NET is a block-string network when it contains whitespace (registry names
    and file names given on the command line never do)."""
    return any(ch.isspace() for ch in net)


def starts_with_block_type(net: str) -> bool:
    """Whether ``net`` begins with a block type followed by '_' or nothing (``conv_k3_c32``, ``gap``):
    a one-block network when it is not a registry name."""
    types = _block_types()
    tokens = net.split("_")
    return any("_".join(tokens[:n]) in types for n in range(1, len(tokens) + 1))


def _fmt_scalar(v) -> Optional[str]:
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "none"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v) if re.fullmatch(_NUM, repr(v)) else None
    if isinstance(v, str) and re.fullmatch(r"[A-Za-z][A-Za-z0-9.\-]*", v) and _scalar(v) == v:
        return v
    return None


def _fmt_value(v) -> Optional[str]:
    if isinstance(v, (list, tuple)):
        parts = [_fmt_scalar(x) for x in v]
        if len(v) < 1 or any(p is None or isinstance(x, (list, tuple)) for p, x in zip(parts, v)):
            return None
        return parts[0] + "," if len(v) == 1 else ",".join(parts)
    return _fmt_scalar(v)


def format_block(block: Block) -> Optional[str]:
    """The block string of a ``Block``, or None when an argument is not expressible as one
    (a name or word containing '_' or spaces, nested lists)."""
    inv = {v: k for k, v in SHORT.items()}
    out = [block.type]
    if block.repeat is not None:
        out.append(f"r{block.repeat}")
    for key, v in block.args.items():
        if key == "act" and (v is None or v in ACTS):
            out.append("noact" if v is None else v)
            continue
        text = _fmt_value(v)
        if text is None:
            return None
        if key in inv and not isinstance(v, (bool, str)) and v is not None:
            out.append(f"{inv[key]}{text}")
        else:
            out.append(f"{key.replace('_', '-')}={text}")
    if block.name:
        if _fmt_scalar(block.name) != block.name:
            return None
        out.append(f"name={block.name}")
    if block.inputs:
        text = ",".join(block.inputs)
        if any(_fmt_scalar(i) != i for i in block.inputs):
            return None
        out.append(f"inputs={text}")
    if block.fixed_depth:
        out.append("fixed-depth=true")
    return "_".join(out)
