"""``prepare``: a recipe's grid ready to compute, the alpha x depth x resolution engine
(``engine.Prepared``) or the per-stage one (``stages.PreparedStages``), with the same interface:
``columns``, ``n_rows``, ``chunks()``, ``block(chunk)``."""
from __future__ import annotations

from typing import Dict

from ..gcpause import gc_paused
from .engine import Prepared, Recipe

_PREPARED: Dict[Recipe, object] = {}


@gc_paused
def prepare(recipe: Recipe, progress=None, cache: bool = False):
    """The prepared grid of ``recipe``; ``cache``: keep it for later calls in this process (the
    tasks a Dask worker runs share it). The cyclic collector is paused meanwhile, as in ``build``
    (``costmodel.gcpause``): the symbolic structure's objects form no cycles (about 20% of a
    MobileNetV2 grid's preparation otherwise)."""
    if cache and recipe in _PREPARED:
        return _PREPARED[recipe]
    if recipe.stages is not None:
        from .stages import PreparedStages
        p = PreparedStages(recipe, progress)
    else:
        p = Prepared(recipe, progress)
    if cache:
        _PREPARED.clear()
        _PREPARED[recipe] = p
    return p


__all__ = ["prepare"]
