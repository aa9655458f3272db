"""One published figure beside its computed value, and one reproduced table.

A ``Figure`` keeps the published figure as the printed string, so that its precision is known
(``"4.2"`` in millions means 4.2 M to one decimal). It *matches* when the computed value,
expressed in the published unit, is within half a unit of the last printed digit, or follows the
source's rounding habit (``floor``: the source truncates; ``sigN``: printed to N significant
digits). Where it does not, the report says so and shows the explanation recorded in ``data/``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import List, Optional

from ..errors import CostModelError

#: unit suffix -> scale of the printed number (K, M, G/B in powers of ten: kB = 1000 bytes)
UNITS = {"": 1, "K": 10 ** 3, "M": 10 ** 6, "B": 10 ** 9, "G": 10 ** 9, "%": 1, "x": 1, "ms": 1e-3,
         "KiB": 2 ** 10, "MiB": 2 ** 20}  # KiB/MiB: bytes in the 1024-based units some sources print as "kB"

#: rounding habit -> what the convention text adds (nearest: nothing)
ROUNDING_TEXT = {"floor": "the source truncates"}


def precision(published: str) -> Decimal:
    """Half a unit of the last printed digit: '4.2' -> 0.05, '569' -> 0.5, '1.25' -> 0.005."""
    d = Decimal(published)
    exp = d.as_tuple().exponent
    return Decimal(5) * Decimal(10) ** (exp - 1)


def rounding_text(rounding: str) -> str:
    """The words the report adds for a rounding habit ('' for nearest)."""
    if rounding.startswith("sig"):
        return f"printed to {rounding[3:]} significant digits"
    return ROUNDING_TEXT.get(rounding, "")


@dataclass
class Figure:
    """One published figure beside its computed value."""

    label: str            #: the row, as the paper names it
    quantity: str         #: params, madds, ...
    published: str        #: as printed (precision kept), '' when the source prints nothing
    unit: str             #: 'M', 'B', '%', ... (see UNITS)
    computed: Optional[float]  #: exact computed value in base units (not scaled)
    convention: str = ""  #: how the computed value is counted (classes, BN, ...)
    explanation: str = ""  #: why it differs, from data/ (required when it does)
    #: the source's rounding habit: "nearest" (default), "floor" (the source truncates) or "sigN"
    #: (printed to N significant digits, so "1600" stands for 1550..1649)
    rounding: str = "nearest"
    #: "count" (an exact count, compared within the printed precision) or "prediction" (a predicted
    #: latency beside a measured one: scored by its relative error, never "matched")
    kind: str = "count"

    @property
    def computed_in_unit(self) -> Optional[float]:
        if self.computed is None:
            return None
        return self.computed / UNITS[self.unit]

    @property
    def matches(self) -> Optional[bool]:
        if not self.published or self.computed is None or self.kind == "prediction":
            return None
        try:
            pub = Decimal(self.published)
        except InvalidOperation:
            raise CostModelError(f"published figure {self.published!r} of {self.label!r} is not a number") from None
        got = Decimal(repr(float(self.computed_in_unit))) if isinstance(self.computed, float) else \
            Decimal(self.computed) / Decimal(UNITS[self.unit])
        half = precision(self.published)
        if self.rounding.startswith("sig"):  # printed to N significant digits ("1600" for 1605.6)
            n = int(self.rounding[3:])
            if got == 0:
                return pub == 0
            step = Decimal(10) ** (got.adjusted() - n + 1)
            return (got / step).quantize(Decimal(1), rounding="ROUND_HALF_UP") * step == pub
        if self.rounding == "floor":
            return pub - Decimal("1e-9") <= got < pub + 2 * half
        return abs(got - pub) <= half + Decimal("1e-9")

    @property
    def error(self) -> Optional[float]:
        """A prediction's relative error, (predicted - published) / published."""
        if self.kind != "prediction" or self.computed is None or not self.published:
            return None
        return self.computed_in_unit / float(self.published) - 1.0

    @property
    def status(self) -> str:
        if self.kind == "prediction":
            e = self.error
            return "not predicted" if e is None else f"predicted {e:+.1%}"
        m = self.matches
        if m is None:
            return "n/a"
        if m:
            return "ok"
        return "differs (explained)" if self.explanation else "DIFFERS"

    def difference(self) -> Optional[float]:
        if self.matches is None:
            return None
        return self.computed_in_unit - float(self.published)

    def to_dict(self) -> dict:
        return {"label": self.label, "quantity": self.quantity, "published": self.published, "unit": self.unit,
                "computed": self.computed, "computed_in_unit": self.computed_in_unit,
                "difference": self.difference(), "status": self.status, "convention": self.convention,
                "explanation": self.explanation, "kind": self.kind, "error": self.error}


@dataclass
class Comparison:
    """One published table, reproduced."""

    paper: str
    title: str
    source: str
    figures: List[Figure] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)

    def add(self, *args, **kwargs) -> Figure:
        f = Figure(*args, **kwargs)
        self.figures.append(f)
        return f

    def to_dict(self) -> dict:
        return {"paper": self.paper, "title": self.title, "source": self.source, "notes": list(self.notes),
                "figures": [f.to_dict() for f in self.figures]}
