"""The network zoo: one module per family, each registering its networks on import.

Importing this package registers every family's networks (``costmodel.network.register``) and
block types (``costmodel.spec.block_type``), the generic vocabulary (``costmodel.blocks``) first.
To add a family, write ``costmodel/zoo/<family>.py`` (its spec tables, any block types of its own,
and ``register(Network(...))`` calls) and import it here.
"""
from .. import blocks  # noqa: F401  (the generic vocabulary)
from . import (  # noqa: F401  (registration order = `costmodel list` order)
    mobilenet_v1,
    mobilenet_v2,
    mobilenet_v3,
    mixnet,
    squeezenet,
    xception,
    reference,
    shufflenet_v1,
    shufflenet_v2,
    mnasnet,
    efficientnet,
    ghostnet,
    mobilenet_v4,
    fbnet,
    proxylessnas,
)
