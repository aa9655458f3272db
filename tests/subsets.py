"""Which registry networks the default test run checks when a check is too slow to run on all of them.

A registry-wide check (PyTorch's FLOP counter, an ONNX export, a spec-file round trip...) exercises
the code that turns each op and block into something else; networks of one family share that code.
``representative()`` picks the fewest networks that together show every *feature* the registry
uses: every family, every block type of their specs, every op kind, every activation function, every
kind of convolution (dense, grouped, depthwise; strided, dilated; explicit symmetric or asymmetric
padding, TensorFlow's 'same'; square or not; with or without bias), every kind of pooling (max or
average, ceil mode, padding) and of upsampling. It is a greedy set cover over the registry built at
its defaults: each step takes the network that adds the most features not yet shown (the smaller
graph on a tie), so the choice follows the registry as networks are added, and the test
``test_registry.py::test_representative_networks_cover_the_registry`` checks the cover is complete.

``registry_params()`` gives every network as a pytest parameter, the others marked ``slow``: the
default run (``-m "not slow"``, setup.cfg) checks the representative ones, ``python -m pytest -m slow``
the rest (docs/testing.md).
"""
from functools import lru_cache
from typing import FrozenSet, List, Tuple

import pytest

import costmodel as cm
from costmodel import registry


def features(name: str) -> FrozenSet[tuple]:
    """What a registry network (at its defaults) shows of the code a registry-wide check exercises."""
    c = registry.configure(name)
    g = c.build()
    out = {("family", c.network.family)} | {("block", b.type) for b in c.spec().blocks}
    for n in g.nodes:
        op = n.op
        out.add(("op", op.kind))
        if op.kind == "activation":
            out.add(("activation", op.fn))
        elif op.kind == "conv2d":
            groups = "depthwise" if op.groups == n.in_shapes[0][0] > 1 else "grouped" if op.groups > 1 else "dense"
            pad = op.padding
            if not isinstance(pad, str):
                pad = "symmetric" if (pad[0], pad[2]) == (pad[1], pad[3]) else "asymmetric"
            out.add(("conv2d", groups, op.stride != (1, 1), op.dilation != (1, 1), pad, op.kernel[0] == op.kernel[1],
                     bool(op.bias)))
        elif op.kind in ("maxpool", "avgpool"):
            out.add((op.kind, op.ceil_mode, op.padding if isinstance(op.padding, str) else "explicit"))
        elif op.kind == "upsample":
            out.add(("upsample", op.mode))
    return frozenset(out)


@lru_cache(maxsize=None)
def _features_and_sizes() -> Tuple[Tuple[str, FrozenSet[tuple], int], ...]:
    return tuple((name, features(name), len(cm.build(name).nodes)) for name in cm.networks())


@lru_cache(maxsize=None)
def representative() -> Tuple[str, ...]:
    """The greedy cover of every feature of the registry (see the module docstring), in pick order."""
    nets = _features_and_sizes()
    left = set().union(*(f for _, f, _ in nets))
    picked: List[str] = []
    while left:
        name, f, _ = max(nets, key=lambda t: (len(t[1] & left), -t[2]))
        picked.append(name)
        left -= f
    return tuple(picked)


def registry_params() -> list:
    """Every registry network as a pytest parameter; those not in ``representative()`` marked slow."""
    rep = set(representative())
    return [pytest.param(name, marks=() if name in rep else pytest.mark.slow) for name in cm.networks()]
