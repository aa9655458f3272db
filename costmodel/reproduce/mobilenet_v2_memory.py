"""MobileNetV2 (arXiv 1801.04381v4) Table 3: the largest number of channels and memory (kB,
16-bit floats) materialized at each spatial resolution, for MobileNetV1, MobileNetV2 and
ShuffleNet 2x (g = 3); rows in data/mobilenet_v2.csv (table 3).

Computed with ``costmodel.memory``: MobileNetV1 with every tensor materialized (the deployment
view, BN folded and activations fused); MobileNetV2 and ShuffleNet with the streamed schedule of
section 5.1 (an expansion conv's output and the per-channel ops after it are computed in channel
slices and never materialized whole; the first layer's trick is the same rule applied to the stem).
Per resolution: the largest materialized tensor (a slice counts with its ceil(C / t) channels);
``max``: the largest over resolutions. kB = 1000 bytes; the table prints kB to two significant
digits (rounding habit ``sig2``: 1,605,632 B is printed 1600).

Rules: ``largest_channels_SCHEDULE@SIZE`` and ``largest_bytes16_SCHEDULE@SIZE`` (SCHEDULE
materialized or streamed, SIZE as ``112x112`` or ``max``).
"""
from __future__ import annotations

from functools import lru_cache

from .rules import Target, register_rule

BITS = 16
VIEWS = {"materialized": "every tensor materialized (BN folded, activations fused)",
         "streamed": "streamed schedule (section 5.1 slices; first-layer trick)"}


def materialized(network: str, schedule: str, **knobs) -> dict:
    """size -> (channels, bytes at 16 bits) of the largest materialized tensor, plus 'max'."""
    from .rules import freeze
    return _largest(Target(network, freeze(knobs)), schedule)


@lru_cache(maxsize=16)
def _largest(target: Target, schedule: str) -> dict:
    from ..memory import plan, resolutions, stream
    p = plan(target.graph())
    if schedule == "streamed":
        p = stream(p)
    rows = {r["size"]: (r["max_channels"], r["max_bytes"]) for r in resolutions(p, BITS)}
    rows["max"] = (None, max(b for _, b in rows.values()))
    return rows


def _rule(schedule: str, i: int):
    def fn(t: Target):
        got = _largest(Target(t.network, t.knobs), schedule).get(t.arg)
        return None if got is None else got[i]
    return fn


for _s, _view in VIEWS.items():
    register_rule(f"largest_channels_{_s}", f"{_view}; 16-bit; kB = 1000 B", _rule(_s, 0))
    register_rule(f"largest_bytes16_{_s}", f"{_view}; 16-bit; kB = 1000 B", _rule(_s, 1))


def notes(tables: dict) -> None:
    """The printed ShuffleNet column's widths are those of g = 2 (a note beside Table 3)."""
    if "3" not in tables:
        return
    g2 = materialized("shufflenet_v1", "streamed", alpha=2.0, groups=2)
    tables["3"].source = "arXiv 1801.04381v4 Table 3, section 5.1"  # the cells, and the schedule they assume
    tables["3"].notes.append("ShuffleNet 2x with g = 2 (not the printed g = 3): channels "
                             + ", ".join(f"{s} {g2[s][0]}" for s in ("28x28", "14x14", "7x7", "1x1") if s in g2)
                             + " - the printed column's widths.")
