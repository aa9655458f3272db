"""The counting rules: how a source counts the figure it prints (the ``counted_as`` column of
``data/``), as functions of the graph the row builds.

A rule has a name, the one-line convention text the report shows beside the figure, and a function
of a ``Target`` (the row's graph, built once and cached). ``counted_as`` is ``name`` or
``name@arg``; for the sums below ``arg`` is a block scope of the spec (``params@fire2``: the
parameters of block fire2 only, the way per-layer tables print them), other rules say what their
argument means. Register new rules with ``register_rule`` (the memory and latency work add theirs
from their own modules); a paper module that needs a graph the registry does not build (one
layer of a table) registers a builder with ``register_builder``.

Sums over the graph (``params``, ``madds``, ...) follow ``costmodel.analysis``; ``bn_channels`` is
the channels under a BatchNorm, so that other checkpoint conventions are ``params + k x bn_channels``.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Dict, Optional, Tuple

from ..errors import CostModelError


@dataclass(frozen=True)
class Rule:
    """One way of counting: ``fn(target)`` gives the exact value; ``text`` is what the report shows
    (``{arg}`` in it is replaced by the ``@`` argument)."""

    name: str
    text: str
    fn: Callable[["Target"], object]
    #: the ``@`` argument is a block scope (the text then says "(SCOPE only)")
    scoped: bool = False

    def describe(self, arg: str = "") -> str:
        if "{arg}" in self.text:
            return self.text.replace("{arg}", arg)
        return self.text + (f" ({arg} only)" if arg and self.scoped else "")


RULES: Dict[str, Rule] = {}
#: network name -> fn(**knobs) -> Graph, for graphs a paper module builds itself
BUILDERS: Dict[str, Callable] = {}


def register_rule(name: str, text: str, fn: Callable[["Target"], object], scoped: bool = False) -> Rule:
    """Add a counting rule (``text``: the one-line convention the report shows)."""
    if name in RULES:
        raise CostModelError(f"counting rule {name!r} is registered twice")
    RULES[name] = Rule(name, text, fn, scoped)
    return RULES[name]


def register_builder(name: str, fn: Callable) -> None:
    BUILDERS[name] = fn


def get_rule(counted_as: str, where: str = "") -> Tuple[Rule, str]:
    """``'params@fire2'`` -> (the params rule, 'fire2')."""
    name, _, arg = counted_as.partition("@")
    if name not in RULES:
        raise CostModelError(f"{where}unknown counting rule {name!r}; registered: {', '.join(RULES)}")
    return RULES[name], arg


# ----------------------------------------------------------------------------- targets
def freeze(knobs: Dict) -> Tuple:
    return tuple(knobs.items())


@lru_cache(maxsize=256)
def graph_of(network: str, knobs: Tuple):
    """The graph of ``network`` built with ``knobs`` (a frozen tuple of items), cached."""
    kw = dict(knobs)
    if network in BUILDERS:
        return BUILDERS[network](**kw)
    from ..registry import build
    return build(network, **kw)


def scope_counts(rows, scope: str = "") -> Dict:
    """Exact sums over the layer rows (``analysis.layer_rows`` or ``analyze(...).rows``) of block
    ``scope`` and below (every row for ''): params, params_with_bn, madds, flops, bn_channels,
    fc_madds (linear layers) and output_shape (of the scope's last node)."""
    from ..analysis import SUM_KEYS
    rows = [r for r in rows if not scope or r["block"] == scope or r["block"].startswith(scope + ".")]
    if not rows:
        raise CostModelError(f"no block {scope!r} in this graph")
    out = {k: sum(r[k] for r in rows) for k in SUM_KEYS}  # the per-node counts of analysis.node_counts
    out["fc_madds"] = sum(r["madds"] for r in rows if r["kind"] == "linear")
    out["output_shape"] = list(rows[-1]["output_shape"])
    return out


def counts(graph, scope: str = "") -> Dict:
    """``scope_counts`` of a graph."""
    from ..analysis import layer_rows
    try:
        return scope_counts(layer_rows(graph), scope)
    except CostModelError:
        raise CostModelError(f"{graph.name} has no block {scope!r}") from None


@lru_cache(maxsize=1024)
def _counts(network: str, knobs: Tuple, scope: str) -> Dict:
    return counts(graph_of(network, knobs), scope)


@dataclass(frozen=True)
class Target:
    """What a rule counts: ``network`` built with ``knobs``; ``arg`` is the ``@`` argument."""

    network: str
    knobs: Tuple
    arg: str = ""

    def graph(self, **changes):
        """The graph, or the graph with some knobs changed (``res=513``), cached."""
        return graph_of(self.network, freeze({**dict(self.knobs), **changes}) if changes else self.knobs)

    def counts(self, scope: Optional[str] = None, **changes) -> Dict:
        """``counts`` of the graph (of block ``scope``; default the ``@`` argument), cached."""
        knobs = freeze({**dict(self.knobs), **changes}) if changes else self.knobs
        return _counts(self.network, knobs, self.arg if scope is None else scope)


def _counted(name: str, text: str, fn: Callable[[Dict], object]) -> None:
    """A rule computed from ``counts`` (of the whole graph, or of the block ``@SCOPE``)."""
    register_rule(name, text, lambda t: fn(t.counts()), scoped=True)


_counted("params", "conv/FC weights + biases", lambda c: c["params"])
_counted("params_with_bn", "weights + biases + BN scale and shift (PyTorch's parameters())",
         lambda c: c["params_with_bn"])
_counted("madds", "Mult-Adds, FC included", lambda c: c["madds"])
_counted("madds_without_fc", "Mult-Adds of the conv layers, FC excluded", lambda c: c["madds"] - c["fc_madds"])
_counted("flops", "FLOPs: 2 x Mult-Adds + bias, BN, activation, pooling and add arithmetic", lambda c: c["flops"])
_counted("attn_madds", "Mult-Adds of attention's Q.K^T and A.V products (not in Mult-Adds)", lambda c: c["attn_madds"])
_counted("checkpoint_no_gamma", "TF-slim checkpoint variables: weights + biases + BN beta, moving mean and "
         "variance (batch_norm scale=False) = params + 3 x bn_channels", lambda c: c["params"] + 3 * c["bn_channels"])
_counted("checkpoint", "checkpoint variables: weights + biases + BN gamma, beta, moving mean and variance "
         "= params + 4 x bn_channels", lambda c: c["params"] + 4 * c["bn_channels"])
_counted("keras_total", "Keras total params: params_with_bn + BN moving mean and variance",
         lambda c: c["params_with_bn"] + 2 * c["bn_channels"])
_counted("bn_moving", "BN moving mean and variance = 2 x bn_channels", lambda c: 2 * c["bn_channels"])
_counted("size_MiB", "32-bit weights in MiB (2^20 bytes)", lambda c: c["params"] * 4 / 2 ** 20)
register_rule("channels", "output channels of {arg} (built graph)", lambda t: t.counts()["output_shape"][0])
