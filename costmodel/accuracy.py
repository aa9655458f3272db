"""Published ImageNet top-1 accuracy, looked up from the ``data/`` CSVs with its source.

Two layouts exist in ``data/``: *wide* files with a ``top1`` column (MobileNet V1/V2/V3, MixNet)
and *long* files with ``quantity = "top-1 err"`` and a ``published`` error in percent (ShuffleNet
V1/V2 tables), read as top-1 = 100 - error (exact decimal). Every record keeps the network name,
alpha, resolution, knobs (``k=v;k=v``), classes, the printed cost (``madds_M``, ``params_M`` when the
source prints them) and its source. Rows without a registry network (NASNet-A, MnasNet-A1) are
kept as *published-only* points: their cost is the published one, never computed.

``lookup`` prefers an official release's figure (the checkpoint one can download; TF-slim and
megvii tables) over a paper table's, then the first paper table in file order.

``interpolate`` estimates a configuration's top-1 from its family's published points: linear in
log(madds) between the two neighbouring published points of the same network and knobs (computed
madds); no extrapolation outside their range (returns None).
"""
from __future__ import annotations

import glob
import math
import os
from dataclasses import dataclass, field
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
    knobs: Tuple[Tuple[str, str], ...]
    classes: int
    top1: float
    top1_printed: str          #: as printed (accuracy, or '100 - error' for error tables)
    source: str                #: source and table
    release: bool              #: an official release table (not a paper table)
    madds_M: Optional[float] = None   #: published Mult-Adds in millions, where printed
    params_M: Optional[float] = None  #: published parameters in millions, where printed
    extra: Dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def knob_dict(self) -> dict:
        return dict(self.knobs)


def _num(s) -> Optional[float]:
    try:
        return float(s) if s not in (None, "") else None
    except ValueError:
        return None


def parse_knobs(text: str) -> Tuple[Tuple[str, str], ...]:
    out = []
    for part in (text or "").replace(",", ";").split(";"):
        k, sep, v = part.strip().partition("=")
        if sep and k:
            out.append((k.strip(), v.strip()))
    return tuple(sorted(out))


@lru_cache(maxsize=None)
def records() -> Tuple[Published, ...]:
    """Every published top-1 figure in ``data/``."""
    import csv
    from .datafiles import data_dir
    out = []
    for path in sorted(glob.glob(os.path.join(data_dir(), "*.csv"))):
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        for r in rows:
            if r.get("top1"):
                top1, printed = _num(r["top1"]), r["top1"]
            elif r.get("quantity") == "top-1 err" and r.get("published"):
                try:
                    top1 = float(Decimal(100) - Decimal(r["published"]))
                except InvalidOperation:
                    continue
                printed = f"100 - {r['published']}"
            else:
                continue
            if top1 is None:
                continue
            table = r.get("table", "")
            out.append(Published(
                model=r.get("model", ""), network=r.get("network", "") or "",
                alpha=_num(r.get("alpha")), resolution=int(_num(r.get("resolution"))) if _num(r.get("resolution"))
                else None,
                knobs=parse_knobs(r.get("knobs", "")), classes=int(_num(r.get("classes")) or 1000), top1=top1,
                top1_printed=printed, source=f"{r.get('source', '')}, table {table}".strip(", "),
                release="release" in table.lower() or "release" in r.get("source", "").lower(),
                madds_M=_num(r.get("madds_M")), params_M=_num(r.get("params_M")),
                extra={"file": os.path.basename(path)}))
    return tuple(out)


@lru_cache(maxsize=None)
def _effective(network: str, knobs: tuple) -> Tuple[Tuple[str, str], ...]:
    """All of the network's knobs (defaults filled in and derived, as ``build`` does), as strings;
    ``knobs`` are (name, value) pairs, values as the CSV prints them or already typed."""
    from .registry import get, resolve
    names = {k.name for k in get(network).knobs}
    _, _, _, _, full = resolve(network, None, None, 1000,
                               **{k: v for k, v in knobs if k in names and v is not None})
    return tuple(sorted((k, str(v)) for k, v in full.items()))


def _matches(p: Published, network: str, alpha: Optional[float], res: Optional[int], knobs: dict) -> bool:
    from .registry import get
    if p.network != network:
        return False
    net = get(network)
    pa = net.default_alpha if p.alpha is None else p.alpha
    qa = net.default_alpha if alpha is None else alpha
    if not math.isclose(pa, qa, rel_tol=1e-9):
        return False
    if (res or net.default_res) != (p.resolution or net.default_res):
        return False
    query = tuple(sorted((knobs or {}).items()))
    return _effective(network, p.knobs) == _effective(network, query)


def lookup_all(network: str, alpha: Optional[float] = None, res: Optional[int] = None,
               knobs: Optional[dict] = None) -> List[Published]:
    """All published top-1 figures for this configuration (release tables first)."""
    found = [p for p in records() if p.network and _matches(p, network, alpha, res, knobs or {})]
    return sorted(found, key=lambda p: not p.release)


def lookup(network: str, alpha: Optional[float] = None, res: Optional[int] = None,
           knobs: Optional[dict] = None) -> Optional[Published]:
    """The published top-1 of (network, alpha, resolution, knobs), or None."""
    found = lookup_all(network, alpha, res, knobs)
    return found[0] if found else None


def family_points(network: str, knobs: Optional[dict] = None) -> List[Published]:
    """One record per published configuration of ``network`` with these knobs (preferred source)."""
    from .registry import get
    net = get(network)
    seen = {}
    for p in sorted(records(), key=lambda p: not p.release):
        if p.network != network:
            continue
        key = (p.alpha if p.alpha is not None else net.default_alpha, p.resolution or net.default_res)
        if key in seen or not _matches(p, network, key[0], key[1], knobs or {}):
            continue
        seen[key] = p
    return list(seen.values())


def interpolate(madds: int, points: Sequence[Tuple[int, float]]) -> Optional[float]:
    """Top-1 at ``madds`` by linear interpolation in log(madds) between the two neighbouring
    published (madds, top1) points; the exact value at a published point; None outside their range."""
    pts = sorted(points)
    if not pts or madds <= 0:
        return None
    for m, t in pts:
        if m == madds:
            return t
    for (m0, t0), (m1, t1) in zip(pts, pts[1:]):
        if m0 < madds < m1:
            f = (math.log(madds) - math.log(m0)) / (math.log(m1) - math.log(m0))
            return t0 + f * (t1 - t0)
    return None


__all__ = ["Published", "records", "lookup", "lookup_all", "family_points", "interpolate", "parse_knobs"]
