"""``costmodel verify NET``: run the network in the NumPy executor and check every node's
executed shape and every conv/linear node's counted Mult-Adds (multiply-accumulates performed)
against the analytical model."""
from __future__ import annotations

import sys
from collections import OrderedDict

import click

from .common import NetworkArgs, Progress, network_options

#: resolution ``--all`` uses when --res is not given (raised to a network's minimum)
ALL_RES = 64


def _classes(checks):
    """Checks grouped by op label (node class), in order of first appearance."""
    groups = OrderedDict()
    for c in checks:
        groups.setdefault(c.label, []).append(c)
    return groups


def _summary(checks, ex) -> str:
    n_mult = sum(1 for c in checks if c.counts_madds)
    return (f"{len(checks)} nodes checked, {sum(c.shapes_equal for c in checks)} shapes equal, "
            f"{sum(c.madds_equal for c in checks if c.counts_madds)}/{n_mult} counted Mult-Adds equal"
            + (f"; stopped at {ex.stopped_at!r}" if ex.stopped_at else ""))


def _mismatch_lines(graph, ex):
    return [f"  MISMATCH {c.describe(graph.node(c.name).op)}" for c in ex.mismatches]


def _run(graph, batch, seed, label):
    from ..executor import check_memory, random_input, run
    check_memory(graph, batch)  # before the input batch is drawn
    bar = Progress(label, delay=0.5, length=len(graph))
    try:
        return run(graph, random_input(graph, batch, seed), seed=seed, raise_on_mismatch=False,
                   progress=bar.update)
    finally:
        bar.close()


def _verify_one(graph, batch, seed) -> bool:
    ex = _run(graph, batch, seed, graph.name)
    meta = graph.meta
    click.echo(f"{graph.name} alpha {meta.get('alpha', '-')} res {meta.get('resolution', '-')} batch {batch}: "
               f"{len(graph)} nodes")
    groups = _classes(ex.checks)
    width = max([len(k) for k in groups] + [10])
    for label, cs in groups.items():
        madds = (f"Mult-Adds equal {sum(c.madds_equal for c in cs)}/{len(cs)}" if any(c.counts_madds for c in cs)
                 else "Mult-Adds -")
        click.echo(f"  {label:<{width}}  {len(cs):4d}  shapes equal {sum(c.shapes_equal for c in cs)}/{len(cs)}"
                   f"  {madds}")
    for line in _mismatch_lines(graph, ex):
        click.echo(line)
    total = sum(c.madds for c in ex.checks)
    click.echo(f"summary: {_summary(ex.checks, ex)} ({total:,} analytical Mult-Adds per sample)")
    return ex.ok


def _configs(net, knobs: bool):
    """The default knobs, then (with ``knobs``) each knob's other choices one at a time."""
    yield {}
    if knobs:
        for k in net.knobs:
            for choice in k.choices or ():
                if choice != k.default:
                    yield {k.name: choice}


def _build(net, res, cfg):
    """The graph at ``res`` (raised to the network's minimum); a configuration that needs more
    (an auxiliary head) at its own default resolution. Raises for a rejected combination."""
    from ..errors import CostModelError
    from ..registry import build
    r = (max(net.min_res, res[0]), max(net.min_res, res[1])) if res else max(net.min_res, ALL_RES)
    try:
        return build(net.name, res=r, **cfg)
    except CostModelError:
        if res is not None:
            raise
        return build(net.name, **cfg)


def _plan_all(res, batch, knobs) -> list:
    """Every configuration ``--all`` verifies, built and its memory checked before any runs (a
    network over the executor's memory limit is one line, not an error after the others ran): per
    configuration (network, what it is, its graph or None when the network rejects the
    combination, the reason)."""
    from ..errors import CostModelError
    from ..executor import check_memory
    from ..registry import networks
    plan = []
    for net in networks().values():
        for cfg in _configs(net, knobs):
            what = " ".join([net.name] + [f"{k}={v}" for k, v in cfg.items()])
            try:
                graph = _build(net, res, cfg)
            except CostModelError as e:
                if not cfg:
                    raise
                plan.append((net, what, None, e))
                continue
            check_memory(graph, batch)  # the estimate is cached: the run does not make it again
            plan.append((net, what, graph, None))
    return plan


def _verify_all(res, batch, seed, knobs) -> bool:
    from ..executor import random_input, run
    todo = _plan_all(res, batch, knobs)
    ok, skipped = True, 0
    bar = Progress("verify --all", length=len(todo))
    try:
        for i, (_net, what, graph, rejected) in enumerate(todo):
            if graph is None:
                skipped += 1
                bar.update(i + 1)
                bar.echo(f"skip {what}: {rejected}")
                continue
            ex = run(graph, random_input(graph, batch, seed), seed=seed, raise_on_mismatch=False)
            bar.update(i + 1)
            bar.echo(f"{'ok ' if ex.ok else 'FAIL'} {what} res {graph.meta.get('resolution')}: "
                     f"{_summary(ex.checks, ex)}")
            for line in _mismatch_lines(graph, ex):
                bar.echo(line)
            ok &= ex.ok
    finally:
        bar.close()
    n_net = len({net.name for net, *_ in todo})
    click.echo(f"summary: {n_net} networks, {len(todo) - skipped} configurations verified"
               + (f", {skipped} rejected combinations skipped" if skipped else "")
               + f": {'all match' if ok else 'MISMATCHES (see above)'}")
    return ok


@click.command("verify")
@network_options(batch=False)
@click.option("--batch", "-b", type=click.IntRange(min=1), default=1, show_default=True, help="Batch size.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the random weights and input.")
@click.option("--all", "all_", is_flag=True,
              help=f"Verify every registry network at its default width and knobs, at --res (default "
                   f"{ALL_RES}) or its minimum resolution if larger.")
@click.option("--knobs", "knob_choices", is_flag=True,
              help="With --all: also every other choice of each knob, one at a time (combinations a network "
                   "rejects are listed as skipped).")
def cmd(batch, seed, all_, knob_choices, **kwargs):
    """Run NET in the NumPy reference executor; check that every node's executed shape and every
    conv/linear node's counted Mult-Adds (multiply-accumulates performed) equal the analytical
    ones. Exit 1 on any mismatch."""
    from .. import validate
    from ..errors import KnobError
    from ..exec_checks import check_seed
    check_seed(seed, "--seed")
    args = NetworkArgs.take(kwargs)
    if all_:
        if (args.net is not None or args.alpha is not None or args.knobs or args.classes is not None
                or args.depth is not None):
            raise KnobError("--all verifies every network at its defaults; give no NET, --alpha, --depth-mult, "
                            "--classes or knob flags with it")
        ok = _verify_all(None if args.res is None else validate.resolution(args.res, "--res"), batch, seed,
                         knob_choices)
    else:
        if args.net is None:
            raise KnobError("give a network name (see 'costmodel list') or --all")
        if knob_choices:
            raise KnobError("--knobs goes with --all; for one network give the knob flags themselves")
        args.warn_unsupported = False
        graph = args.load()
        if graph.meta.get("unsupported"):  # one line, not a warning followed by the executor's error
            from ..errors import CostModelError
            raise CostModelError(f"{args.net}: verify runs every node in the NumPy executor, which cannot run the "
                                 f"op(s) --skip-unsupported counted as identity: {graph.meta['unsupported']}")
        ok = _verify_one(graph, batch, seed)
    sys.exit(0 if ok else 1)


for _p in cmd.params:  # NET is optional: --all replaces it
    if _p.name == "net":
        _p.required = False
