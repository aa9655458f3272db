"""Pin the computed values in data/: ``python -m costmodel.reproduce.pin [PAPER ...] [--check]``.

Every figures row with a ``counted_as`` stores, in its ``computed`` column, the exact value the
model gives today (an integer; the shortest repr of a float for shares, ratios and sizes), and the
tests require the model to give exactly that. Run this only when a change of a count is intended
and reviewed: it recomputes every row (of the named papers, default all), rewrites the column and
lists what changed, so that the change shows in the diff of data/. ``--check`` only lists the
differences (exit status 1 if there are any).
"""
from __future__ import annotations

import argparse
import sys
from typing import List, Tuple

from ..datafiles import figures, write_figures
from .reader import evaluate, paper_module, pin_text


def pinned(paper: str) -> Tuple[List[dict], List[Tuple[str, str, str]]]:
    """The paper's rows with ``computed`` recomputed, and (where, old, new) for each change."""
    paper_module(paper)  # its rules and builders
    rows, changed = figures(paper), []
    for r in rows:
        new = pin_text(evaluate(r)[0])
        if new != r["computed"]:
            changed.append((r["_where"], r["computed"], new))
            r["computed"] = new
    return rows, changed


def main(argv=None) -> int:
    from . import PAPERS
    ap = argparse.ArgumentParser(prog="python -m costmodel.reproduce.pin", description=__doc__.split("\n\n")[0])
    ap.add_argument("papers", nargs="*", help=f"papers to pin (default all): {', '.join(PAPERS)}")
    ap.add_argument("--check", action="store_true", help="only list the differences; exit 1 if any")
    args = ap.parse_args(argv)
    unknown = [p for p in args.papers if p not in PAPERS]
    if unknown:
        ap.error(f"no figures file for {unknown[0]!r}; accepted: {', '.join(PAPERS)}")
    n = 0
    for paper in args.papers or list(PAPERS):
        rows, changed = pinned(paper)
        for where, old, new in changed:
            print(f"{where}computed {old or '(empty)'} -> {new or '(empty)'}")
        n += len(changed)
        if changed and not args.check:
            write_figures(paper, rows)
    print(f"{n} computed value(s) {'differ' if args.check else 'rewritten'}", file=sys.stderr)
    return 1 if (args.check and n) else 0


if __name__ == "__main__":
    sys.exit(main())
