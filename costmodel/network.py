"""Registry entries: a ``Network`` names a spec function and the knobs it takes; zoo modules create
them and ``register`` them here. This module is below the zoo (it imports neither the zoo nor the
registry's lookup functions), so that a zoo module can register without an import cycle.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, Optional, Tuple

from .errors import KnobError

#: knobs that have a command-line flag of their own (others are given with --set NAME=VALUE)
KNOB_FLAGS = ("variant", "groups", "bypass", "head", "output_stride", "aspp")


@dataclass(frozen=True)
class Knob:
    """A network option beyond alpha, depth, resolution and classes (``groups``, ``variant``, ...)."""

    name: str
    default: object
    choices: Optional[Tuple] = None
    help: str = ""

    @property
    def flag(self) -> str:
        """How the knob is given on the command line (its own flag or --set NAME=)."""
        return f"--{self.name.replace('_', '-')}" if self.name in KNOB_FLAGS else f"--set {self.name}"

    def cli(self, value) -> str:
        """The command-line words that give this knob ``value`` (its own flag, or --set)."""
        if self.name in KNOB_FLAGS:
            if isinstance(value, bool):
                return f"--{'' if value else 'no-'}{self.name.replace('_', '-')}"
            return f"--{self.name.replace('_', '-')} {value}"
        text = str(value).lower() if isinstance(value, bool) else str(value)
        return f"--set {self.name}={text}"

    def coerce(self, value, network: str):
        """Validate (and convert command-line strings to) the knob's type."""
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
        except (TypeError, ValueError, OverflowError):
            raise KnobError(f"{network}: {self.flag} must be a {kind.__name__}, got {value!r:.60}") from None
        if self.choices is not None and value not in self.choices:
            raise KnobError(f"{network}: {self.flag} {value!r:.60} is not supported; accepted: "
                            f"{', '.join(map(str, self.choices))}")
        return value


@dataclass(frozen=True)
class Network:
    """A registry entry: ``spec(alpha=..., **knobs) -> NetSpec`` and what it accepts."""

    name: str
    family: str
    spec: Callable
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
    #: the depth multiplier this entry is built with by default (EfficientNet-B1: 1.1); it applies
    #: only to specs with a ``depth_rule``
    default_depth: float = 1.0
    tags: Tuple[str, ...] = field(default_factory=tuple)
    #: optional fn(knobs) -> knobs: fills knobs whose default depends on other knobs (a head's
    #: output stride) and rejects bad combinations with a KnobError
    derive: Optional[Callable[[dict], dict]] = None
    #: optional fn(knobs) -> the default resolution for these knobs (a head's own input size)
    res_for: Optional[Callable[[dict], int]] = None
    #: optional fn(knobs) -> the smallest input side these knobs build (a classifier that pools
    #: adaptively accepts less than one trained on a fixed map); ``min_res`` is the default knobs' one
    min_res_for: Optional[Callable[[dict], int]] = None
    #: published top-1 etc. are looked up by the reproduction data, not stored here

    def knob(self, name: str) -> Knob:
        for k in self.knobs:
            if k.name == name:
                return k
        raise KnobError(f"{self.name} has no knob {name!r}; accepted: "
                        f"{', '.join(k.name for k in self.knobs) or 'none'}")

    def min_res_of(self, knobs: Optional[dict] = None) -> int:
        """The smallest input side (pixels) the network builds with ``knobs`` (defaults filled in)."""
        if self.min_res_for is None:
            return self.min_res
        full = {k.name: k.default for k in self.knobs}
        full.update(knobs or {})
        return self.min_res_for(full)

    @property
    def depth_rule(self) -> Optional[str]:
        """The repeat rule of the default spec (None: the family has no depth multiplier)."""
        return self.spec(alpha=self.default_alpha).depth_rule


_REGISTRY: Dict[str, Network] = {}


def register(net: Network) -> Network:
    """Add a network to the registry (zoo modules call this on import)."""
    if net.name in _REGISTRY:
        raise KnobError(f"network {net.name!r} is registered twice")
    _REGISTRY[net.name] = net
    return net
