"""Networks as data: a ``NetSpec`` is a short table of ``Block`` records that ``expand`` turns
into a ``Graph`` for a given width multiplier alpha, depth multiplier, resolution and classes.

A block names a *block type* (``conv``, ``dwsep``, ``ir``, ...; see ``BLOCK_TYPES``) and the
arguments of that type as the paper's table prints them (channels before scaling). ``repeat``
expands the block n times; a stride argument ``s`` applies to the first repeat only, as in the
MobileNet tables' (n, s) columns. ``name`` lets later blocks read this block's output through
``inputs`` (a DAG); by default a block reads the previous block's output.

Width: block types scale channel arguments through ``ctx.ch(c)``, which applies the network's
named rounding policy (``rounding.POLICIES``); a block never reads alpha itself. Depth: a spec
with a ``depth_rule`` (``rounding.REPEAT_RULES``, e.g. EfficientNet's ``ceil``: n -> ceil(d x n))
scales the ``repeat`` of every block that has one (a stage: the table's n column, even n = 1) by
the depth multiplier, except stages marked ``fixed_depth`` (EfficientNet-Lite's first and last);
rows without n (stem, head, pooling) are built once. Specs without a rule reject a depth != 1.

Block types are plain functions ``fn(g, x, ctx, **args) -> ref`` registered with
``@block_type``; they add nodes to a ``GraphBuilder``. The last block may return a tuple of refs
(a detection head's box and class tensors): they become the graph's outputs.

This module knows no network: the generic vocabulary (``costmodel.blocks``) and the families'
own block types (``costmodel.zoo``) register themselves here when imported; ``vocabulary()``
imports the generic one, and readers of user files (``costmodel.specfile``) import the zoo first.
"""
from __future__ import annotations

import inspect
import numbers
from dataclasses import dataclass, field, replace
from typing import Callable, Dict, Mapping, Optional, Tuple, Union

from . import validate
from .errors import CostModelError, KnobError, SpecError
from .graph import INPUT, Graph, GraphBuilder, replay_template
from .rounding import policy, repeat_rule

#: how a block argument's channel count responds to alpha
WIDTH_MODES = ("scaled", "fixed", "grow")


@dataclass(frozen=True)
class Block:
    """One row of an architecture table."""

    type: str
    args: Mapping = field(default_factory=dict)
    #: the table's n column: None for a row without one (a stem, a head, a pool: built once and
    #: never scaled by the depth multiplier); an explicit n, even 1, makes the row a stage
    repeat: Optional[int] = None
    name: Optional[str] = None
    inputs: Optional[Tuple[str, ...]] = None
    #: a stage whose repeat count the depth multiplier does not change (EfficientNet-Lite's first
    #: and last stages)
    fixed_depth: bool = False
    #: this block's own bits, {"act": 8, "weight": 4} (``costmodel.precision``; None: the network's)
    precision: Optional[Mapping] = None
    #: the row's own width multiplier, times alpha for every channel count it scales (a per-stage
    #: design-space choice, ``costmodel.sweeps.stages``); 1 in the papers' tables
    width_mult: float = 1.0

    @property
    def count(self) -> int:
        """How many times the block is built at depth 1."""
        return 1 if self.repeat is None else self.repeat

    def to_dict(self) -> dict:
        d = {"type": self.type}
        if self.name:
            d["name"] = self.name
        if self.inputs:
            d["inputs"] = list(self.inputs)
        if self.repeat is not None:
            d["repeat"] = self.repeat
        if self.fixed_depth:
            d["fixed_depth"] = True
        if self.precision:
            d["precision"] = dict(self.precision)
        if self.width_mult != 1.0:
            d["width_mult"] = self.width_mult
        d.update(self.args)
        return d


def blk(type: str, n: Optional[int] = None, *, name: Optional[str] = None, inputs=None, fixed_depth: bool = False,
        **args) -> Block:
    """Shorthand for a ``Block``: ``blk("ir", t=6, c=24, n=2, s=2)`` (n: the table's repeat column;
    leave it out for rows without one, which the depth multiplier never repeats)."""
    return Block(type, dict(args), n, name, tuple(inputs) if inputs else None, fixed_depth)


@dataclass(frozen=True)
class NetSpec:
    """A network as data: blocks, the width rounding policy, the repeat rule and the input, with the
    defaults that ``expand`` uses for what the caller leaves as None (the source's own defaults)."""

    name: str
    blocks: Tuple[Block, ...]
    width: str = "divisible8"
    in_channels: int = 3
    default_res: Union[int, Tuple[int, int]] = 224
    source: str = ""
    #: how the depth multiplier scales repeats (``rounding.REPEAT_RULES``); None: no depth multiplier
    depth_rule: Optional[str] = None
    default_alpha: float = 1.0
    default_depth: float = 1.0
    default_classes: int = 1000
    #: per-layer precision (``costmodel.precision``: defaults and overrides), carried by the graph
    precision: Optional[Mapping] = None

    def to_dict(self) -> dict:
        d = {"name": self.name, "source": self.source, "width": self.width, "in_channels": self.in_channels,
             "resolution": self.default_res, "blocks": [b.to_dict() for b in self.blocks]}
        if self.depth_rule:
            d["depth_rule"] = self.depth_rule
        return d


@dataclass(frozen=True)
class Context:
    """What a block function may know besides its own arguments: the resolution (H, W), the
    classes and the knobs. Channel counts are scaled only through ``ch``; ``trace`` (a list, or
    None) receives ``(c, mode, result)`` for every ``ch`` call (``costmodel.sweeps`` replays them)."""

    alpha: float
    res: Tuple[int, int]
    classes: int
    width: str = "divisible8"
    knobs: Mapping = field(default_factory=dict)
    depth: float = 1.0
    trace: Optional[list] = field(default=None, compare=False, repr=False)

    def ch(self, c, mode: str = "scaled", rule: Optional[str] = None) -> int:
        """Scale a channel count by alpha with the network's rounding policy (or ``rule``, a named
        policy of ``rounding.POLICIES`` for a part of the network that rounds its own way, such as
        the SSD heads).

        ``mode``: ``scaled`` (default), ``fixed`` (alpha not applied) or ``grow`` (only
        multipliers above 1 apply, as MobileNetV2's last 1280-wide conv)."""
        if isinstance(c, bool) or not isinstance(c, numbers.Real) or not c > 0 or c == float("inf"):
            raise SpecError(f"channel count must be a positive number, got {c!r}")
        fn = policy(rule or self.width)
        if mode == "fixed":
            v = int(c)
        elif mode == "grow":
            v = fn(c, max(1.0, self.alpha))
        elif mode == "scaled":
            v = fn(c, self.alpha)
        else:
            raise SpecError(f"unknown width mode {mode!r}; accepted: {', '.join(WIDTH_MODES)}")
        if self.trace is not None:
            self.trace.append((c, mode, rule, v))
        return v


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
    """A registered block type. The generic vocabulary registers with ``costmodel.blocks`` and the
    families' types with their zoo modules: importing ``costmodel.zoo`` registers all of them."""
    try:
        return BLOCK_TYPES[name]
    except KeyError:
        raise SpecError(f"unknown block type {name!r}; accepted: {', '.join(sorted(BLOCK_TYPES))}") from None


def scaled_repeat(spec: NetSpec, block: Block, depth: float) -> int:
    """The repeat count of ``block`` at depth multiplier ``depth`` (the spec's repeat rule)."""
    if spec.depth_rule is None or block.repeat is None or block.fixed_depth or depth == 1.0:
        return block.count
    return repeat_rule(spec.depth_rule)(block.repeat, depth)


def check_block_count(spec: NetSpec, depth: float) -> int:
    """The number of blocks ``spec`` expands to at ``depth`` (repeats scaled by its depth rule),
    refused before any is built when it exceeds the limit ``blocks`` (costmodel.limits,
    COSTMODEL_MAX_BLOCKS): ``--depth-mult 1e9`` must not try to build a billion blocks."""
    from . import limits
    cap, total = limits.get("blocks"), 0
    for b in spec.blocks:
        scaled = not (spec.depth_rule is None or b.repeat is None or b.fixed_depth or depth == 1.0)
        if scaled and not b.repeat * depth <= cap:  # too many already, or overflowing: not rounded
            total += int(min(b.repeat * depth, 1e308))
        else:
            total += scaled_repeat(spec, b, depth)
    what = "blocks" + (f" at depth multiplier {depth:g}" if depth != 1.0 else " after repeats")
    limits.check("blocks", total, what, spec.name)
    return total


def expand(spec: NetSpec, alpha: Optional[float] = None, res=None, classes: Optional[int] = None,
           depth: Optional[float] = None, meta: Optional[dict] = None, *, trace: Optional[list] = None,
           **knobs) -> Graph:
    """Expand a spec into a graph at width multiplier ``alpha``, depth multiplier ``depth``, input
    resolution ``res`` (N or (H, W)) and ``classes``; None means the spec's own default.
    ``trace``: a list that records every ``ctx.ch`` call (see ``Context``)."""
    where = spec.name
    alpha = validate.alpha(spec.default_alpha if alpha is None else alpha, where)
    depth = validate.depth(spec.default_depth if depth is None else depth, where)
    if spec.depth_rule is None and depth != 1.0:
        raise KnobError(f"{where}: this network has no depth multiplier (its table has no stage repeats to "
                        f"scale); got depth {depth:g}")
    hw = validate.resolution(spec.default_res if res is None else res, where)
    classes = validate.classes(spec.default_classes if classes is None else classes, where)
    check_block_count(spec, depth)
    ctx = Context(alpha, hw, classes, spec.width, dict(knobs), depth, trace)
    info = {"network": spec.name, "alpha": alpha, "resolution": validate.res_value(hw), "height": hw[0],
            "width": hw[1], "classes": classes}
    if spec.depth_rule is not None:
        info["depth"] = depth
    info.update(meta or {})
    info.update(knobs)
    g = GraphBuilder(spec.name, (spec.in_channels,) + hw, info)
    named = {INPUT: INPUT}
    x = INPUT
    outputs = None
    idx = 0
    block_bits = []  # the blocks' own precision, as overrides of the network's
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
        if b.repeat is not None and (not isinstance(b.repeat, int) or isinstance(b.repeat, bool) or b.repeat < 1):
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
        repeat = scaled_repeat(spec, b, depth)
        stage = _Repeats(g, trace)
        bctx = ctx if b.width_mult == 1.0 else replace(ctx, alpha=ctx.alpha * b.width_mult)
        for r in range(repeat):
            args = dict(b.args)
            if r > 0 and "s" in args:
                args["s"] = 1
            scope = (f"{b.name}.{r}" if repeat > 1 else b.name) if b.name else f"{b.type}{idx}"
            if b.precision:
                block_bits.append({"match": scope, **dict(b.precision)})
            g.blocks[scope] = (bi, b.type, b.name or "")  # the spec row of this block, for roll-ups
            try:
                x = stage.run(bt, scope, ins, bctx, args, r < repeat - 1)
            except CostModelError as e:
                err = type(e)(f"{where}: {e}")
                err.block_index = bi  # lets spec-file loaders name the file line
                raise err from None
            except Exception as e:
                e.block_index = bi
                raise
            if isinstance(x, (tuple, list)):  # several outputs (a detection head): last block only
                if bi != len(spec.blocks) - 1 or r != repeat - 1:
                    raise SpecError(f"{where}: only the last block may return several outputs")
                outputs = list(x)
                x = outputs[0]
            ins = [x]
            idx += 1
        if b.name:
            named[b.name] = x
    graph = g.build(outputs or [x])
    if spec.precision or block_bits:
        from .precision import layer_list, with_precision
        prec = dict(spec.precision or {})
        prec["layers"] = layer_list(prec) + block_bits
        if not prec["layers"]:
            del prec["layers"]
        graph = with_precision(graph, prec)
    return graph


class _Repeats:
    """Builds the repeats of one block row. A block type is a function of its input shapes, its
    arguments and the context only (specs are data), so a repeat with the same arguments and input
    shapes as the last one built adds the same nodes under another scope: those are copied
    (``GraphBuilder.replay``) instead of built again op by op, and the ``ctx.ch`` calls they made are
    re-recorded in the trace. Only a block whose nodes read nothing but its own tensors and its inputs
    is copied; anything else (a block adding no node, returning several outputs, reading another
    tensor) is simply built every time. tests/test_build_fast_paths.py checks that every registry network
    builds the same graph either way."""

    #: copy repeats (False: build every repeat op by op; the tests compare the two)
    enabled = True

    def __init__(self, g: GraphBuilder, trace: Optional[list]):
        self.g, self.trace = g, trace
        #: the last repeat built: [args, input shapes, input refs, scope, nodes, output ref, trace entries,
        #: whether it may be copied (None: not checked yet, see ``_own``)], then, once a copy is made, its
        #: ``replay_template``
        self.last = None

    def run(self, bt: BlockType, scope: str, ins: list, ctx: Context, args: dict, more: bool):
        """Build one repeat under ``scope`` (a copy of the last one when it can be); ``more``: whether
        another repeat follows (only then is this one kept as the template)."""
        g = self.g
        shapes = [g.shape(i) for i in ins]
        last = self.last
        if last is not None and self.enabled and _equal(last[0], args) and last[1] == shapes:
            t_args, t_shapes, t_ins, old, nodes, out, calls, ok = last[:8]
            if ok is None:  # checked once, when a copy is first wanted
                ok = last[7] = _own(nodes, old, t_ins, out)
                try:  # evaluate the template's costs now: its copies take them over instead of evaluating again
                    for n in nodes:
                        n.costs
                except Exception:  # noqa: BLE001  (left to the calculator that asks, as for any other node)
                    pass
            refs = dict(zip(t_ins, ins))
            if ok and len(last) == 8:  # what each copy takes of the template, made once
                last.append(replay_template(nodes, old, refs))
            if ok and g.replay(nodes, old, scope, refs, last[8]):
                if self.trace is not None:
                    self.trace.extend(calls)
                return refs[out] if out in refs else scope + out[len(old):]
        start = len(g._nodes)
        t0 = len(self.trace) if self.trace is not None else 0
        with g.scope(scope):
            y = bt.fn(g, ins if bt.multi_input else ins[0], ctx, **args)
        self.last = None
        if more and isinstance(y, str) and len(g._nodes) > start and len(set(ins)) == len(ins) and not g._prefix:
            calls = self.trace[t0:] if self.trace is not None else []
            self.last = [args, shapes, list(ins), scope, g._nodes[start:], y, calls, None]
        return y


def _equal(a: dict, b: dict) -> bool:
    """``a == b`` for block arguments, False when a value cannot say (an array's ``==``)."""
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001  (any value whose == is not a plain truth value)
        return False


def _own(nodes, scope: str, ins, out: str) -> bool:
    """True when ``nodes`` are all named and scoped under ``scope`` and read (and return) only each
    other's tensors and the block inputs ``ins``: a block that can be copied to another scope."""
    pre = scope + "."
    known = set(ins)
    for n in nodes:
        if not (n.name == scope or n.name.startswith(pre)) or not (n.scope == scope or n.scope.startswith(pre)):
            return False
        if any(r not in known for r in n.inputs):
            return False
        known.add(n.name)
        known.update(n.outputs)
    return out in known
