"""Structural changes keep every count: today's reproduction output contains every row of the
snapshot taken before the clean-up, unchanged, and every registry network's totals at three
(alpha, res) points equal the snapshot's (tests/snapshots/make_snapshots.py made both)."""
import csv
import io
import json
import os

import pytest

import costmodel

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "snapshots")


def _rows(text):
    return [tuple(r) for r in csv.reader(io.StringIO(text))]


def test_reproduce_all_keeps_every_snapshot_row():
    from costmodel.reproduce import render, run
    with open(os.path.join(HERE, "reproduce_all.csv"), encoding="utf-8") as f:
        before = _rows(f.read())
    now = set(_rows(render(run("all"), "csv")))
    missing = [r for r in before if r not in now]
    assert not missing, f"{len(missing)} snapshot rows changed or disappeared, first: {missing[0]}"


with open(os.path.join(HERE, "totals.json"), encoding="utf-8") as _f:
    TOTALS = json.load(_f)


@pytest.mark.parametrize("key", sorted(TOTALS))
def test_totals_equal_snapshot(key):
    name, _, point = key.partition("@")
    a, _, r = point.partition("/")
    t = costmodel.analyze(costmodel.build(name, alpha=float(a), res=int(r))).totals
    assert {k: t[k] for k in TOTALS[key]} == TOTALS[key]
