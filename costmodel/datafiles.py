"""Locate the published figures in ``data/`` (the repository's top-level folder in a checkout,
``costmodel/_data`` in an installed wheel, mapped there by setup.py)."""
from __future__ import annotations

import csv
import os
from functools import lru_cache
from typing import List

from .errors import CostModelError

_HERE = os.path.dirname(os.path.abspath(__file__))


def data_dir() -> str:
    for d in (os.path.join(os.path.dirname(_HERE), "data"), os.path.join(_HERE, "_data")):
        if os.path.isdir(d):
            return d
    raise CostModelError("the data/ folder of published figures is missing; reinstall costmodel")


def data_path(name: str) -> str:
    return os.path.join(data_dir(), name)


@lru_cache(maxsize=None)
def _read(name: str):
    path = data_path(name)
    if not os.path.exists(path):
        raise CostModelError(f"data file {name!r} is missing from {data_dir()}")
    with open(path, newline="", encoding="utf-8") as f:
        return tuple(dict(r) for r in csv.DictReader(f))


def read_csv(name: str) -> List[dict]:
    """Rows of a data/ CSV as dicts of strings (published precision kept as printed)."""
    return [dict(r) for r in _read(name)]
