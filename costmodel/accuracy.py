"""Published ImageNet top-1 accuracy, looked up from the figures rows of ``data/`` with its source.

A published accuracy is a row of its own (``quantity`` top1, or top1_err read as top-1 = 100 -
error, exact decimal), whose ``network`` and ``knobs`` say which graph was measured. Every record
keeps the network, alpha, resolution, the other knobs, classes, the published cost of the same
model in the same table (``madds_M``, ``params_M``, where printed) and its source. Rows without a
registry network (NASNet-A, MnasNet-A1) are *published-only* points: their cost is the published
one, never computed.

``lookup`` compares graphs, not knob strings: a figure belongs to the architecture that was
measured, so it is shown wherever the built graph *is* that graph (same ops, shapes and wiring;
layer names and the classifier's class count aside: TF-slim's 1001-class checkpoints measure the
same architecture). Where the built graph is another *reading* of the published one - the same
units, all but one with the same cost (the classifier aside), as torchvision's and the official
ShuffleNet V2 unit - the figure is still shown, and its ``note`` says which reading it was
published for. Exact matches come first, then an official release's figure (the checkpoint one can
download: TF-slim, megvii) before a paper table's, then file order.

``interpolate`` estimates a configuration's top-1 from its family's published points: linear in
log(madds) between the two neighbouring published points (computed madds); no extrapolation
outside their range (returns None).

Every published figure is an ImageNet-1k top-1: it applies to a graph whose classifier has 1000
classes (or 1001, TF-slim's background class) only. A graph with another class count, or a
detection or segmentation head in place of the classifier, has no published top-1 (``classes=``
of ``reading``, ``lookup`` and ``family_points``; ``no_figure_reason`` says why).
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Dict, List, Optional, Sequence, Tuple


@dataclass(frozen=True)
class Published:
    """One published accuracy figure."""

    model: str                 #: the row as the source names it
    network: str               #: registry name, '' for published-only models
    alpha: Optional[float]
    resolution: Optional[int]
    knobs: Tuple[Tuple[str, str], ...]  #: the other knobs, as written
    classes: int
    top1: float
    top1_printed: str          #: as printed (accuracy, or '100 - error' for error tables)
    source: str                #: source and table
    release: bool              #: an official release table (not a paper table)
    madds_M: Optional[float] = None   #: published Mult-Adds in millions, where printed
    params_M: Optional[float] = None  #: published parameters in millions, where printed
    extra: Dict = field(default_factory=dict, compare=False, hash=False)
    #: set by ``lookup`` when the figure was published for another reading of the graph asked for
    note: str = ""
    #: how the figure was measured when not on the float model this graph is (``device=s8-int8``:
    #: an int8 deployment's accuracy); such figures are kept but never shown as the graph's top-1
    condition: str = ""

    @property
    def knob_dict(self) -> dict:
        return dict(self.knobs)

    @property
    def cited(self) -> str:
        """The source, with the note when there is one (for a table cell)."""
        return f"{self.source} ({self.note})" if self.note else self.source


def _num(s) -> Optional[float]:
    try:
        return float(s) if s not in (None, "") else None
    except ValueError:
        return None


def _top1(r: dict) -> Optional[Tuple[float, str]]:
    try:
        if r["quantity"] == "top1":
            return float(Decimal(r["published"])), r["published"]
        if r["quantity"] == "top1_err":
            return float(Decimal(100) - Decimal(r["published"])), f"100 - {r['published']}"
    except InvalidOperation:
        return None
    return None


#: knobs of a figures row that say how it was measured, not which graph (docs/reproduction.md)
MEASUREMENT_KNOBS = ("device", "batch")


@lru_cache(maxsize=None)
def records() -> Tuple[Published, ...]:
    """Every published top-1 figure in ``data/``."""
    from .datafiles import all_figures, parse_knobs
    rows = all_figures()
    cost: Dict[tuple, Dict[str, float]] = {}
    for r in rows:  # the published cost of the same model in the same table, in millions
        if r["quantity"] in ("madds", "params") and r["unit"] == "M" and _num(r["published"]) is not None:
            cost.setdefault((r["source"], r["table"], r["model"]), {}).setdefault(r["quantity"], _num(r["published"]))
    out = []
    for r in rows:
        got = _top1(r)
        if got is None:
            continue
        knobs = parse_knobs(r["knobs"], r["_where"])
        alpha, res, classes = knobs.pop("alpha", None), knobs.pop("res", None), knobs.pop("classes", 1000)
        condition = "; ".join(f"{k}={knobs.pop(k)}" for k in MEASUREMENT_KNOBS if k in knobs)
        c = cost.get((r["source"], r["table"], r["model"]), {})
        out.append(Published(
            model=r["model"], network=r["network"], alpha=alpha, resolution=res,
            knobs=tuple(sorted((k, str(v)) for k, v in knobs.items())), classes=classes, top1=got[0],
            top1_printed=got[1], source=f"{r['source']}, table {r['table']}",
            release="release" in r["table"].lower() or "release" in r["source"].lower(),
            madds_M=c.get("madds"), params_M=c.get("params"), extra={"file": f"{r['_paper']}.csv"},
            condition=condition))
    return tuple(out)


#: the class counts of the ImageNet-1k classifier every published top-1 was measured with (TF-slim's
#: checkpoints add a background class)
IMAGENET_CLASSES = (1000, 1001)


def no_figure_reason(classes: Optional[int]) -> str:
    """'' when a published ImageNet top-1 can apply to a graph of ``classes`` classes (None: not
    said), else why none does (a note for tables)."""
    if classes is None or classes in IMAGENET_CLASSES:
        return ""
    return (f"no published top-1 for {classes} classes: the published figures are ImageNet-1k's, for the "
            f"1000-class classifier (1001 with TF-slim's background class)")


# ----------------------------------------------------------------------------- graph comparison
@lru_cache(maxsize=512)
def _shape(network: str, alpha: Optional[float], res: Optional[int], knobs: Tuple[Tuple[str, object], ...]):
    """(structure, units) of a registry network's graph at 1000 classes. structure: every node's op,
    shapes and inputs (by position, names ignored); units: (block, params_with_bn, madds) per block
    in order."""
    from .analysis import layer_rows
    from .registry import build
    g = build(network, alpha=alpha, res=res, **dict(knobs))
    pos = {"input": -1}
    structure = []
    for i, n in enumerate(g.nodes):
        pos[n.name] = i
        ins = tuple((pos[r.partition(":")[0]], r.partition(":")[2]) for r in n.inputs)
        structure.append((repr(n.op), n.in_shapes, n.out_shapes, ins))
    units: List[list] = []
    for r in layer_rows(g):
        if not units or units[-1][0] != r["block"]:
            units.append([r["block"], 0, 0])
        units[-1][1] += r["params_with_bn"]
        units[-1][2] += r["madds"]
    return tuple(structure), tuple((b, p, m) for b, p, m in units)


def _effective(network: str, knobs: dict) -> Dict[str, str]:
    from .registry import resolve
    return {k: str(v) for k, v in resolve(network, None, None, None, **knobs)[4].items()}


def reading(p: Published, network: str, alpha: Optional[float], res: Optional[int],
            knobs: Optional[dict] = None, classes: Optional[int] = None) -> Optional[str]:
    """How the graph of (network, alpha, res, knobs) relates to the one ``p`` was published for:
    '' the same graph, a note naming the published reading where it differs in one unit at most
    (the classifier aside), None otherwise. ``classes``: the graph's class count (None: not said);
    other than ImageNet's 1000 or 1001 there is no published reading (``IMAGENET_CLASSES``)."""
    from .errors import KnobError
    from .registry import get
    if p.network != network or no_figure_reason(classes):
        return None
    net = get(network)
    if (res or net.default_res) != (p.resolution or net.default_res):
        return None
    knobs = {k: v for k, v in (knobs or {}).items() if v is not None}  # as resolve() fills them in
    try:
        mine = _shape(network, alpha, res, tuple(sorted(knobs.items())))
        theirs = _shape(network, p.alpha, p.resolution, p.knobs)
    except KnobError:  # a configuration the registry does not build has no published graph to match
        return None
    if mine[0] == theirs[0]:
        return ""
    if len(mine[1]) != len(theirs[1]):
        return None
    differ = [t[0] for m, t in zip(mine[1][:-1], theirs[1][:-1], strict=True) if m[1:] != t[1:]]
    if len(differ) > 1:
        return None
    q, pk = _effective(network, knobs), _effective(network, p.knob_dict)
    which = ", ".join(f"{k}={v}" for k, v in pk.items() if q.get(k) != v) or "another configuration"
    where = differ + (["the classifier"] if mine[1][-1][1:] != theirs[1][-1][1:] else [])
    return f"published for {which}; this graph differs from it in {' and '.join(where) or 'the order of its ops'}"


def lookup_all(network: str, alpha: Optional[float] = None, res: Optional[int] = None,
               knobs: Optional[dict] = None, classes: Optional[int] = None) -> List[Published]:
    """All published top-1 figures for this graph: exact matches first, then other readings (with
    their ``note``); release tables before paper tables. None for a class count other than
    ImageNet's (``classes``, see ``reading``)."""
    found = []
    for p in records():
        if not p.network or p.condition:  # a quantized deployment's figure is not the float graph's
            continue
        note = reading(p, network, alpha, res, knobs, classes)
        if note is not None:
            found.append(replace(p, note=note) if note else p)
    return sorted(found, key=lambda p: (bool(p.note), not p.release))


def lookup(network: str, alpha: Optional[float] = None, res: Optional[int] = None,
           knobs: Optional[dict] = None, classes: Optional[int] = None) -> Optional[Published]:
    """The published top-1 of the graph (network, alpha, resolution, knobs, classes), or None."""
    found = lookup_all(network, alpha, res, knobs, classes)
    return found[0] if found else None


def family_points(network: str, knobs: Optional[dict] = None, classes: Optional[int] = None) -> List[Published]:
    """One record per published (alpha, resolution) of ``network`` whose graph is the one these
    knobs build there (or another reading of it), preferred source first; none for a class count
    other than ImageNet's (``classes``)."""
    from .registry import get
    net = get(network)
    best: Dict[tuple, Published] = {}
    if no_figure_reason(classes):
        return []
    for p in records():
        if p.network != network or p.condition:
            continue
        key = (p.alpha if p.alpha is not None else net.default_alpha, p.resolution or net.default_res)
        if key not in best:
            found = lookup_all(network, key[0], key[1], knobs, classes)
            if found:
                best[key] = found[0]
    return list(best.values())


def interpolate(madds: int, points: Sequence[Tuple[int, float]]) -> Optional[float]:
    """Top-1 at ``madds`` by linear interpolation in log(madds) between the two neighbouring
    published (madds, top1) points; the exact value at a published point; None outside their range."""
    pts = sorted(points)
    if not pts or madds <= 0:
        return None
    for m, t in pts:
        if m == madds:
            return t
    for (m0, t0), (m1, t1) in itertools.pairwise(pts):
        if m0 < madds < m1:
            f = (math.log(madds) - math.log(m0)) / (math.log(m1) - math.log(m0))
            return t0 + f * (t1 - t0)
    return None


__all__ = ["IMAGENET_CLASSES", "Published", "records", "lookup", "lookup_all", "family_points", "interpolate",
           "no_figure_reason", "reading"]
