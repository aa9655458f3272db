"""``costmodel diff A B``: two networks (or one with two settings) side by side, block by block,
with the deltas and ratios of params, Mult-Adds, MAC, peak memory and estimated time."""
from __future__ import annotations

import os
import shlex

import click

from ..network import KNOB_FLAGS
from .common import (
    ALPHA_OPTION, BATCH_OPTION, CLASSES_OPTION, DEPTH_OPTION, KNOB_OPTIONS, RES_OPTION, SKIP_UNSUPPORTED_OPTION,
    NetworkArgs, collect_knobs, emit_tables, format_option, network_options, option_given, output_option,
)
from .table import RollupLevel, bits_option, unfused_option, zero_copy_option

#: what each quantity is called in the headers, and its column kind
LABELS = {"params": ("params", "count"), "madds": ("Mult-Adds", "count"), "mac": ("MAC", "count"),
          "peak_bytes": ("peak", "bytes"), "time_s": ("time (us)", "float")}


@click.command("__side__")
@network_options
def _side(**kwargs):
    """The options one side of a diff may carry (the network options of every command)."""
    return kwargs


def split_side(text: str):
    """'mobilenet_v2 --alpha 0.75' -> ('mobilenet_v2', ['--alpha', '0.75']): the source is everything
    before the first option (a block string keeps its spaces); a path or name that exists as given
    is taken whole."""
    from ..errors import KnobError
    if os.path.exists(text):
        return text, []
    try:
        tokens = shlex.split(text)
    except ValueError as e:
        raise KnobError(f"cannot read {text!r:.80}: {e}") from None
    i = next((k for k, t in enumerate(tokens) if t.startswith("-") and not t[1:2].isdigit()), len(tokens))
    return " ".join(tokens[:i]), tokens[i:]


def side_args(which: str, text: str, shared: dict) -> NetworkArgs:
    """One side's ``NetworkArgs``: its own options (in the quoted argument) over the shared ones. An
    option counts as the side's own when it is given inside the quotes, whatever its value (``--no-aspp``
    is False, and given); a knob the side gives, by its flag or by ``--set``, replaces the shared one."""
    from ..errors import KnobError
    source, opts = split_side(text)
    if not source:
        raise KnobError(f"{which} ({text!r:.60}) names no network: give a name, spec file, block string or model "
                        f"first, e.g. \"mobilenet_v2 --alpha 0.75\"")
    try:
        ctx = _side.make_context(which, [source, *opts])
    except click.UsageError as e:
        raise KnobError(f"{which} ({text!r:.60}): {' '.join(e.format_message().split())}") from None
    own = {k: v for k, v in ctx.params.items() if option_given(ctx, k)}
    own_knobs = _on_side(which, text, collect_knobs, dict(own))
    shared_knobs = collect_knobs(dict(shared))
    merged = {k: v for k, v in {**shared, **own}.items() if k not in _KNOB_KEYS}
    args = NetworkArgs.take(merged)
    args.knobs = {**shared_knobs, **own_knobs}
    args.precision = args.knobs.pop("precision", None)
    return args


#: the options ``collect_knobs`` reads: the knob flags and --set
_KNOB_KEYS = (*KNOB_FLAGS, "extra_knobs")


def shared_options(f):
    """The network options of both sides (no NET argument: A and B take its place)."""
    for opt in reversed([ALPHA_OPTION, RES_OPTION, CLASSES_OPTION, DEPTH_OPTION, BATCH_OPTION, *KNOB_OPTIONS,
                         SKIP_UNSUPPORTED_OPTION]):
        f = opt(f)
    return f


@click.command("diff")
@click.argument("a")
@click.argument("b")
@click.option("--rollup", "--depth", "rollup", type=RollupLevel(), default=2, show_default=True,
              metavar="N",
              help="Compare at level N (--depth N is the same): 1 = stages, 2 = blocks, 3 and deeper = their parts "
                   "(see 'costmodel table "
                   "--rollup'); a level deeper than the network compares layer by layer.")
@bits_option
@unfused_option
@zero_copy_option
@click.option("--device", default=None, metavar="NAME|FILE.json",
              help="Add the estimated time per block on a device profile (its own model: roofline or calibrated).")
@shared_options
@format_option(("text", "csv", "markdown", "json", "xlsx"))
@output_option
def cmd(a, b, rollup, bits, unfused, zero_copy, device, fmt, output, **shared):
    """Compare A and B block by block: params, Mult-Adds, MAC, peak memory (and time with --device)
    of each side, B - A and B / A; blocks of one side only are shown as added or removed.

    A and B are network sources (registry names, spec files, block strings, ONNX or PyTorch models),
    each optionally followed by its own options inside the quotes; options after them apply to
    both sides (a side's own win):

    \b
      costmodel diff mobilenet_v2 "mobilenet_v2 --alpha 0.75"
      costmodel diff "mobilenet_v2 --alpha 1" "mobilenet_v2 --alpha 0.75" --res 160
      costmodel diff mobilenet_v2 mobilenet_v3_large --rollup 1 --device pixel1-kryo-1t
      costmodel diff efficientnet_b0 "efficientnet_b0 --depth-mult 1.2"
      costmodel diff my_net.yaml my_net_v2.yaml -o diff.xlsx
    """
    from ..diff import diff
    from ..fileio import check_writable
    if output:
        check_writable(output)
    dev = None
    if device:
        from ..roofline import device as get_device
        dev = get_device(device)
    sides = [side_args("A", a, shared), side_args("B", b, shared)]
    if sides[0].batch != sides[1].batch:
        from ..errors import KnobError
        raise KnobError(f"A and B must run at the same batch (A {sides[0].batch}, B {sides[1].batch}): give --batch "
                        f"once, after both")
    graphs = _load_both([("A", a, sides[0]), ("B", b, sides[1])])
    d = diff(graphs[0], graphs[1], rollup, int(bits or 32), unfused, zero_copy, sides[0].batch, dev)
    d["a"]["source"], d["b"]["source"] = a, b
    emit_tables(diff_table(d), fmt, output)


#: source kinds whose loading is slow (an import: onnx, PyTorch): loaded after the others
SLOW_KINDS = ("onnx", "torch")


def _load_both(sides):
    """The graphs of ``sides`` ((which, text, NetworkArgs) each), in their order: first the files of
    slow sources are checked to exist, then the quick sources (registry names, spec files, block
    strings) are loaded, then the slow ones, so that a mistake in either side is found before a
    slow import of the other."""
    from ..sources import source_kind
    kinds = [_on_side(which, text, source_kind, s.net) for which, text, s in sides]
    for (which, text, s), kind in zip(sides, kinds):
        _on_side(which, text, _check_file, s.net, kind)
    graphs = [None] * len(sides)
    for i in sorted(range(len(sides)), key=lambda i: kinds[i] in SLOW_KINDS):
        which, text, s = sides[i]
        graphs[i] = _on_side(which, text, s.load)
    return graphs


def _check_file(source: str, kind: str) -> None:
    """The file of a slow source can be read (the checks its loader makes first: ``fileio.check_input``
    for an ONNX model, ``torch_refs.ref_source`` for path/to/file.py:factory); a package reference
    (torchvision:NAME, timm:NAME) is left to its loader."""
    if kind == "onnx":
        from ..fileio import check_input
        from ..onnx_read import OnnxError
        check_input(source, "ONNX model", OnnxError)
    elif kind == "torch":
        from ..torch_refs import ref_source
        ref_source(source)


def _on_side(which: str, text: str, step, *args):
    """``step(*args)`` for one side; an error names the side."""
    from ..errors import CostModelError
    try:
        return step(*args)
    except CostModelError as e:
        raise type(e)(f"{which} ({text!r:.60}): {e}") from None


def diff_table(d: dict):
    """``costmodel.diff.diff``'s result as a ``render.Table``: per block the name, status, and per
    quantity A, B, B - A and B / A (time in microseconds); the totals as the roll-up row."""
    from ..render import Column, Table
    cols = [Column("name", "block", "text"), Column("status", "status", "text")]
    rows = [{"name": x["name"], "status": x["status"]} for x in d["blocks"]]
    total = {"name": "total", "status": ""}
    for q in d["quantities"]:
        head, kind = LABELS[q]
        key = q if q != "time_s" else "time_us"
        main = q in ("params", "madds")  # a narrow terminal keeps the changes: B-A and B/A, params and Mult-Adds first
        cols += [Column(f"{key}_a", f"{head} A", kind, drop=4 if main else 6),
                 Column(f"{key}_b", f"{head} B", kind, drop=4 if main else 6),
                 Column(f"{key}_delta", f"{head} B-A", kind, signed=True),
                 Column(f"{key}_ratio", f"{head} B/A", "ratio", drop=2 if main else 3)]
        scale = 1e6 if q == "time_s" else 1
        for r, x in zip(rows, d["blocks"]):
            for part in ("a", "b", "delta"):
                v = x[part][q]
                r[f"{key}_{part}"] = None if v is None else v * scale if scale != 1 else v
            r[f"{key}_ratio"] = x["ratio"][q]
        for part in ("a", "b", "delta"):
            v = d["total"][part][q]
            total[f"{key}_{part}"] = v * scale if scale != 1 else v
        total[f"{key}_ratio"] = d["total"]["ratio"][q]
    title = f"diff at level {d['rollup']} (--rollup): {', '.join(_counts(d))} blocks"
    notes = [f"A: {_title(d['a'])}", f"B: {_title(d['b'])}", "totals: " + "; ".join(_total_text(d, q)
                                                                                  for q in d["quantities"]),
             "B-A: B's value minus A's (a block of one side only counts 0 on the other); B/A: B's value over A's",
             "params, Mult-Adds, MAC (elements, deployment view unless --unfused): sums over the block's layers; "
             f"peak: the most activation memory live while one of the block's ops runs (optimal schedule, "
             f"{d['bits']}-bit), the total row the network's peak"]
    if "device" in d:
        notes.append(f"time: estimated on {d['device']['name']} ({d['device']['model']} model), per executed unit; "
                     f"the total row is the whole network's prediction")
    notes.append("blocks are matched by name, stages (--rollup 1) by their row of the network's table")
    return Table(title, cols, rows, total, notes, data=d, sheet="diff")


def _title(side: dict) -> str:
    c = side["config"]
    res = c["resolution"]
    res = f"{res[0]}x{res[1]}" if isinstance(res, (list, tuple)) else res
    knobs = ", ".join(f"{k}={v}" for k, v in c.get("knobs", {}).items() if v is not None)
    return (f"{c['network']}  alpha={c['alpha']:g}  resolution={res}" + (f"  depth={c['depth']:g}" if "depth" in c
                                                                         else "")
            + f"  classes={c['classes']}  batch={c['batch']}" + (f"  {knobs}" if knobs else "")
            + f"  [{side.get('source', '')}]")


def _total_text(d: dict, q: str) -> str:
    from ..render import scaled
    head, kind = LABELS[q]
    a, b = d["total"]["a"][q], d["total"]["b"][q]
    if q == "time_s":
        return f"time {a * 1e3:.3f} ms -> {b * 1e3:.3f} ms"
    unit = "B" if kind == "bytes" else ""
    ratio = d["total"]["ratio"][q]
    return f"{head} {scaled(a, unit)} -> {scaled(b, unit)}" + (f" (x{ratio:.3f})" if ratio is not None else "")


def _counts(d: dict):
    from collections import Counter
    n = Counter(x["status"] for x in d["blocks"])
    return [f"{n[s]} {s}" for s in ("same", "changed", "added", "removed") if n[s]]
