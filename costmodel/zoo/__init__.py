"""The network zoo: one module per family, each registering its networks on import.

To add a family, write ``costmodel/zoo/<family>.py`` (its spec tables, any block types of its
own, and ``register(Network(...))`` calls) and list the module here.
"""

ZOO_MODULES = [
    "mobilenet_v1",
    "mobilenet_v2",
    "mobilenet_v3",
    "mixnet",
    "squeezenet",
    "xception",
    "reference",
    "shufflenet_v1",
    "shufflenet_v2",
]
