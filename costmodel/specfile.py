"""Spec files: a network as YAML (loaded safely) or JSON, the serialized twin of ``NetSpec``.

Format (every key but ``blocks`` optional; see docs/specfiles.md)::

    name: my_net                  # default: the file name without extension
    source: "where the table comes from"
    width: round_min1             # rounding policy of alpha x c (default round_min1: exact at
                                  # alpha 1); divisible8, floor_min8, unscaled
    alpha: 1.0                    # default width multiplier (--alpha overrides)
    classes: 1000                 # default classes (--classes overrides)
    input: {in_channels: 3, resolution: 224}   # --res overrides the resolution
    blocks:                       # the same vocabulary as the zoo (costmodel.spec.BLOCK_TYPES)
      - {type: conv, c: 32, k: 3, s: 2, act: relu6}
      - {type: ir, t: 6, c: 24, repeat: 2, s: 2, name: stage2}
      - ir_r3_s2_e6_c32_name=stage3        # a block string (costmodel.blockstring)
      - {type: conv, name: side, c: 32, k: 3, s: 2, inputs: [stage2]}
      - {type: add, inputs: [stage3, side]}   # named inputs: earlier blocks' names, or 'input'

``NetSpec.to_dict()`` output (flat ``in_channels`` / ``resolution``) is accepted as well.
Errors name the file, the line, the block and what is accepted; block-building errors (a
kernel larger than its padded input, groups not dividing the channels, ...) are mapped back to
the block's line.
"""
from __future__ import annotations

import json
import math
import numbers
import os
import re
import typing
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

import yaml

from .errors import CostModelError, KnobError, SpecError
from .fileio import read_bytes
from .graph import INPUT, Graph
from .rounding import POLICIES
from .spec import Block, NetSpec, expand

SPEC_SUFFIXES = (".yaml", ".yml", ".json")
ONNX_SUFFIXES = (".onnx",)
TOP_KEYS = ("name", "source", "description", "width", "alpha", "classes", "input", "in_channels", "resolution",
            "blocks")
BLOCK_KEYS = ("type", "name", "inputs", "repeat")
MAX_REPEAT = 10_000
#: width policy of spec files and block strings that name none: exact at alpha = 1 (the zoo's
#: networks name their own, and ``costmodel show`` writes it)
DEFAULT_WIDTH = "round_min1"
_NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")


# ----------------------------------------------------------------------------- YAML with line numbers
class LineDict(dict):
    """A mapping that remembers its line and each key's line (1-based)."""

    line = 0
    key_lines: Dict = {}


class LineList(list):
    """A sequence that remembers its line and each item's line (1-based)."""

    line = 0
    item_lines: list = []


class _LineLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that records line numbers and rejects duplicate keys."""


class _LineError(Exception):
    def __init__(self, line: int, msg: str):
        super().__init__(msg)
        self.line = line


def _construct_map(loader, node):
    data = LineDict()
    data.line = node.start_mark.line + 1
    yield data
    loader.flatten_mapping(node)
    data.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, typing.Hashable) or isinstance(key, (list, dict)):
            raise _LineError(key_node.start_mark.line + 1, "a mapping key must be a plain value")
        if key in data:
            raise _LineError(key_node.start_mark.line + 1, f"duplicate key {key!r} (first given on line "
                                                           f"{data.key_lines[key]})")
        data[key] = loader.construct_object(value_node, deep=True)
        data.key_lines[key] = key_node.start_mark.line + 1


def _construct_seq(loader, node):
    data = LineList()
    data.line = node.start_mark.line + 1
    yield data
    data.item_lines = [n.start_mark.line + 1 for n in node.value]
    data.extend(loader.construct_object(n, deep=True) for n in node.value)


_LineLoader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_LineLoader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)


def parse_text(text: str, where: str, fmt: str = "yaml"):
    """Parse YAML or JSON text to plain data with line numbers (``LineDict``/``LineList``)."""
    if not text.strip():
        raise SpecError(f"{where}: the file is empty; a spec needs at least a 'blocks:' list")
    if fmt == "json":
        try:
            json.loads(text)
        except json.JSONDecodeError as e:
            raise SpecError(f"{where}:{e.lineno}:{e.colno}: malformed JSON: {e.msg}") from None
        except RecursionError:
            raise SpecError(f"{where}: malformed JSON: nested too deeply") from None
    try:
        return yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except _LineError as e:
        raise SpecError(f"{where}:{e.line}: {e}") from None
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        what = " ".join(str(e.problem or e.context or "syntax error").split())
        if e.problem and e.context and e.context_mark is not None and e.context_mark.line != getattr(mark, "line", -1):
            what += f" ({' '.join(e.context.split())} on line {e.context_mark.line + 1})"
        if mark is None:
            raise SpecError(f"{where}: malformed YAML: {what}") from None
        raise SpecError(f"{where}:{mark.line + 1}:{mark.column + 1}: malformed YAML: {what}") from None
    except yaml.YAMLError as e:
        if fmt == "json":  # valid JSON that PyYAML cannot read (tabs, ...): no line numbers
            return json.loads(text)
        raise SpecError(f"{where}: malformed YAML: {' '.join(str(e).split())}") from None
    except RecursionError:
        raise SpecError(f"{where}: malformed YAML: nested too deeply") from None


# ----------------------------------------------------------------------------- validation
@dataclass(frozen=True)
class SpecFile:
    """A validated spec file: the ``NetSpec``, its defaults and the line of each block."""

    path: str
    spec: NetSpec
    alpha: float = 1.0
    classes: int = 1000
    lines: Tuple[int, ...] = ()

    def where(self, block_index: Optional[int] = None) -> str:
        if block_index is None or block_index >= len(self.lines) or not self.lines[block_index]:
            return self.path
        return f"{self.path}:{self.lines[block_index]}"

    def build(self, alpha=None, res=None, classes=None, **knobs) -> Graph:
        """Expand at ``alpha`` / ``res`` / ``classes`` (the file's defaults when None)."""
        if knobs:
            names = ", ".join("--" + k.replace("_", "-") for k in knobs)
            raise KnobError(f"{self.path}: spec files take no knobs ({names}); the blocks define the architecture: "
                            f"edit them (or re-run 'costmodel show NET' with the knob for a registry network)")
        alpha = check_alpha(self.alpha if alpha is None else alpha, self.path)
        res = check_res(self.spec.default_res if res is None else res, self.path)
        classes = check_classes(self.classes if classes is None else classes, self.path)
        meta = {"network": self.spec.name, "family": "spec file"}
        try:
            return expand(self.spec, alpha, res, classes, meta=meta)
        except CostModelError as e:
            raise type(e)(f"{self.where(getattr(e, 'block_index', None))}: {e}") from None
        except (TypeError, ValueError, ArithmeticError, LookupError, AttributeError) as e:
            bi = getattr(e, "block_index", None)
            label = f" block {bi} ({self.spec.blocks[bi].name or self.spec.blocks[bi].type}):" if bi is not None else ""
            raise SpecError(f"{self.where(bi)}:{label} bad argument value(s): {type(e).__name__}: "
                            f"{' '.join(str(e).split())}") from None


def check_alpha(alpha, where: str) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not math.isfinite(alpha) or alpha <= 0:
        raise KnobError(f"{where}: alpha must be a positive finite number, got {alpha!r}")
    return float(alpha)


def check_res(res, where: str) -> int:
    if isinstance(res, float) and res.is_integer():
        res = int(res)
    if isinstance(res, bool) or not isinstance(res, numbers.Integral) or res < 1:
        raise KnobError(f"{where}: resolution must be a positive integer, got {res!r}")
    return int(res)


def check_classes(classes, where: str) -> int:
    if isinstance(classes, bool) or not isinstance(classes, numbers.Integral) or classes < 1:
        raise KnobError(f"{where}: classes must be a positive integer, got {classes!r}")
    return int(classes)


def _hint_types(bt):
    """Accepted Python types per argument, from annotations or else defaults (None: unchecked)."""
    import inspect
    try:
        hints = typing.get_type_hints(bt.fn)
    except Exception:  # an annotation we cannot evaluate: check by defaults only
        hints = {}
    sig = inspect.signature(bt.fn).parameters
    out = {}
    for name in bt.params:
        h = hints.get(name)
        optional = False
        if typing.get_origin(h) is typing.Union:
            args = [a for a in typing.get_args(h) if a is not type(None)]
            optional = len(args) < len(typing.get_args(h))
            h = args[0] if len(args) == 1 else None
        if h in (int, float, bool, str):
            out[name] = (h, optional, False)
            continue
        if h is None and name not in hints:
            d = sig[name].default
            if isinstance(d, bool):
                out[name] = (bool, False, False)
            elif isinstance(d, int):
                out[name] = (int, False, True)  # k=3, s=1, dilation=1: an int or a list of ints
            elif isinstance(d, float):
                out[name] = (float, False, False)
            elif isinstance(d, str):
                out[name] = (str, False, False)
    return out


_TYPE_WORD = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}


def _check_value(v, kind) -> bool:
    t, optional, seq = kind
    if v is None:
        return optional
    if isinstance(v, (list, tuple)):
        return seq and len(v) > 0 and all(_check_value(x, (int, False, False)) for x in v)
    if t is bool:
        return isinstance(v, bool)
    if isinstance(v, bool):
        return False
    if t is int:
        return isinstance(v, int)
    if t is float:
        return isinstance(v, (int, float))
    return isinstance(v, str)


def _plain(v, where: str, key: str):
    """YAML values to the Python values blocks take: lists -> tuples, finite numbers only."""
    if isinstance(v, (list, tuple)):
        return tuple(_plain(x, where, key) for x in v)
    if isinstance(v, float) and not math.isfinite(v):
        raise SpecError(f"{where}: {key} must be a finite number, got {v!r}")
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    raise SpecError(f"{where}: {key} must be a number, string, true/false, null or a list of those, "
                    f"got {describe(v, where)}")


def describe(v, where: str = "") -> str:
    """A value's kind in the user's words (never an internal class name such as LineList):
    'a YAML list' / 'a JSON array', 'a YAML mapping' / 'a JSON object', 'a string', ..."""
    import datetime
    json_ = str(where).lower().split(":")[0].endswith(".json")
    if isinstance(v, dict):
        return "a JSON object" if json_ else "a YAML mapping"
    if isinstance(v, (list, tuple)):
        return "a JSON array" if json_ else "a YAML list"
    if isinstance(v, bool):
        return f"{str(v).lower()} (a boolean)"
    if v is None:
        return "null"
    if isinstance(v, numbers.Real):
        return f"the number {v!r}"
    if isinstance(v, str):
        return f"the string {v!r}"
    if isinstance(v, (datetime.date, datetime.datetime)):
        return f"a date/time ({v})"
    if isinstance(v, (bytes, bytearray)):
        return "binary data (!!binary)"
    if isinstance(v, (set, frozenset)):
        return "a set (!!set)"
    return "an unsupported YAML value"


def _line_of(container, key, default):
    lines = getattr(container, "key_lines", None) or {}
    return lines.get(key, default)


def parse_block_entry(entry, index: int, line: int, path: str, types) -> Block:
    """One ``blocks:`` item (mapping or block string) to a ``Block``, checked against its type."""
    from .blockstring import parse_block
    at = f"{path}:{line}" if line else path
    if isinstance(entry, str):
        try:
            return parse_block(entry.strip())
        except SpecError as e:
            raise SpecError(f"{at}: block {index}: {e}") from None
    if not isinstance(entry, dict):
        raise SpecError(f"{at}: block {index} must be a mapping with a 'type' or a block string like "
                        f"'ir_r2_s2_e6_c24', got {describe(entry, path)}")
    btype = entry.get("type")
    if btype is None:
        raise SpecError(f"{at}: block {index} has no 'type'; accepted: {', '.join(sorted(types))}")
    if not isinstance(btype, str) or btype not in types:
        import difflib
        close = difflib.get_close_matches(str(btype), types, n=2)
        hint = f" (did you mean {' or '.join(close)}?)" if close else ""
        raise SpecError(f"{path}:{_line_of(entry, 'type', line)}: block {index}: unknown block type {btype!r}{hint}; "
                        f"accepted: {', '.join(sorted(types))}")
    bt = types[btype]
    label = f"block {index} ({entry.get('name') or btype})"
    args = {}
    for key, v in entry.items():
        if key in BLOCK_KEYS:
            continue
        kat = f"{path}:{_line_of(entry, key, line)}: {label}"
        if key not in bt.params:
            raise SpecError(f"{kat}: unknown argument {key!r} for {btype}; accepted: "
                            f"{', '.join(list(BLOCK_KEYS) + list(bt.params))}")
        args[key] = _plain(v, kat, key)
    return Block(btype, args, entry.get("repeat", 1), entry.get("name"), _inputs(entry.get("inputs"), entry, line,
                                                                             path, label))


def _inputs(v, entry, line, path, label):
    if v is None:
        return None
    at = f"{path}:{_line_of(entry, 'inputs', line)}: {label}"
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, list) or not v or not all(isinstance(i, str) for i in v):
        raise SpecError(f"{at}: inputs must be a block name or a list of block names, got {v!r}")
    return tuple(v)


def check_blocks(blocks, lines, path: str, types) -> None:
    """Per-block checks shared by files and block strings: argument types and values, repeat,
    names, and the DAG (named inputs must be earlier blocks: no dangling input, no cycle)."""
    defined = {}
    all_names = {b.name: i for i, b in enumerate(blocks) if isinstance(b.name, str) and b.name}
    for i, b in enumerate(blocks):
        bt = types[b.type]
        at = f"{path}:{lines[i]}" if lines and lines[i] else path
        label = f"block {i} ({b.name or b.type})"
        if isinstance(b.repeat, bool) or not isinstance(b.repeat, int) or not 1 <= b.repeat <= MAX_REPEAT:
            raise SpecError(f"{at}: {label}: repeat must be an integer from 1 to {MAX_REPEAT}, got {b.repeat!r}")
        if b.name is not None:
            if not isinstance(b.name, str) or not _NAME_RE.fullmatch(b.name) or b.name == INPUT:
                raise SpecError(f"{at}: {label}: name must be a word of letters, digits, '_', '.' or '-' (not "
                                f"'input'), got {b.name!r}")
            if b.name in defined:
                raise SpecError(f"{at}: {label}: name {b.name!r} is already used by block {defined[b.name]}")
        missing = [p for p in bt.required if p not in b.args]
        if missing:
            raise SpecError(f"{at}: {label}: missing argument(s) {', '.join(missing)} for {b.type}")
        kinds = _hint_types(bt)
        for key, v in b.args.items():
            if isinstance(v, float) and not math.isfinite(v):
                raise SpecError(f"{at}: {label}: {key} must be a finite number, got {v!r}")
            if key in kinds and not _check_value(v, kinds[key]):
                t, optional, seq = kinds[key]
                want = _TYPE_WORD[t] + (" or a list of integers" if seq else "") + (" or null" if optional else "")
                raise SpecError(f"{at}: {label}: {key} must be {want}, got {v!r}")
        if b.inputs:
            for ref in b.inputs:
                if ref == INPUT or ref in defined:
                    continue
                if ref == b.name:
                    raise SpecError(f"{at}: {label}: reads its own output {ref!r}: a cycle; inputs must be "
                                    f"earlier blocks")
                if ref in all_names:
                    j = all_names[ref]
                    jl = f" on line {lines[j]}" if lines and lines[j] else ""
                    raise SpecError(f"{at}: {label}: input {ref!r} is block {j}{jl}, defined later: a forward "
                                    f"reference (cycle); inputs must be earlier blocks")
                known = ", ".join([INPUT] + list(defined)) or INPUT
                raise SpecError(f"{at}: {label}: input {ref!r} is not the name of any block (dangling); "
                                f"known here: {known}")
            if not bt.multi_input and len(b.inputs) != 1:
                raise SpecError(f"{at}: {label}: {b.type} reads one input, got {len(b.inputs)}")
        if bt.multi_input and len(b.inputs or ()) < 2:
            raise SpecError(f"{at}: {label}: {b.type} needs 'inputs' naming two or more earlier blocks")
        if b.name:
            defined[b.name] = i


def _block_types():
    from .blockstring import _block_types as bts
    return bts()


def spec_from_data(data, path: str) -> SpecFile:
    """Validate parsed spec data (from ``parse_text``) into a ``SpecFile``."""
    if data is None:
        raise SpecError(f"{path}: the file is empty; a spec needs at least a 'blocks:' list")
    if not isinstance(data, dict):
        raise SpecError(f"{path}:{getattr(data, 'line', 1)}: a spec must be a mapping with 'blocks:' (and "
                        f"optionally {', '.join(k for k in TOP_KEYS if k != 'blocks')}), got {describe(data, path)}")
    top = getattr(data, "line", 0)

    def at(key):
        ln = _line_of(data, key, top)
        return f"{path}:{ln}" if ln else path

    for key in data:
        if key not in TOP_KEYS:
            raise SpecError(f"{at(key)}: unknown key {key!r}; accepted: {', '.join(TOP_KEYS)}")
    stem = os.path.splitext(os.path.basename(path))[0] or "spec"
    name = data.get("name", stem)
    for key in ("name", "source", "description"):
        if key in data and not isinstance(data[key], str):
            raise SpecError(f"{at(key)}: {key} must be a string, got {data[key]!r}")
    width = data.get("width", DEFAULT_WIDTH)
    if not isinstance(width, str) or width not in POLICIES:
        raise SpecError(f"{at('width')}: unknown width policy {width!r}; accepted: {', '.join(POLICIES)}")
    inp = data.get("input", {})
    if not isinstance(inp, dict):
        raise SpecError(f"{at('input')}: input must be a mapping like {{in_channels: 3, resolution: 224}}")
    for key in inp:
        if key not in ("in_channels", "resolution"):
            raise SpecError(f"{path}:{_line_of(inp, key, top)}: unknown input key {key!r}; accepted: in_channels, "
                            f"resolution")
    for key in ("in_channels", "resolution"):
        if key in inp and key in data:
            raise SpecError(f"{at(key)}: {key} is given twice (top level and under input:)")
    in_ch = inp.get("in_channels", data.get("in_channels", 3))
    res = inp.get("resolution", data.get("resolution", 224))
    for key, v in (("in_channels", in_ch), ("resolution", res)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise SpecError(f"{at('input' if key in inp else key)}: {key} must be a positive integer, got {v!r}")
    try:
        alpha = check_alpha(data.get("alpha", 1.0), at("alpha"))
        classes = check_classes(data.get("classes", 1000), at("classes"))
    except KnobError as e:
        raise SpecError(str(e)) from None
    blocks = data.get("blocks")
    if not isinstance(blocks, list) or not blocks:
        raise SpecError(f"{at('blocks')}: 'blocks' must be a non-empty list of blocks "
                        f"(mappings with a 'type', or block strings like 'ir_r2_s2_e6_c24')")
    types = _block_types()
    item_lines = list(getattr(blocks, "item_lines", []) or [])
    lines = tuple((getattr(e, "line", 0) or (item_lines[i] if i < len(item_lines) else 0))
                  for i, e in enumerate(blocks))
    parsed = tuple(parse_block_entry(e, i, lines[i], path, types) for i, e in enumerate(blocks))
    check_blocks(parsed, lines, path, types)
    spec = NetSpec(name, parsed, width=width, in_channels=in_ch, default_res=res, source=data.get("source", ""))
    return SpecFile(path, spec, alpha, classes, lines)


def read_spec(path: str) -> SpecFile:
    """Read and validate a spec file (.yaml, .yml or .json)."""
    fmt = "json" if path.lower().endswith(".json") else "yaml"
    raw = read_bytes(path, "spec file", SpecError)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise SpecError(f"{path}: not a text file (byte {e.start} is not UTF-8)") from None
    return spec_from_data(parse_text(text, path, fmt), path)


def spec_from_blocks(text: str, name: str = "blocks") -> SpecFile:
    """A block-string network (``"@res160 conv_k3_s2_c32 ir_e1_c16 gap fc"``): its leading ``@``
    settings, else round_min1 rounding (exact at alpha 1), 3 input channels, resolution 224,
    1000 classes and alpha 1."""
    from .blockstring import parse_network
    settings, blocks = parse_network(text)
    where = f"block string {text.strip()!r}"
    check_blocks(blocks, None, where, _block_types())
    spec = NetSpec(name, blocks, width=settings.get("width", DEFAULT_WIDTH),
                   in_channels=settings.get("in_channels", 3), default_res=settings.get("resolution", 224))
    return SpecFile(where, spec, settings.get("alpha", 1.0), settings.get("classes", 1000))


# ----------------------------------------------------------------------------- writing (costmodel show)
def spec_to_data(spec: NetSpec, alpha: float = 1.0, res: Optional[int] = None, classes: int = 1000) -> dict:
    """The spec file contents for a ``NetSpec`` (tuples as lists)."""
    def plain(v):
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        if isinstance(v, numbers.Integral) and not isinstance(v, bool):
            return int(v)
        if isinstance(v, numbers.Real) and not isinstance(v, bool):
            return float(v)
        if v is None or isinstance(v, (bool, str)):
            return v
        raise SpecError(f"{spec.name}: block argument value {v!r} ({type(v).__name__}) cannot be written to a spec file")

    blocks = []
    for b in spec.blocks:
        d = b.to_dict()
        d.update((k, plain(v)) for k, v in b.args.items())
        blocks.append(d)
    out = {"name": spec.name}
    if spec.source:
        out["source"] = spec.source
    out.update({"width": spec.width, "alpha": float(alpha), "classes": int(classes),
                "input": {"in_channels": spec.in_channels, "resolution": int(res or spec.default_res)},
                "blocks": blocks})
    return out


def dump_spec(data: dict, fmt: str = "yaml", header: str = "") -> str:
    """Spec data as YAML (one flow mapping per block, like the papers' table rows) or JSON."""
    if fmt == "json":
        head = {k: v for k, v in data.items() if k != "blocks"}
        body = json.dumps(head, indent=2)[:-2]
        rows = ",\n".join("    " + json.dumps(b) for b in data["blocks"])
        return f"{body},\n  \"blocks\": [\n{rows}\n  ]\n}}\n"
    lines = [f"# {h}" for h in header.splitlines()] if header else []
    for key, v in data.items():
        if key == "blocks":
            continue
        if isinstance(v, dict):
            lines.append(f"{key}: " + yaml.safe_dump(v, default_flow_style=True, width=1 << 30).strip())
        else:
            lines.append(yaml.safe_dump({key: v}, default_flow_style=False, width=1 << 30).strip())
    lines.append("blocks:")
    for b in data["blocks"]:
        lines.append("  - " + yaml.safe_dump(b, default_flow_style=True, sort_keys=False, width=1 << 30).strip())
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- one entry point
def source_kind(net: str) -> str:
    """'spec', 'onnx', 'blocks' or 'registry' for a network argument."""
    from .blockstring import looks_like_blocks
    if not isinstance(net, str):
        raise KnobError(f"a network must be a name or a file path, got {net!r}")
    low = net.lower()
    if low.endswith(SPEC_SUFFIXES):
        return "spec"
    if low.endswith(ONNX_SUFFIXES):
        return "onnx"
    if looks_like_blocks(net) or net.startswith("@"):
        return "blocks"
    from .blockstring import starts_with_block_type
    from .registry import networks
    if net not in networks() and not os.path.exists(net) and starts_with_block_type(net):
        return "blocks"  # a one-block network such as 'conv_k3_s2_c32'
    return "registry"


def load(path_or_name: str, alpha=None, res=None, classes=None, *, skip_unsupported: bool = False,
         **knobs) -> Graph:
    """Build a network from a registry name, a spec file (.yaml/.yml/.json), an ONNX model (.onnx)
    or a whitespace-separated block string: ``costmodel.load("my_net.yaml", alpha=0.5)``."""
    kind = source_kind(path_or_name)
    if kind == "spec":
        return read_spec(path_or_name).build(alpha, res, classes, **knobs)
    if kind == "blocks":
        return spec_from_blocks(path_or_name).build(alpha, res, classes, **knobs)
    if kind == "onnx":
        from .onnx_import import load_onnx
        if alpha is not None:
            raise KnobError(f"{path_or_name}: alpha does not apply to an ONNX model (its widths are fixed)")
        if knobs:
            raise KnobError(f"{path_or_name}: an ONNX model takes no knobs ({', '.join(knobs)})")
        if classes is not None:
            raise KnobError(f"{path_or_name}: classes does not apply to an ONNX model (its classifier is fixed)")
        return load_onnx(path_or_name, res=res, skip_unsupported=skip_unsupported)
    from .registry import build, networks
    if path_or_name not in networks() and os.path.isfile(path_or_name):
        raise KnobError(f"{path_or_name!r} is a file but not a spec file or ONNX model: spec files end in "
                        f"{', '.join(SPEC_SUFFIXES)}, ONNX models in .onnx")
    return build(path_or_name, alpha=alpha, res=res, classes=1000 if classes is None else classes, **knobs)


def sweep_file(path_or_name: str, alphas=None, resolutions=None, classes=None, *, bits: int = 32,
               unfused: bool = False, zero_copy: bool = False, peak: bool = False, progress=None, **knobs):
    """``costmodel.sweep.sweep`` for a spec file, block string or ONNX model: one exact
    ``analyze(load(...))`` per (alpha, resolution), the same DataFrame columns as the vectorized
    sweep (Python integers when a value reaches 2**62). ``alphas`` / ``resolutions`` None: the
    file's defaults; ``classes`` None or 1000 (the API default): the file's own (an ONNX model's
    classifier is fixed)."""
    import numpy as np
    import pandas as pd
    from .analysis import analyze
    from .sweep import INT64_BOUND, SWEEP_KEYS
    kind = source_kind(path_or_name)
    from .sweep import _as_list
    alphas = [None] if alphas is None else _as_list(alphas)
    resolutions = [None] if resolutions is None else _as_list(resolutions)
    if not alphas or not resolutions:
        raise CostModelError("sweep needs at least one alpha and one resolution")
    if classes == 1000:
        classes = None
    keys = list(SWEEP_KEYS) + (["peak_activation_bytes"] if peak else [])
    rows, total = [], len(alphas) * len(resolutions)
    for a in alphas:
        for r in resolutions:
            g = load(path_or_name, a, r, classes, **knobs)
            rep = analyze(g, bits=bits, unfused=unfused, zero_copy=zero_copy)
            rows.append([g.meta["alpha"], g.meta["resolution"], g.meta.get("classes", 0)]
                        + [rep.totals[k] for k in keys])
            if progress is not None:
                progress(len(rows), total)
    cols = {"network": pd.Categorical([g.meta["network"]] * len(rows)),
            "alpha": np.array([x[0] for x in rows], dtype=float),
            "resolution": [x[1] for x in rows], "classes": [x[2] for x in rows]}
    for i, k in enumerate(keys):
        vals = [x[3 + i] for x in rows]
        cols[k] = np.array(vals, dtype=np.int64 if max(abs(v) for v in vals) < INT64_BOUND else object)
    df = pd.DataFrame(cols)
    df.attrs.update({"network": g.meta["network"], "family": g.meta.get("family", kind), "bits": bits,
                     "unfused": unfused, "zero_copy": zero_copy})
    return df
