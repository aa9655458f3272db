"""One registry of networks and their knobs, used by the API, the CLI and the tests alike.

Zoo modules create ``Network`` entries (``costmodel.network``) and register them when imported;
the lookup functions here import the zoo the first time they are asked for a network (the zoo
never imports this module, so there is no cycle). ``build`` validates alpha, depth, resolution,
classes and knobs (one-line ``KnobError`` naming what is accepted) and expands the spec.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

from . import validate
from .errors import KnobError
from .graph import Graph
from .gcpause import gc_paused
from .network import KNOB_FLAGS, Knob, Network, register  # noqa: F401  (re-exported)
from .network import _REGISTRY
from .spec import NetSpec, expand


def networks() -> Dict[str, Network]:
    """All registered networks by name (registration order)."""
    from . import zoo  # noqa: F401  (registers every family on first import)
    return dict(_REGISTRY)


def get(name: str) -> Network:
    nets = networks()
    if isinstance(name, str) and name in nets:
        return nets[name]
    text = str(name)
    folded = {k.lower(): k for k in nets}
    close = [folded[text.lower()]] if text.lower() in folded else \
        [folded[c] for c in difflib.get_close_matches(text.lower(), folded, n=3)]
    hint = f"did you mean {', '.join(close)}? " if close else ""
    raise KnobError(f"unknown network {validate._short(name)}; {hint}run 'costmodel list' for the {len(nets)} "
                    f"networks")


@dataclass(frozen=True)
class Config:
    """A validated configuration of a registry network: what ``build`` expands."""

    network: Network
    alpha: float
    res: Tuple[int, int]
    classes: int
    depth: float
    knobs: Dict

    def spec(self) -> NetSpec:
        return self.network.spec(alpha=self.alpha, **self.knobs)

    def build(self) -> Graph:
        net = self.network
        return expand(self.spec(), self.alpha, self.res, self.classes, self.depth,
                      meta={"network": net.name, "family": net.family}, **self.knobs)


def configure(name: str, alpha=None, res=None, classes=None, depth=None, **knobs) -> Config:
    """Validate everything (one-line ``KnobError``s naming what is accepted) and fill the defaults:
    None means the network's default (for ``res``, the default of its knobs: a head's own size)."""
    net = get(name)
    alpha = validate.alpha(net.default_alpha if alpha is None else alpha, net.name, net.alphas)
    depth = validate.depth(net.default_depth if depth is None else depth, net.name)
    classes = validate.classes(1000 if classes is None else classes, net.name)
    full = {}
    for k in net.knobs:
        full[k.name] = k.coerce(knobs.pop(k.name), net.name) if k.name in knobs else k.default
    if knobs:
        net.knob(next(iter(knobs)))  # raises with the accepted list
    if net.derive is not None:
        try:
            full = net.derive(dict(full))
        except KnobError as e:
            msg = str(e)
            raise KnobError(msg if msg.startswith(f"{net.name}:") else f"{net.name}: {msg}") from None
    classes = _graph_classes(net, full, classes)
    if res is None:
        res = (net.res_for(full) if net.res_for is not None else None) or net.default_res
    hw = validate.resolution(res, net.name, net.min_res_of(full))
    return Config(net, alpha, hw, classes, depth, full)


def _graph_classes(net: Network, knobs: dict, classes: int) -> int:
    """The class count the graph has: ``classes`` for a classifier; with a detection or segmentation
    head (the knobs of ``zoo/heads.py``), the head's class slots, ``classes`` refused unless it is
    the default (``heads.head_classes``)."""
    if "head_classes" not in knobs:
        return classes
    from .zoo.heads import head_classes
    return head_classes(knobs, classes, net.name) or classes


def resolve(name: str, alpha=None, res=None, classes=None, **knobs):
    """``configure`` as a tuple (network, alpha, resolution, classes, knobs with defaults), the
    resolution as JSON shows it (N, or [H, W] when not square); ``depth=`` is accepted too."""
    c = configure(name, alpha, res, classes, **knobs)
    return c.network, c.alpha, validate.res_value(c.res), c.classes, c.knobs


@gc_paused
def build(name: str, alpha: Optional[float] = None, res=None, classes: Optional[int] = None,
          depth: Optional[float] = None, **knobs) -> Graph:
    """Build a registry network as a graph: ``build("mobilenet_v2", alpha=0.75, res=160)``;
    ``res`` is N or (H, W); ``depth`` the depth multiplier of families with stage repeats."""
    return configure(name, alpha, res, classes, depth, **knobs).build()


def spec_of(name: str, alpha: Optional[float] = None, **knobs) -> NetSpec:
    """The spec a registry network expands, for ``costmodel show``."""
    return configure(name, alpha, **knobs).spec()
