"""The axes of a per-stage design space (``costmodel.sweeps.stages``): which options each stage
may take (width multiplier, depth multiplier, kernel size, expansion ratio), which stages, and
whether the space is enumerated or sampled."""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import List, Optional, Tuple

from ..errors import CostModelError

STAGE_AXES = ("width", "depth", "kernel", "expand")
BLOCK_ARG = {"kernel": "k", "expand": "t"}
#: the most rows an enumerated stage sweep may have (beyond: sample)
ENUMERATE_LIMIT = 10 ** 12
#: the most points --sample draws: the sample is held in memory (its rows, then its frame; 10**6 points
#: of MobileNetV2's space took 0.67 GB and 3.5 s), and a distribution needs far fewer (RegNet: 500)
SAMPLE_LIMIT = 10 ** 6


@dataclass(frozen=True)
class StageAxes:
    """The per-stage options (None: the axis is not swept), the stages they apply to (1-based
    numbers among the table's stage rows; None: all) and, with ``sample``, how many points to
    draw uniformly (seeded)."""

    width: Optional[Tuple[float, ...]] = None
    depth: Optional[Tuple[float, ...]] = None
    kernel: Optional[Tuple[int, ...]] = None
    expand: Optional[Tuple[float, ...]] = None
    stages: Optional[Tuple[int, ...]] = None
    sample: Optional[int] = None
    seed: int = 0

    @classmethod
    def of(cls, d) -> "StageAxes":
        if isinstance(d, StageAxes):
            return d
        unknown = set(d) - set(STAGE_AXES) - {"stages", "sample", "seed"}
        if unknown:
            raise CostModelError(f"unknown stage axis {sorted(unknown)[0]!r}; accepted: {', '.join(STAGE_AXES)}, "
                                 f"stages, sample, seed")
        vals = {k: (tuple(v) if hasattr(v, "__iter__") and not isinstance(v, str) else (v,))
                for k, v in d.items() if k in STAGE_AXES + ("stages",) and v is not None}
        return cls(**vals, sample=d.get("sample"), seed=int(d.get("seed", 0)))

    @property
    def axes(self) -> List[Tuple[str, tuple]]:
        return [(k, getattr(self, k)) for k in STAGE_AXES if getattr(self, k) is not None]

    def options(self) -> List[dict]:
        """Every choice of one stage: the product of the axes' values."""
        names = [k for k, _ in self.axes]
        return [dict(zip(names, combo)) for combo in itertools.product(*(v for _, v in self.axes))]


def _check(axes: StageAxes, net: str):
    from .. import validate
    if not axes.axes:
        raise CostModelError("a stage sweep needs at least one of --stage-width, --stage-depth, --stage-kernel, "
                             "--stage-expand")
    for k, vals in axes.axes:
        if not vals:
            raise CostModelError(f"--stage-{k} needs at least one value")
        for v in vals:
            if k == "kernel":
                if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                    raise CostModelError(f"{net}: --stage-kernel values must be positive integers, got {v!r}")
            else:
                validate.positive_real(v, f"--stage-{k} value", net)
    if axes.sample is not None and (isinstance(axes.sample, bool) or not isinstance(axes.sample, int)
                                    or axes.sample < 1):
        raise CostModelError(f"--sample must be a positive integer, got {axes.sample!r}")
    if axes.sample is not None and axes.sample > SAMPLE_LIMIT:
        raise CostModelError(f"--sample {axes.sample:,} is more than {SAMPLE_LIMIT:,} points (a sample is held in "
                             f"memory); draw several samples with different --seed values")
    if isinstance(axes.seed, bool) or not isinstance(axes.seed, int) or axes.seed < 0:
        raise CostModelError(f"--seed must be a non-negative integer, got {axes.seed!r}")
