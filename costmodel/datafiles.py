"""The published figures in ``data/`` (the repository's top-level folder in a checkout,
``costmodel/_data`` in an installed wheel, mapped there by setup.py), and the one reader of the
figures format.

Figures format (docs/reproduction.md): ``data/<paper>.csv``, one row per published figure, whose
first columns are exactly ``FIGURE_COLUMNS``; ``row`` (the label the report shows, default
``model``) and ``note`` (the convention text the report shows, default the counting rule's) may
follow. ``knobs`` is one ``;``-separated ``name=value`` list read by ``parse_knobs``. Other CSVs in
``data/`` (devices.csv, shufflenet_v2_guidelines.csv) have schemas of their own, read with
``read_csv``.
"""
from __future__ import annotations

import csv
import os
import re
from functools import lru_cache
from typing import Dict, List, Tuple, Union

from .errors import CostModelError

_HERE = os.path.dirname(os.path.abspath(__file__))

#: the first columns of every figures file, in this order
FIGURE_COLUMNS = ("source", "table", "model", "network", "knobs", "quantity", "counted_as", "published", "unit",
                  "rounding", "computed", "explanation")
#: optional columns after them
EXTRA_COLUMNS = ("row", "note")

#: knobs that ``build`` takes as arguments of its own, with their types (every other knob is passed
#: on as the string written, and the registry converts it to the knob's type)
CORE_KNOBS = ("alpha", "res", "classes", "depth", "batch")


def data_dir() -> str:
    for d in (os.path.join(os.path.dirname(_HERE), "data"), os.path.join(_HERE, "_data")):
        if os.path.isdir(d):
            return d
    raise CostModelError("the data/ folder of published figures is missing; reinstall from a checkout: pip install .")


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


# ----------------------------------------------------------------------------- knobs
_INT = re.compile(r"[0-9]+")
_RES = re.compile(r"([0-9]+)x([0-9]+)")


def _core(name: str, value: str, where: str):
    try:
        if name == "res":
            m = _RES.fullmatch(value)
            return (int(m.group(1)), int(m.group(2))) if m else int(value)  # H x W when not square
        if name in ("classes", "batch"):
            if not _INT.fullmatch(value):
                raise ValueError
            return int(value)
        return float(value)                                            # alpha, depth
    except ValueError:
        raise CostModelError(f"{where}knob {name}={value!r} is not a number"
                             + ("; write res=224 or res=320x240 (H x W)" if name == "res" else "")) from None


def parse_knobs(text: str, where: str = "") -> Dict[str, Union[str, int, float, Tuple[int, int]]]:
    """``'alpha=0.75;res=160;classes=1001;rounding=tfslim'`` -> ``{'alpha': 0.75, 'res': 160,
    'classes': 1001, 'rounding': 'tfslim'}``, ready for ``build(network, **knobs)``.

    ``alpha`` and ``depth`` become floats, ``classes`` and ``batch`` ints, ``res`` an int or, written
    ``HxW`` (``res=320x240``), an (H, W) pair; every other knob (``groups=3``, ``device=pixel1``) is
    passed on as written, for the registry to check and convert. ``where`` prefixes error messages."""
    out: Dict = {}
    for part in (text or "").split(";"):
        part = part.strip()
        if not part:
            continue
        name, sep, value = part.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name or not value:
            raise CostModelError(f"{where}knobs {text!r}: {part!r} is not name=value; write e.g. "
                                 f"'alpha=0.75;res=160;groups=3'")
        if name in out:
            raise CostModelError(f"{where}knobs {text!r} give {name} twice")
        out[name] = _core(name, value, where) if name in CORE_KNOBS else value
    return out


def format_knobs(knobs: Dict) -> str:
    """The inverse of ``parse_knobs`` (``res`` pairs written ``HxW``)."""
    def text(v):
        if isinstance(v, tuple):
            return "x".join(map(str, v))
        if isinstance(v, float):
            return f"{v:g}"
        return str(v)
    return ";".join(f"{k}={text(v)}" for k, v in knobs.items())


# ----------------------------------------------------------------------------- figures files
def _header(path: str) -> List[str]:
    with open(path, newline="", encoding="utf-8") as f:
        return next(csv.reader(f), [])


@lru_cache(maxsize=None)
def figure_files() -> Dict[str, str]:
    """paper name -> file name, for every CSV in data/ in the figures format (sorted by name)."""
    out = {}
    for name in sorted(os.listdir(data_dir())):
        if name.endswith(".csv") and tuple(_header(data_path(name))[:len(FIGURE_COLUMNS)]) == FIGURE_COLUMNS:
            out[name[:-4]] = name
    return out


def figures(paper: str) -> List[dict]:
    """Rows of ``data/<paper>.csv`` (figures format) as dicts of strings, every optional column present."""
    name = f"{paper}.csv"
    rows = read_csv(name)
    if rows:
        head = list(rows[0])
        if tuple(head[:len(FIGURE_COLUMNS)]) != FIGURE_COLUMNS:
            raise CostModelError(f"data/{name} is not in the figures format: its columns must start with "
                                 f"{', '.join(FIGURE_COLUMNS)}")
        unknown = [c for c in head[len(FIGURE_COLUMNS):] if c not in EXTRA_COLUMNS]
        if unknown:
            raise CostModelError(f"data/{name}: unknown column {unknown[0]!r}; accepted after the figures "
                                 f"columns: {', '.join(EXTRA_COLUMNS)}")
    for i, r in enumerate(rows, 1):
        for c in EXTRA_COLUMNS:
            r.setdefault(c, "")
        r["_where"] = f"data/{name} row {i} ({r['model']}, {r['quantity']}): "
    return rows


def all_figures() -> List[dict]:
    """Every row of every figures file, each with ``_paper`` set to its file's paper name."""
    out = []
    for paper in figure_files():
        for r in figures(paper):
            r["_paper"] = paper
            out.append(r)
    return out


def write_figures(paper: str, rows: List[dict]) -> None:
    """Write ``data/<paper>.csv`` back (atomically), keeping its columns; for the pin script."""
    import io

    from .fileio import write_atomic
    name = f"{paper}.csv"
    head = _header(data_path(name))
    buf = io.StringIO()
    w = csv.DictWriter(buf, head, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    write_atomic(data_path(name), buf.getvalue())
    _read.cache_clear()
