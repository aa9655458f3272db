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

__all__ = ["build", "analyze", "networks", "get_network", "spec_of", "Report", "Graph", "GraphBuilder", "Node",
           "CostModelError", "GraphError", "KnobError", "SpecError", "__version__"]
