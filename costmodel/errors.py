"""Exceptions. Every message is one line: what is wrong, where, and what is accepted.

All are ``ValueError`` subclasses so API callers can catch one type; the CLI turns any
``CostModelError`` into one line on stderr and exit status 2.
"""


class CostModelError(ValueError):
    """Base class of every user-facing error of costmodel."""


class GraphError(CostModelError):
    """An inconsistent graph: bad shapes, unknown inputs, duplicate names. Names the node."""


class SpecError(CostModelError):
    """A network spec (block table, spec file) that cannot be expanded."""


class KnobError(CostModelError):
    """An unknown network or a bad knob value (alpha, resolution, groups, ...)."""
