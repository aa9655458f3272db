"""costmodel: an analytical cost model for efficient convolutional networks.

    >>> import costmodel
    >>> g = costmodel.build("mobilenet_v2", alpha=0.75, res=160)
    >>> costmodel.analyze(g).totals["madds"]
"""
from .analysis import Report, analyze
from .errors import CostModelError, GraphError, KnobError, SpecError
from .graph import Graph, GraphBuilder, Node
from .registry import build, get as get_network, networks, spec_of

__version__ = "0.1.0"

#: names imported from a submodule on first use, so that ``import costmodel`` stays light
_LAZY = {"execute": "executor", "init_weights": "executor", "save_weights": "executor",
         "load_weights": "executor", "load": "sources", "sweep": "sweeps",
         "from_torch": "torch_import", "LimitError": "limits"}


def __getattr__(name):
    if name in _LAZY:
        import importlib
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["build", "analyze", "networks", "get_network", "spec_of", "Report", "Graph", "GraphBuilder", "Node",
           "CostModelError", "GraphError", "KnobError", "SpecError", "__version__"] + list(_LAZY)
