"""Reproduction reports: each paper's published figures (from ``data/``) beside the computed ones.

One figures format (``costmodel.datafiles``, docs/reproduction.md): ``data/<paper>.csv`` holds one
row per published figure, with the network and knobs it is computed at, the counting rule of its
source (``costmodel.reproduce.rules``) and the value computed today, pinned. ``reader`` turns a
paper's rows into ``Comparison`` tables of ``Figure``s (``compare``), which *match* when the
computed value is within the published precision; where one does not, the report shows the
explanation that ``data/`` records for it (a convention, a typo, a rounding habit); the tests
require one for every difference. Nothing is adjusted to hide a difference. A paper module
(``costmodel/reproduce/<paper>.py``) is optional and holds only what is special to the paper.
"""
from __future__ import annotations

from typing import Dict, List

from ..datafiles import figure_files, parse_knobs
from ..errors import CostModelError
from .compare import UNITS, Comparison, Figure, precision
from .reader import tables
from .render import render

#: the order of ``costmodel reproduce all``; other figures files in data/ follow by name
ORDER = ("mobilenet_v1", "mobilenet_v2", "mobilenet_v3", "mixnet", "shufflenet_v1", "shufflenet_v2",
         "squeezenet", "xception", "reference")


def _papers() -> Dict[str, str]:
    files = figure_files()
    names = [p for p in ORDER if p in files] + [p for p in files if p not in ORDER]
    return {p: files[p] for p in names}


#: paper name (``costmodel reproduce NAME``) -> its figures file in data/
PAPERS: Dict[str, str] = _papers()


def run(paper: str) -> List[Comparison]:
    """All comparisons of one paper (``all``: every paper)."""
    if paper == "all":
        out = []
        for p in PAPERS:
            out += run(p)
        return out
    if paper not in PAPERS:
        raise CostModelError(f"no reproduction for {paper!r}; accepted: all, {', '.join(PAPERS)}")
    return tables(paper)


__all__ = ["PAPERS", "UNITS", "Comparison", "Figure", "parse_knobs", "precision", "render", "run", "tables"]
