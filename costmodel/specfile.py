"""Spec files: a network as YAML (loaded safely) or JSON, the serialized twin of ``NetSpec``.

Format (every key but ``blocks`` optional; see docs/specfiles.md)::

    name: my_net                  # default: the file name without extension
    source: "where the table comes from"
    width: round_min1             # rounding policy of alpha x c (default round_min1: exact at
                                  # alpha 1); divisible8, floor_min8, unscaled
    alpha: 1.0                    # default width multiplier (--alpha overrides)
    depth: 1.0                    # default depth multiplier (--depth-mult overrides; needs depth_rule)
    depth_rule: ceil              # how depth scales each block's repeat (default: none, no depth)
    classes: 1000                 # default classes (--classes overrides)
    input: {in_channels: 3, resolution: 224}   # or resolution: [320, 240] (H, W); --res overrides
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

import functools
import json
import math
import numbers
import os
import re
import sys
import typing
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

import yaml

from . import validate
from .blocks import check_arg
from .validate import short
from .errors import CostModelError, KnobError, SpecError
from .fileio import read_bytes
from .graph import INPUT, Graph
from .rounding import POLICIES, REPEAT_RULES, USER_DEFAULT_WIDTH
from .spec import Block, NetSpec, expand

SPEC_SUFFIXES = (".yaml", ".yml", ".json")
TOP_KEYS = ("name", "source", "description", "width", "alpha", "depth", "depth_rule", "classes", "input",
            "in_channels", "resolution", "precision", "blocks")
BLOCK_KEYS = ("type", "name", "inputs", "repeat", "fixed_depth", "precision")
MAX_REPEAT = 10_000
#: width policy of spec files and block strings that name none (exact at alpha = 1)
DEFAULT_WIDTH = USER_DEFAULT_WIDTH
_NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")
#: the most digits Python converts to an integer (sys.get_int_max_str_digits, 0 meaning no limit)
_MAX_DIGITS = getattr(sys, "get_int_max_str_digits", lambda: 4300)() or 4300


# ----------------------------------------------------------------------------- YAML with line numbers
class LineDict(dict):
    """A mapping that remembers its line and each key's line (1-based)."""

    line = 0
    key_lines: Dict = {}


class LineList(list):
    """A sequence that remembers its line and each item's line (1-based)."""

    line = 0
    item_lines: list = []


class _LineLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """``yaml.SafeLoader`` (libyaml's when PyYAML has it: the same documents, parsed in C) that
    records line numbers, rejects duplicate keys and bounds alias expansion (``load_yaml``)."""


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
            raise _LineError(key_node.start_mark.line + 1, f"duplicate key {short(key)} (first given on line "
                                                           f"{data.key_lines[key]})")
        data[key] = loader.construct_object(value_node, deep=True)
        data.key_lines[key] = key_node.start_mark.line + 1


def _construct_seq(loader, node):
    data = LineList()
    data.line = node.start_mark.line + 1
    yield data
    data.item_lines = [n.start_mark.line + 1 for n in node.value]
    data.extend(loader.construct_object(n, deep=True) for n in node.value)


def _construct_int(loader, node):
    try:
        return yaml.SafeLoader.construct_yaml_int(loader, node)
    except ValueError:  # more digits than Python converts (4300): no count is that large
        raise _LineError(node.start_mark.line + 1, f"an integer of {len(str(node.value)):,} characters is too long to "
                                                   f"read (at most {_MAX_DIGITS:,} digits)") from None


_LineLoader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_LineLoader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)
_LineLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def _expanded_size(root) -> int:
    """The number of nodes of a composed YAML document with every alias expanded (an alias is the
    same node object as its anchor: the composed graph is a DAG, walked once per distinct node).
    A node that contains itself (``&a [*a]``) is refused: it has no finite expansion."""
    size, state, stack = {}, {}, [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            kids = node.value if isinstance(node, yaml.SequenceNode) else (
                [n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode) else [])
            size[key] = 1 + sum(size[id(k)] for k in kids)
            state[key] = 2
            continue
        if state.get(key) == 2:
            continue
        if state.get(key) == 1:
            raise _LineError(node.start_mark.line + 1, "a YAML alias refers to a node that contains it (a "
                                                       "recursive structure, which has no finite expansion)")
        state[key] = 1
        stack.append((node, True))
        kids = node.value if isinstance(node, yaml.SequenceNode) else (
            [n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode) else [])
        for k in reversed(kids):
            if state.get(id(k)) == 1:
                raise _LineError(k.start_mark.line + 1, "a YAML alias refers to a node that contains it (a "
                                                        "recursive structure, which has no finite expansion)")
            if state.get(id(k)) != 2:
                stack.append((k, False))
    return size[id(root)], len(size)


def load_yaml(text: str, where: str):
    """YAML text to data (``LineDict``/``LineList`` with line numbers). The document is composed
    first, and the nodes its aliases (``*name``) add when expanded are counted before anything is
    built: beyond the limit ``alias_nodes`` (costmodel.limits, COSTMODEL_MAX_ALIAS_NODES) the file
    is refused, so a few hundred bytes of nested aliases (a "billion laughs") cannot ask for
    exponential work or memory."""
    from . import limits
    loader = _LineLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        expanded, distinct = _expanded_size(node)
        limits.check("alias_nodes", expanded - distinct, "nodes added by expanding its YAML aliases (*name)", where,
                     hint=lambda: f"; the document has {distinct:,} nodes as written")
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _json_pairs(where: str):
    """``object_pairs_hook`` that rejects duplicate keys, as the YAML loader does."""
    def hook(pairs):
        out = {}
        for k, v in pairs:
            if k in out:
                raise SpecError(f"{where}: duplicate key {short(k)} in a JSON object")
            out[k] = v
        return out
    return hook


def parse_text(text: str, where: str, fmt: str = "yaml"):
    """Parse YAML or JSON text to plain data with line numbers (``LineDict``/``LineList``). JSON is
    parsed as JSON (the YAML reading only adds line numbers where it agrees: a valid JSON file that
    YAML cannot read, with tabs between tokens say, is still accepted, without line numbers)."""
    if not text.strip():
        raise SpecError(f"{where}: the file is empty; a spec needs at least a 'blocks:' list")
    if fmt == "json":
        try:
            data = json.loads(text, object_pairs_hook=_json_pairs(where))
        except json.JSONDecodeError as e:
            raise SpecError(f"{where}:{e.lineno}:{e.colno}: malformed JSON: {e.msg}") from None
        except RecursionError:
            raise SpecError(f"{where}: malformed JSON: nested too deeply") from None
        except ValueError:  # an integer of more digits than Python converts (4300)
            m = re.search(r"\d{%d,}" % (_MAX_DIGITS + 1), text)
            at = f":{text.count(chr(10), 0, m.start()) + 1}" if m else ""
            raise SpecError(f"{where}{at}: an integer of {len(m.group(0)) if m else _MAX_DIGITS + 1:,} digits is too "
                            f"long to read (at most {_MAX_DIGITS:,} digits)") from None
        try:
            lined = load_yaml(text, where)
        except (yaml.YAMLError, _LineError, RecursionError, CostModelError):
            return data
        return lined if lined == data else data
    try:
        return load_yaml(text, where)
    except _LineError as e:
        raise SpecError(f"{where}:{e.line}: {e}") from None
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        what = " ".join(str(e.problem or e.context or "syntax error").split())
        if e.problem and e.context and e.context_mark is not None and e.context_mark.line != getattr(mark, "line", -1):
            what += f" ({' '.join(e.context.split())} on line {e.context_mark.line + 1})"
        what = validate.bounded(what, 300, 60)
        if mark is None:
            raise SpecError(f"{where}: malformed YAML: {what}") from None
        raise SpecError(f"{where}:{mark.line + 1}:{mark.column + 1}: malformed YAML: {what}") from None
    except yaml.YAMLError as e:
        raise SpecError(f"{where}: malformed YAML: {validate.bounded(' '.join(str(e).split()), 300, 60)}") from None
    except RecursionError:
        raise SpecError(f"{where}: malformed YAML: nested too deeply") from None


# ----------------------------------------------------------------------------- validation
@dataclass(frozen=True)
class SpecFile:
    """A validated spec file: the ``NetSpec`` (with the file's defaults) and the line of each block."""

    path: str
    spec: NetSpec
    lines: Tuple[int, ...] = ()

    def where(self, block_index: Optional[int] = None) -> str:
        if block_index is None or block_index >= len(self.lines) or not self.lines[block_index]:
            return self.path
        return f"{self.path}:{self.lines[block_index]}"

    def build(self, alpha=None, res=None, classes=None, depth=None, **knobs) -> Graph:
        """Expand at ``alpha`` / ``res`` / ``classes`` / ``depth`` (the file's defaults when None)."""
        if knobs:
            names = ", ".join("--" + k.replace("_", "-") for k in knobs)
            raise KnobError(f"{self.path}: spec files take no knobs ({names}); the blocks define the architecture: "
                            f"edit them (or re-run 'costmodel show NET' with the knob for a registry network)")
        spec = self.spec
        alpha = validate.alpha(spec.default_alpha if alpha is None else alpha, self.path)
        res = validate.resolution(spec.default_res if res is None else res, self.path)
        classes = validate.classes(spec.default_classes if classes is None else classes, self.path)
        depth = validate.depth(spec.default_depth if depth is None else depth, self.path)
        meta = {"network": spec.name, "family": "spec file"}
        try:
            return expand(spec, alpha, res, classes, depth, meta=meta)
        except CostModelError as e:
            raise type(e)(f"{self.where(getattr(e, 'block_index', None))}: {e}") from None
        except (TypeError, ValueError, ArithmeticError, LookupError, AttributeError) as e:
            bi = getattr(e, "block_index", None)
            label = f" block {bi} ({spec.blocks[bi].name or spec.blocks[bi].type}):" if bi is not None else ""
            raise SpecError(f"{self.where(bi)}:{label} bad argument value(s): {type(e).__name__}: "
                            f"{validate._short(' '.join(str(e).split()), 200)}") from None


def _label_name(name):
    """A block's name as labels show it (a name is a word, but may be long)."""
    return short(name, 40).strip("'") if isinstance(name, str) else None


@functools.lru_cache(maxsize=None)
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
        raise SpecError(f"{where}: {key} must be a finite number, got {short(v)}")
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
        return f"the number {short(v)}"
    if isinstance(v, str):
        return f"the string {short(v)}"
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
        raise SpecError(f"{path}:{_line_of(entry, 'type', line)}: block {index}: unknown block type {short(btype)}"
                        f"{hint}; accepted: {', '.join(sorted(types))}")
    bt = types[btype]
    label = f"block {index} ({_label_name(entry.get('name')) or btype})"
    args = {}
    for key, v in entry.items():
        if key in BLOCK_KEYS:
            continue
        kat = f"{path}:{_line_of(entry, key, line)}: {label}"
        if key not in bt.params:
            raise SpecError(f"{kat}: unknown argument {short(key)} for {btype}; accepted: "
                            f"{', '.join(list(BLOCK_KEYS) + list(bt.params))}")
        args[key] = _plain(v, kat, key)
    fixed = entry.get("fixed_depth", False)
    if not isinstance(fixed, bool):
        raise SpecError(f"{path}:{_line_of(entry, 'fixed_depth', line)}: {label}: fixed_depth must be true or false, "
                        f"got {describe(fixed, path)}")
    bits = entry.get("precision")
    if bits is not None and (not isinstance(bits, dict) or not bits or set(bits) - {"act", "weight"}
                             or not all(isinstance(v, int) and not isinstance(v, bool) for v in bits.values())):
        raise SpecError(f"{path}:{_line_of(entry, 'precision', line)}: {label}: precision must be a mapping like "
                        f"{{act: 8, weight: 4}} (bits 4, 8, 16 or 32), got {describe(bits, path)}")
    return Block(btype, args, entry.get("repeat"), entry.get("name"),
                 _inputs(entry.get("inputs"), entry, line, path, label), fixed,
                 None if bits is None else dict(bits))


def _inputs(v, entry, line, path, label):
    if v is None:
        return None
    at = f"{path}:{_line_of(entry, 'inputs', line)}: {label}"
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, list) or not v or not all(isinstance(i, str) for i in v):
        raise SpecError(f"{at}: inputs must be a block name or a list of block names, got {short(v)}")
    return tuple(v)


def check_blocks(blocks, lines, path: str, types) -> None:
    """Per-block checks shared by files and block strings: argument types and values, repeat,
    names, and the DAG (named inputs must be earlier blocks: no dangling input, no cycle)."""
    defined = {}
    all_names = {b.name: i for i, b in enumerate(blocks) if isinstance(b.name, str) and b.name}
    for i, b in enumerate(blocks):
        bt = types[b.type]
        at = f"{path}:{lines[i]}" if lines and lines[i] else path
        label = f"block {i} ({_label_name(b.name) or b.type})"
        if b.repeat is not None and (isinstance(b.repeat, bool) or not isinstance(b.repeat, int)
                                     or not 1 <= b.repeat <= MAX_REPEAT):
            raise SpecError(f"{at}: {label}: repeat must be an integer from 1 to {MAX_REPEAT}, got "
                            f"{short(b.repeat)}")
        if b.name is not None:
            if not isinstance(b.name, str) or not _NAME_RE.fullmatch(b.name) or b.name == INPUT:
                raise SpecError(f"{at}: {label}: name must be a word of letters, digits, '_', '.' or '-' (not "
                                f"'input'), got {short(b.name)}")
            if b.name in defined:
                raise SpecError(f"{at}: {label}: name {short(b.name)} is already used by block {defined[b.name]}")
        missing = [p for p in bt.required if p not in b.args]
        if missing:
            raise SpecError(f"{at}: {label}: missing argument(s) {', '.join(missing)} for {b.type}")
        kinds = _hint_types(bt)
        for key, v in b.args.items():
            if isinstance(v, float) and not math.isfinite(v):
                raise SpecError(f"{at}: {label}: {key} must be a finite number, got {short(v)}")
            if key in kinds and not _check_value(v, kinds[key]):
                t, optional, seq = kinds[key]
                want = _TYPE_WORD[t] + (" or a list of integers" if seq else "") + (" or null" if optional else "")
                raise SpecError(f"{at}: {label}: {key} must be {want}, got {short(v)}")
            bad = check_arg(key, v)
            if bad:
                raise SpecError(f"{at}: {label}: {bad}")
        if b.inputs:
            for ref in b.inputs:
                if ref == INPUT or ref in defined:
                    continue
                if ref == b.name:
                    raise SpecError(f"{at}: {label}: reads its own output {short(ref)}: a cycle; inputs must be "
                                    f"earlier blocks")
                if ref in all_names:
                    j = all_names[ref]
                    jl = f" on line {lines[j]}" if lines and lines[j] else ""
                    raise SpecError(f"{at}: {label}: input {short(ref)} is block {j}{jl}, defined later: a forward "
                                    f"reference (cycle); inputs must be earlier blocks")
                names = [INPUT] + list(defined)
                known = ", ".join(short(n, 40) for n in names[-10:]) + (
                    f" (and {len(names) - 10:,} earlier)" if len(names) > 10 else "")
                raise SpecError(f"{at}: {label}: input {short(ref)} is not the name of any block (dangling); "
                                f"known here: {known}")
            if not bt.multi_input and len(b.inputs) != 1:
                raise SpecError(f"{at}: {label}: {b.type} reads one input, got {len(b.inputs)}")
        if bt.multi_input and len(b.inputs or ()) < 2:
            raise SpecError(f"{at}: {label}: {b.type} needs 'inputs' naming two or more earlier blocks")
        if b.name:
            defined[b.name] = i


def _block_types():
    """Every registered block type: the generic vocabulary and the families' own."""
    from . import zoo  # noqa: F401  (registers the families' block types)
    from .spec import BLOCK_TYPES
    return BLOCK_TYPES


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
            raise SpecError(f"{at(key)}: unknown key {short(key)}; accepted: {', '.join(TOP_KEYS)}")
    stem = os.path.splitext(os.path.basename(path))[0] or "spec"
    name = data.get("name", stem)
    for key in ("name", "source", "description"):
        if key in data and not isinstance(data[key], str):
            raise SpecError(f"{at(key)}: {key} must be a string, got {short(data[key])}")
    width = data.get("width", DEFAULT_WIDTH)
    if not isinstance(width, str) or width not in POLICIES:
        raise SpecError(f"{at('width')}: unknown width policy {short(width)}; accepted: {', '.join(POLICIES)}")
    depth_rule = data.get("depth_rule")
    if depth_rule is not None and (not isinstance(depth_rule, str) or depth_rule not in REPEAT_RULES):
        raise SpecError(f"{at('depth_rule')}: unknown depth rule {short(depth_rule)}; accepted: "
                        f"{', '.join(REPEAT_RULES)} (or leave it out: no depth multiplier)")
    inp = data.get("input", {})
    if not isinstance(inp, dict):
        raise SpecError(f"{at('input')}: input must be a mapping like {{in_channels: 3, resolution: 224}}")
    for key in inp:
        if key not in ("in_channels", "resolution"):
            raise SpecError(f"{path}:{_line_of(inp, key, top)}: unknown input key {short(key)}; accepted: "
                            f"in_channels, resolution")
    for key in ("in_channels", "resolution"):
        if key in inp and key in data:
            raise SpecError(f"{at(key)}: {key} is given twice (top level and under input:)")
    in_ch = inp.get("in_channels", data.get("in_channels", 3))
    res = inp.get("resolution", data.get("resolution", 224))
    if isinstance(in_ch, bool) or not isinstance(in_ch, int) or in_ch < 1:
        raise SpecError(f"{at('input' if 'in_channels' in inp else 'in_channels')}: in_channels must be a positive "
                        f"integer, got {short(in_ch)}")
    try:
        res = validate.resolution(res, at('input' if 'resolution' in inp else 'resolution'))
        alpha = validate.alpha(data.get("alpha", 1.0), at("alpha"))
        depth = validate.depth(data.get("depth", 1.0), at("depth"))
        classes = validate.classes(data.get("classes", 1000), at("classes"))
    except KnobError as e:
        raise SpecError(str(e)) from None
    if depth != 1.0 and depth_rule is None:
        raise SpecError(f"{at('depth')}: depth {depth:g} needs a depth_rule (how repeats scale); accepted: "
                        f"{', '.join(REPEAT_RULES)}")
    blocks = data.get("blocks")
    if not isinstance(blocks, list) or not blocks:
        raise SpecError(f"{at('blocks')}: 'blocks' must be a non-empty list of blocks "
                        f"(mappings with a 'type', or block strings like 'ir_r2_s2_e6_c24')")
    from . import limits
    limits.check("blocks", len(blocks), "blocks", at("blocks"))
    types = _block_types()
    item_lines = list(getattr(blocks, "item_lines", []) or [])
    lines = tuple((getattr(e, "line", 0) or (item_lines[i] if i < len(item_lines) else 0))
                  for i, e in enumerate(blocks))
    parsed = tuple(parse_block_entry(e, i, lines[i], path, types) for i, e in enumerate(blocks))
    check_blocks(parsed, lines, path, types)
    precision = data.get("precision")
    if precision is not None and not isinstance(precision, dict):
        raise SpecError(f"{at('precision')}: precision must be a mapping (act, weight, layers), got "
                        f"{describe(precision, path)}")
    spec = NetSpec(name, parsed, width=width, in_channels=in_ch, default_res=res[0] if res[0] == res[1] else res,
                   source=data.get("source", ""), depth_rule=depth_rule, default_alpha=alpha, default_depth=depth,
                   default_classes=classes, precision=_plain_data(precision))
    return SpecFile(path, spec, lines)


def read_spec(path: str) -> SpecFile:
    """Read and validate a spec file (.yaml, .yml or .json)."""
    fmt = "json" if path.lower().endswith(".json") else "yaml"
    raw = read_bytes(path, "spec file", SpecError)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise SpecError(f"{path}: not a text file (byte {e.start} is not UTF-8)") from None
    return spec_from_data(parse_text(text, path, fmt), path)


def _plain_data(v):
    """YAML's line-recording containers as plain dicts and lists (a spec's precision)."""
    if isinstance(v, dict):
        return {k: _plain_data(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain_data(x) for x in v]
    return v


def spec_from_blocks(text: str, name: str = "blocks") -> SpecFile:
    """A block-string network (``"@res160 conv_k3_s2_c32 ir_e1_c16 gap fc"``): its leading ``@``
    settings, else round_min1 rounding (exact at alpha 1), 3 input channels, resolution 224,
    1000 classes, alpha 1 and depth 1."""
    from .blockstring import parse_network
    settings, blocks = parse_network(text)
    where = f"block string {validate._short(text.strip(), 80)}"
    check_blocks(blocks, None, where, _block_types())
    spec = NetSpec(name, blocks, width=settings.get("width", DEFAULT_WIDTH),
                   in_channels=settings.get("in_channels", 3), default_res=settings.get("resolution", 224),
                   depth_rule=settings.get("depth_rule"), default_alpha=settings.get("alpha", 1.0),
                   default_depth=settings.get("depth", 1.0), default_classes=settings.get("classes", 1000))
    return SpecFile(where, spec)
