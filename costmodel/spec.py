"""Networks as data: a ``NetSpec`` is a short table of ``Block`` records that ``expand`` turns
into a ``Graph`` for a given width multiplier alpha and resolution.

A block names a *block type* (``conv``, ``dwsep``, ``ir``, ...; see ``BLOCK_TYPES``) and the
arguments of that type as the paper's table prints them (channels before scaling). ``repeat``
expands the block n times; a stride argument ``s`` applies to the first repeat only, as in the
MobileNet tables' (n, s) columns. ``name`` lets later blocks read this block's output through
``inputs`` (a DAG); by default a block reads the previous block's output.

Block types are plain functions ``fn(g, x, ctx, **args) -> ref`` registered with
``@block_type``; they add nodes to a ``GraphBuilder`` and scale channel arguments through
``ctx.ch(c)``, which applies the network's named rounding policy (``rounding.POLICIES``).
The last block may return a tuple of refs (a detection head's box and class tensors): they
become the graph's outputs.
"""
from __future__ import annotations

import inspect
import numbers
from dataclasses import dataclass, field
from typing import Callable, Dict, Mapping, Optional, Tuple

from .errors import CostModelError, KnobError, SpecError
from .graph import INPUT, Graph, GraphBuilder
from .rounding import policy

#: how a block argument's channel count responds to alpha
WIDTH_MODES = ("scaled", "fixed", "grow")


@dataclass(frozen=True)
class Block:
    """One row of an architecture table."""

    type: str
    args: Mapping = field(default_factory=dict)
    repeat: int = 1
    name: Optional[str] = None
    inputs: Optional[Tuple[str, ...]] = None

    def to_dict(self) -> dict:
        d = {"type": self.type}
        if self.name:
            d["name"] = self.name
        if self.inputs:
            d["inputs"] = list(self.inputs)
        if self.repeat != 1:
            d["repeat"] = self.repeat
        d.update(self.args)
        return d


def blk(type: str, n: int = 1, *, name: Optional[str] = None, inputs=None, **args) -> Block:
    """Shorthand for a ``Block``: ``blk("ir", t=6, c=24, n=2, s=2)``."""
    return Block(type, dict(args), n, name, tuple(inputs) if inputs else None)


@dataclass(frozen=True)
class NetSpec:
    """A network as data: blocks, the width rounding policy and the input."""

    name: str
    blocks: Tuple[Block, ...]
    width: str = "divisible8"
    in_channels: int = 3
    default_res: int = 224
    source: str = ""

    def to_dict(self) -> dict:
        return {"name": self.name, "source": self.source, "width": self.width, "in_channels": self.in_channels,
                "resolution": self.default_res, "blocks": [b.to_dict() for b in self.blocks]}


@dataclass(frozen=True)
class Context:
    """What a block function may know besides its own arguments."""

    alpha: float
    res: int
    classes: int
    width: str = "divisible8"
    knobs: Mapping = field(default_factory=dict)

    def ch(self, c: int, mode: str = "scaled") -> int:
        """Scale a channel count by alpha with the network's rounding policy.

        ``mode``: ``scaled`` (default), ``fixed`` (alpha not applied) or ``grow`` (only
        multipliers above 1 apply, as MobileNetV2's last 1280-wide conv)."""
        if isinstance(c, bool) or not isinstance(c, numbers.Real) or not c > 0 or c == float("inf"):
            raise SpecError(f"channel count must be a positive number, got {c!r}")
        if mode == "fixed":
            return int(c)
        if mode == "grow":
            return policy(self.width)(c, max(1.0, self.alpha))
        if mode != "scaled":
            raise SpecError(f"unknown width mode {mode!r}; accepted: {', '.join(WIDTH_MODES)}")
        return policy(self.width)(c, self.alpha)


@dataclass(frozen=True)
class TracingContext(Context):
    """A ``Context`` that records how a build depends on alpha and the resolution (used by
    ``costmodel.sweep``): ``trace`` receives ``(c, mode, result)`` for every ``ch`` call and
    ``("alpha" | "res", None, None)`` for every read of ``alpha`` or ``res`` outside ``ch``."""

    trace: list = field(default_factory=list, compare=False, repr=False)

    def ch(self, c: int, mode: str = "scaled") -> int:
        object.__setattr__(self, "_in_ch", True)
        try:
            v = Context.ch(self, c, mode)
        finally:
            object.__setattr__(self, "_in_ch", False)
        self.trace.append((c, mode, v))
        return v

    def __getattribute__(self, name):
        if name in ("alpha", "res") and not object.__getattribute__(self, "__dict__").get("_in_ch"):
            object.__getattribute__(self, "trace").append((name, None, None))
        return object.__getattribute__(self, name)


@dataclass(frozen=True)
class BlockType:
    name: str
    fn: Callable
    params: Tuple[str, ...]
    required: Tuple[str, ...]
    multi_input: bool
    doc: str


BLOCK_TYPES: Dict[str, BlockType] = {}


def block_type(name: str, multi_input: bool = False):
    """Register ``fn(g, x, ctx, **args)`` as a block type usable in specs and spec files."""

    def deco(fn):
        sig = inspect.signature(fn)
        ps = [p for p in list(sig.parameters.values())[3:] if p.kind == p.KEYWORD_ONLY]
        BLOCK_TYPES[name] = BlockType(
            name, fn, tuple(p.name for p in ps), tuple(p.name for p in ps if p.default is p.empty),
            multi_input, inspect.getdoc(fn) or "")
        return fn

    return deco


def get_block_type(name: str) -> BlockType:
    from . import blocks  # noqa: F401  (registers the generic vocabulary)
    if name not in BLOCK_TYPES:  # family block types register with their zoo module
        from .registry import networks
        networks()
    try:
        return BLOCK_TYPES[name]
    except KeyError:
        raise SpecError(f"unknown block type {name!r}; accepted: {', '.join(sorted(BLOCK_TYPES))}") from None


def expand(spec: NetSpec, alpha: float = 1.0, res: Optional[int] = None, classes: int = 1000,
           meta: Optional[dict] = None, *, trace: Optional[list] = None, **knobs) -> Graph:
    """Expand a spec into a graph at width multiplier ``alpha`` and input resolution ``res``.
    ``trace``: a list that records the widths and reads of alpha/res (``TracingContext``)."""
    res = spec.default_res if res is None else res
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not 0 < alpha < float("inf"):
        raise KnobError(f"{spec.name}: alpha must be a positive finite number, got {alpha!r}")
    ctx = (Context(alpha, res, classes, spec.width, dict(knobs)) if trace is None
           else TracingContext(alpha, res, classes, spec.width, dict(knobs), trace))
    info = {"network": spec.name, "alpha": alpha, "resolution": res, "classes": classes}
    info.update(meta or {})
    info.update(knobs)
    g = GraphBuilder(spec.name, (spec.in_channels, res, res), info)
    named = {INPUT: INPUT}
    x = INPUT
    outputs = None
    idx = 0
    for bi, b in enumerate(spec.blocks):
        bt = get_block_type(b.type)
        where = f"block {bi} ({b.name or b.type})"
        unknown = set(b.args) - set(bt.params)
        if unknown:
            raise SpecError(f"{where}: unknown argument(s) {', '.join(sorted(unknown))}; "
                            f"{b.type} accepts {', '.join(bt.params)}")
        missing = set(bt.required) - set(b.args)
        if missing:
            raise SpecError(f"{where}: missing argument(s) {', '.join(sorted(missing))} for {b.type}")
        if not isinstance(b.repeat, int) or b.repeat < 1:
            raise SpecError(f"{where}: repeat must be a positive integer, got {b.repeat!r}")
        if b.inputs:
            for i in b.inputs:
                if i not in named:
                    raise SpecError(f"{where}: input {i!r} is not an earlier block's name; "
                                    f"known: {', '.join(named)}")
            ins = [named[i] for i in b.inputs]
        else:
            ins = [x]
        if not bt.multi_input and len(ins) != 1:
            raise SpecError(f"{where}: {b.type} reads one input, got {len(ins)}")
        for r in range(b.repeat):
            args = dict(b.args)
            if r > 0 and "s" in args:
                args["s"] = 1
            scope = (f"{b.name}.{r}" if b.repeat > 1 else b.name) if b.name else f"{b.type}{idx}"
            try:
                with g.scope(scope):
                    x = bt.fn(g, ins if bt.multi_input else ins[0], ctx, **args)
            except CostModelError as e:
                err = type(e)(f"{where}: {e}")
                err.block_index = bi  # lets spec-file loaders name the file line
                raise err from None
            except Exception as e:
                e.block_index = bi
                raise
            if isinstance(x, (tuple, list)):  # several outputs (a detection head): last block only
                if bi != len(spec.blocks) - 1 or r != b.repeat - 1:
                    raise SpecError(f"{where}: only the last block may return several outputs")
                outputs = list(x)
                x = outputs[0]
            ins = [x]
            idx += 1
        if b.name:
            named[b.name] = x
    return g.build(outputs or [x])
