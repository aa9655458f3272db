"""``prepare``: a recipe's grid ready to compute, the alpha x depth x resolution engine
(``engine.Prepared``) or the per-stage one (``stages.PreparedStages``), with the same interface:
``columns``, ``n_rows``, ``chunks()``, ``block(chunk)``."""
from __future__ import annotations

from typing import Dict

from .engine import Prepared, Recipe

_PREPARED: Dict[Recipe, object] = {}


def prepare(recipe: Recipe, progress=None, cache: bool = False):
    """The prepared grid of ``recipe``; ``cache``: keep it for later calls in this process (the
    tasks a Dask worker runs share it)."""
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
