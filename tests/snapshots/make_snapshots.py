"""Regenerate the refactoring snapshots (run from the repository root, only when a change in the
counts is intended and reviewed):

    python tests/snapshots/make_snapshots.py

* ``reproduce_all.csv``: ``costmodel reproduce all --format csv`` as it was before the structural
  clean-up (issue 14); the test requires every row of it to appear unchanged in today's output.
* ``totals.json``: ``analyze(build(...)).totals`` for every registry network at three (alpha, res)
  points, default knobs.
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))


def points(net):
    """Three (alpha, res) points a network accepts: its default, a narrower/smaller one and a
    wider/larger one (within its accepted alphas and minimum resolution)."""
    if net.alphas:
        alphas = [net.default_alpha, min(net.alphas), max(net.alphas)]
    else:
        alphas = [net.default_alpha, 0.5, 1.3]
    res = [net.default_res, max(net.min_res, net.default_res - 64), net.default_res + 32]
    return list(zip(alphas, res))


def totals():
    import costmodel
    out = {}
    for name, net in costmodel.networks().items():
        for a, r in points(net):
            t = costmodel.analyze(costmodel.build(name, alpha=a, res=r)).totals
            out[f"{name}@{a:g}/{r}"] = {k: t[k] for k in sorted(t)}
    return out


def main():
    from costmodel.reproduce import render, run
    with open(os.path.join(HERE, "reproduce_all.csv"), "w", encoding="utf-8") as f:
        f.write(render(run("all"), "csv"))
    with open(os.path.join(HERE, "totals.json"), "w", encoding="utf-8") as f:
        json.dump(totals(), f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
