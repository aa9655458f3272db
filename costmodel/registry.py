"""One registry of networks and their knobs, used by the API, the CLI and the tests alike.

A ``Network`` entry names a spec function ``spec(alpha=..., **knobs) -> NetSpec``; ``build``
validates alpha, resolution, classes and knobs (one-line ``KnobError`` naming what is accepted)
and expands the spec into a graph. Zoo modules register themselves on import; the registry
imports them the first time it is asked for a network.
"""
from __future__ import annotations

import importlib
import math
import numbers
from dataclasses import dataclass, field
from typing import Callable, Dict, Optional, Tuple

from .errors import KnobError
from .graph import Graph
from .spec import NetSpec, expand


#: knobs that have a command-line flag of their own (others are given with --set NAME=VALUE)
KNOB_FLAGS = ("variant", "groups", "bypass", "head", "output_stride", "aspp")


@dataclass(frozen=True)
class Knob:
    """A network option beyond alpha, resolution and classes (``groups``, ``variant``, ...)."""

    name: str
    default: object
    choices: Optional[Tuple] = None
    help: str = ""

    @property
    def flag(self) -> str:
        """How the knob is given on the command line (its own flag or --set NAME=)."""
        return f"--{self.name.replace('_', '-')}" if self.name in KNOB_FLAGS else f"--set {self.name}"

    def coerce(self, value, network: str):
        """Validate (and convert CLI strings to) the knob's type."""
        kind = type(self.default)
        if self.choices is not None:
            kind = type(self.choices[0])
        try:
            if kind is bool and isinstance(value, str):
                if value.lower() not in ("1", "0", "true", "false", "yes", "no"):
                    raise ValueError
                value = value.lower() in ("1", "true", "yes")
            elif kind is int and not isinstance(value, bool):
                if isinstance(value, float) and not value.is_integer():
                    raise ValueError
                value = int(value)
            elif kind is float and not isinstance(value, bool):
                value = float(value)
            elif kind is str:
                value = str(value)
        except (TypeError, ValueError):
            raise KnobError(f"{network}: {self.flag} must be a {kind.__name__}, got {value!r}") from None
        if self.choices is not None and value not in self.choices:
            raise KnobError(f"{network}: {self.flag} {value!r} is not supported; accepted: "
                            f"{', '.join(map(str, self.choices))}")
        return value


@dataclass(frozen=True)
class Network:
    """A registry entry."""

    name: str
    family: str
    spec: Callable[..., NetSpec]
    description: str
    paper: str
    knobs: Tuple[Knob, ...] = ()
    default_res: int = 224
    min_res: int = 32
    #: the multipliers the family defines (None: any positive alpha)
    alphas: Optional[Tuple[float, ...]] = None
    default_alpha: float = 1.0
    #: alpha knob's meaning, shown by ``costmodel list``
    alpha_help: str = "width multiplier"
    tags: Tuple[str, ...] = field(default_factory=tuple)
    #: optional fn(knobs) -> knobs: fills knobs whose default depends on other knobs (a head's
    #: output stride) and rejects bad combinations with a KnobError
    derive: Optional[Callable[[dict], dict]] = None
    #: optional fn(knobs) -> the default resolution for these knobs (a head's own input size)
    res_for: Optional[Callable[[dict], int]] = None

    def knob(self, name: str) -> Knob:
        for k in self.knobs:
            if k.name == name:
                return k
        raise KnobError(f"{self.name} has no knob {name!r}; accepted: "
                        f"{', '.join(k.name for k in self.knobs) or 'none'}")


_REGISTRY: Dict[str, Network] = {}
_loaded = False


def register(net: Network) -> Network:
    if net.name in _REGISTRY:
        raise KnobError(f"network {net.name!r} is registered twice")
    _REGISTRY[net.name] = net
    return net


def _load_zoo():
    global _loaded
    if not _loaded:
        _loaded = True
        from .zoo import ZOO_MODULES
        for mod in ZOO_MODULES:
            importlib.import_module(f"costmodel.zoo.{mod}")


def networks() -> Dict[str, Network]:
    """All registered networks by name (registration order)."""
    _load_zoo()
    return dict(_REGISTRY)


def get(name: str) -> Network:
    _load_zoo()
    try:
        return _REGISTRY[name]
    except KeyError:
        import difflib
        close = difflib.get_close_matches(str(name), _REGISTRY, n=3)
        hint = f"did you mean {', '.join(close)}? " if close else ""
        raise KnobError(f"unknown network {name!r}; {hint}run 'costmodel list' for the {len(_REGISTRY)} networks"
                        ) from None


def check_alpha(net: Network, alpha) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not math.isfinite(alpha) or alpha <= 0:
        raise KnobError(f"{net.name}: alpha must be a positive finite number, got {alpha!r}")
    alpha = float(alpha)
    if net.alphas is not None and not any(math.isclose(alpha, a) for a in net.alphas):
        raise KnobError(f"{net.name}: alpha {alpha:g} is not defined for this network; accepted: "
                        f"{', '.join(f'{a:g}' for a in net.alphas)}")
    if net.alphas is not None:
        alpha = next(a for a in net.alphas if math.isclose(alpha, a))
    return alpha


def check_res(net: Network, res) -> int:
    if res is None:
        return net.default_res
    if isinstance(res, bool) or not isinstance(res, numbers.Integral):
        if isinstance(res, float) and res.is_integer():
            res = int(res)
        else:
            raise KnobError(f"{net.name}: resolution must be a positive integer, got {res!r}")
    res = int(res)
    if res < net.min_res:
        raise KnobError(f"{net.name}: resolution {res} is too small; this network needs at least {net.min_res} "
                        f"(default {net.default_res})")
    return res


def check_classes(classes) -> int:
    if isinstance(classes, bool) or not isinstance(classes, numbers.Integral) or classes < 1:
        raise KnobError(f"classes must be a positive integer, got {classes!r}")
    return int(classes)


def resolve(name: str, alpha=None, res=None, classes=1000, **knobs):
    """Validate everything; return (network, alpha, res, classes, knobs with defaults)."""
    net = get(name)
    alpha = check_alpha(net, net.default_alpha if alpha is None else alpha)
    given_res, res = res, check_res(net, res)
    classes = check_classes(classes)
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
    if given_res is None and net.res_for is not None:
        res = check_res(net, net.res_for(full))
    return net, alpha, res, classes, full


def build(name: str, alpha: Optional[float] = None, res: Optional[int] = None, classes: int = 1000,
          **knobs) -> Graph:
    """Build a registry network as a graph: ``build("mobilenet_v2", alpha=0.75, res=160)``."""
    net, alpha, res, classes, full = resolve(name, alpha, res, classes, **knobs)
    spec = net.spec(alpha=alpha, **full)
    return expand(spec, alpha, res, classes, meta={"network": net.name, "family": net.family}, **full)


def spec_of(name: str, alpha: Optional[float] = None, **knobs) -> NetSpec:
    """The spec a registry network expands, for ``costmodel show``."""
    net, alpha, _, _, full = resolve(name, alpha, None, 1000, **knobs)
    return net.spec(alpha=alpha, **full)
