"""Design-space sweeps: ``sweep(name, alphas, resolutions, depth=...)`` -> one DataFrame row per
(alpha, depth, resolution), each equal to ``analyze(build(...)).totals`` for that configuration;
``sweep_to(path, ...)`` streams a grid of any size to CSV, JSON lines, Parquet or xlsx in bounded
memory (``engine="dask"``: as tasks on a Dask cluster); ``stages=`` sweeps the block table's
stages (per-stage width, depth, kernel, expansion) exhaustively or by uniform sampling.

Why it is exact and fast (MobileNetV1 section 4, MobileNetV2 section 6.1): alpha and depth act on
channels and repeats, the resolution on spatial sizes only, and every count of every op is a sum of
``channel factor x H_t W_t`` terms plus a channel-only term. So a grid's totals are a matrix
product of coefficients (one row per distinct graph, from the ops' own formulas on symbolic
shapes) and areas (one row per distinct spatial size, from the ops' own ``out_hw``), computed
chunk by chunk. The modules:

* ``algebra``: ``Poly``, the symbolic sizes the ops' formulas run on;
* ``structure``: configurations grouped by graph and structure, spatial variables, coefficients;
* ``engine``: a grid prepared once and computed chunk by chunk (exactness: float64 below 2**53,
  int64 below 2**62, Python integers beyond);
* ``stages``: per-stage axes, their decomposition by rows of the block table, sampling;
* ``writers``: the streaming writers (CSV, JSON lines, JSON, Parquet, xlsx), atomic;
* ``distributed``: the same chunks as Dask tasks writing a partitioned Parquet dataset;
* ``axes``: lists and ranges of alphas, depths, resolutions (N or H x W pairs), lazily.

``peak_activation_bytes`` (optimal schedule) is a maximum over a searched order, not a sum of
products: ``peak=True`` adds it by one exact plan per row (slow, about 2 ms each).
"""
from __future__ import annotations

from typing import Callable, Optional

from ..errors import CostModelError
from .axes import RANGE_LIMIT, ResAxis, float_axis, frange, irange, res_axis
from .engine import CHUNK_ROWS, Recipe, column_buffers, shared_columns
from .prepared import prepare

#: totals every sweep has (each equal to ``analyze(...).totals[key]``); ``attn_madds`` is added
#: where the network has attention
SWEEP_KEYS = ("params", "params_with_bn", "madds", "flops", "bn_channels", "mac", "mac_bytes")


def recipe(name: str, alphas=None, resolutions=None, classes: Optional[int] = None, *, depth=None,
           bits: int = 32, unfused: bool = False, zero_copy: bool = False, peak: bool = False,
           stages=None, chunk_rows: int = CHUNK_ROWS, **knobs) -> Recipe:
    """The picklable description of a registry network's grid (see ``sweep`` for the arguments)."""
    alphas = float_axis(alphas, "alpha")
    depths = float_axis(depth, "depth")
    res = None if resolutions is None else (resolutions if isinstance(resolutions, ResAxis)
                                            else res_axis(resolutions) if isinstance(resolutions, str)
                                            else ResAxis.of(resolutions))
    if stages is not None and not hasattr(stages, "axes"):
        from .stage_axes import StageAxes
        stages = StageAxes.of(stages)
    return Recipe(name, None if alphas is None else tuple(alphas), None if depths is None else tuple(depths), res,
                  classes, tuple(sorted(knobs.items())), bits, unfused, zero_copy, peak, chunk_rows, stages)


def sweep(name: str, alphas=None, resolutions=None, classes: Optional[int] = None, *, depth=None,
          bits: int = 32, unfused: bool = False, zero_copy: bool = False, peak: bool = False,
          progress: Optional[Callable[[int, int], None]] = None, stages=None, chunk_rows: int = CHUNK_ROWS,
          **knobs):
    """Totals of ``name`` for every (alpha, depth, resolution) of the grid, as a pandas DataFrame.

    ``alphas``, ``depth``: a number, a list or a 'START:STOP:STEP' string (None: the network's
    default; ``depth`` applies to families with stage repeats). ``resolutions``: N, (H, W), a list
    of them, a range, or a '96:224:32' / '320x240,640x480' string. ``stages``: per-stage axes
    (``stage_axes.StageAxes`` or a dict such as ``{"width": [0.5, 1.0], "kernel": [3, 5]}``; see
    docs/sweeps.md). Columns: network, alpha, resolution (square grids), depth (families with a
    depth multiplier), height, width, classes, the knobs, then ``SWEEP_KEYS`` (params,
    params_with_bn, madds, flops, bn_channels, mac, mac_bytes at ``bits``; ``attn_madds`` where the
    network has attention) and, with ``peak=True``, peak_activation_bytes (optimal schedule, one
    exact plan per row). Rows are alpha-major, then depth, then resolution, in the order given.
    Counts are exact (int64 columns, or Python integers when a value could reach 2**62).
    ``progress(done, total)`` is called as graphs are built and chunks computed."""
    from ..sources import source_kind
    if source_kind(name) != "registry":  # spec file, block string or imported model: one exact build each
        if stages is not None:
            raise CostModelError(f"per-stage sweeps need a registry network, not {name!r:.60}")
        return sweep_file(name, alphas, resolutions, classes, depth=depth, bits=bits, unfused=unfused,
                          zero_copy=zero_copy, peak=peak, progress=progress, **knobs)
    r = recipe(name, alphas, resolutions, classes, depth=depth, bits=bits, unfused=unfused, zero_copy=zero_copy,
               peak=peak, stages=stages, chunk_rows=chunk_rows, **knobs)
    return frame(prepare(r, progress), progress)


def frame(p, progress=None):
    """The whole grid of prepared sweep ``p`` as one DataFrame (chunks computed into its columns)."""
    import numpy as np
    import pandas as pd
    n = p.n_rows
    square = getattr(p.res, "square", False)
    skip = shared_columns(p)
    cols = column_buffers(p, n, skip)
    chunks = p.chunks()
    for i, ch in enumerate(chunks):
        lo, hi = p.rows_of(ch)
        view = {k: v[lo:hi] for k, v in cols.items()}
        p.block(ch, view, skip)
        if progress is not None and len(chunks) > 1:
            progress(i + 1, len(chunks))
    cols["classes"] = (np.broadcast_to(np.int64(p.classes), (n,)) if p.classes < 2 ** 63
                      else np.full(n, p.classes, dtype=object))  # constants: read-only views, no memory
    if square:
        cols["resolution"] = cols["width"] = cols["height"]      # one array: H = W = the resolution
    out = {}
    for name, kind in p.columns:
        if kind == "str":
            out[name] = pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), [p.net.name])
        elif kind == "knob":
            v = p.full[name]
            out[name] = np.broadcast_to(np.array(v), (n,)) if isinstance(v, (bool, int, float)) else \
                pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), [str(v)])
        else:
            out[name] = cols[name]
    df = pd.DataFrame(out, copy=False)  # no block consolidation copy of a large grid
    df.attrs.update({"network": p.net.name, "family": p.net.family, "bits": p.bits, "unfused": p.recipe.unfused,
                     "zero_copy": p.recipe.zero_copy})
    return df


def sweep_file(source, alphas=None, resolutions=None, classes=None, *, depth=None, bits: int = 32,
               unfused: bool = False, zero_copy: bool = False, peak: bool = False, progress=None, **knobs):
    """``sweep`` for a spec file, block string or imported model: one exact ``analyze(load(...))``
    per (alpha, depth, resolution), the same columns as the vectorized sweep (Python integers when
    a value reaches 2**62). ``alphas`` / ``depth`` / ``resolutions`` / ``classes`` None: the
    source's own defaults (an imported model's widths and classifier are fixed)."""
    import numpy as np
    import pandas as pd
    from ..analysis import analyze
    from ..sources import load, source_kind
    from .structure import INT64_BOUND
    kind = source_kind(source)
    alphas = float_axis(alphas, "alpha") or [None]
    depths = float_axis(depth, "depth") or [None]
    res = [None] if resolutions is None else list(
        (res_axis(resolutions) if isinstance(resolutions, str) else ResAxis.of(resolutions)).values())
    if not alphas or not res:
        raise CostModelError("sweep needs at least one alpha and one resolution")
    from .. import validate
    for what, vals in (("alpha", alphas), ("depth", depths)):  # every value, before the first build
        for v in vals:
            if v is not None:
                validate.positive_real(v, what, str(source))
    keys = list(SWEEP_KEYS[:4]) + ["attn_madds"] + list(SWEEP_KEYS[4:]) + (["peak_activation_bytes"] if peak else [])
    rows, total = [], len(alphas) * len(depths) * len(res)
    for a in alphas:
        for d in depths:
            for r in res:
                g = load(source, a, r, classes, d, **knobs)
                rep = analyze(g, bits=bits, unfused=unfused, zero_copy=zero_copy)
                m = g.meta
                rows.append([m["alpha"], m.get("depth"), m["height"], m["width"], m.get("classes", 0)]
                            + [rep.totals[k] for k in keys])
                if progress is not None:
                    progress(len(rows), total)
    cols = {"network": pd.Categorical([g.meta["network"]] * len(rows)),
            "alpha": np.array([x[0] for x in rows], dtype=float)}
    if all(x[2] == x[3] for x in rows):
        cols["resolution"] = [x[2] for x in rows]
    if any(x[1] is not None for x in rows):
        cols["depth"] = np.array([x[1] for x in rows], dtype=float)
    cols.update({"height": [x[2] for x in rows], "width": [x[3] for x in rows], "classes": [x[4] for x in rows]})
    for i, k in enumerate(keys):
        vals = [x[5 + i] for x in rows]
        if k == "attn_madds" and not any(vals):
            continue
        cols[k] = np.array(vals, dtype=np.int64 if max(abs(v) for v in vals) < INT64_BOUND else object)
    df = pd.DataFrame(cols)
    df.attrs.update({"network": g.meta["network"], "family": g.meta.get("family", kind), "bits": bits,
                     "unfused": unfused, "zero_copy": zero_copy})
    return df


def sweep_to(path, name: str, alphas=None, resolutions=None, classes: Optional[int] = None, *, fmt=None,
             depth=None, engine: str = "local", scheduler: Optional[str] = None, progress=None, stages=None,
             sample: Optional[int] = None, seed: int = 0, **options):
    """Stream the grid to ``path`` ('-': standard output) as ``fmt`` (csv, jsonl, json, parquet,
    xlsx; default from the suffix), chunk by chunk, in memory independent of the grid's size;
    atomically (nothing half-written). ``engine="dask"`` runs the chunks as tasks on the Dask
    cluster at ``scheduler`` (an address; None: a local cluster) and writes a partitioned Parquet
    dataset (a directory). Returns a summary: rows, chunks, seconds, path."""
    from .writers import stream
    if sample is not None:  # sampling draws from a per-stage space: the stage axes carry N and the seed
        if stages is None:
            raise CostModelError("sample applies to per-stage sweeps: give stages (width, depth, kernel or expand)")
        from .stage_axes import StageAxes
        from dataclasses import replace
        stages = replace(StageAxes.of(stages), sample=sample, seed=seed)
    r = recipe(name, alphas, resolutions, classes, depth=depth, stages=stages, **options)
    if engine == "dask":
        from .distributed import run_dask
        return run_dask(r, path, scheduler, progress)
    if engine != "local":
        raise CostModelError(f"unknown sweep engine {engine!r}; accepted: local, dask")
    return stream(prepare(r, progress), path, fmt, progress)


__all__ = ["CHUNK_ROWS", "RANGE_LIMIT", "Recipe", "ResAxis", "SWEEP_KEYS", "frame", "frange", "irange", "prepare",
           "recipe", "res_axis", "sweep", "sweep_file", "sweep_to"]
