"""Every picture in the README, regenerated: ``python docs/make_figures.py`` (from a checkout; it
imports this checkout's costmodel). Each figure is drawn by the library (``costmodel.plot``) from
the published figures in data/ and the costs computed now, so the pictures follow the code.

The README shows each picture at ``WIDTH`` CSS pixels; figures are drawn at that size (100 px per
inch) and saved at 2x for sharp screens. ``--check`` redraws into a temporary folder and lists the
README pictures that no entry here produces (exit 1 if any).
"""
from __future__ import annotations

import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

#: the width, in CSS pixels, the README shows every picture at (``<img width=...>``)
WIDTH = 880
SCALE = 2


def _published_networks():
    """Every registry network with a published top-1 accuracy (data/), in registry order."""
    from costmodel.accuracy import records
    from costmodel.registry import networks
    have = {p.network for p in records() if p.network and not p.condition}
    return [n for n in networks() if n in have]


def accuracy_vs_madds(path: str) -> None:
    """Published ImageNet top-1 of every family against the Mult-Adds costmodel computes for the
    same configuration (the released checkpoints where a family has a release table)."""
    from costmodel import plot
    fig = plot.figure(_published_networks(), x="madds", size=(WIDTH / 100, 6.0), label_size=7.5,
                      title="Published ImageNet top-1 against the Mult-Adds costmodel computes, every family")
    fig.set_dpi(100 * SCALE)
    plot.save(fig, path)


#: README picture (relative to the repository root) -> the function that draws it
FIGURES = {
    "docs/images/accuracy_vs_madds.png": accuracy_vs_madds,
}


def readme_pictures() -> list:
    """The image paths the README shows (markdown images and <img src>)."""
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    return re.findall(r"!\[[^\]]*\]\(([^)\s]+)", text) + re.findall(r"<img[^>]*\ssrc=\"([^\"]+)\"", text)


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    missing = [p for p in readme_pictures() if p not in FIGURES]
    if missing:
        print(f"README pictures no entry of docs/make_figures.py draws: {', '.join(missing)}", file=sys.stderr)
        return 1
    if "--check" in argv:
        return 0
    for rel, draw in FIGURES.items():
        path = os.path.join(ROOT, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        draw(path)
        print(f"wrote {rel}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
