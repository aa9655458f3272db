"""Options shared by the subcommands: the network argument with alpha, resolution, classes and
knobs, the output format and ``-o FILE`` (written atomically)."""
from __future__ import annotations

import functools
import os
from typing import Optional

import click

from ..errors import KnobError
from ..registry import KNOB_FLAGS  # knobs with a flag of their own

#: knob flags understood by every network command; a flag a network does not define is an error
KNOB_OPTIONS = [
    click.option("--variant", default=None, help="Architecture variant (see 'costmodel list')."),
    click.option("--groups", type=int, default=None, help="Group count (ShuffleNet V1)."),
    click.option("--bypass", default=None, help="SqueezeNet bypass: none, simple or complex."),
    click.option("--head", default=None, help="Detection/segmentation head (ssd, ssdlite, deeplabv3)."),
    click.option("--output-stride", "output_stride", type=int, default=None, help="DeepLab output stride (8, 16)."),
    click.option("--aspp/--no-aspp", "aspp", default=None, help="DeepLab ASPP module on or off."),
    click.option("--set", "extra_knobs", multiple=True, metavar="KNOB=VALUE",
                 help="Any other network knob, e.g. --set aux_logits=true."),
]


skip_unsupported_option = click.option(
    "--skip-unsupported", "skip_unsupported", is_flag=True, default=False,
    help="ONNX models: treat unsupported ops as identity, counted as zero and flagged 'unsupported:<Op>'.")




def network_options(f):
    """NET argument (a registry name, a spec file .yaml/.yml/.json, an ONNX model .onnx, or a
    quoted whitespace-separated block string) plus --alpha, --res, --classes, the knob flags and
    --skip-unsupported."""
    opts = [
        click.argument("net"),
        click.option("--alpha", "-a", type=float, default=None, help="Width multiplier (default: the network's)."),
        click.option("--res", "-r", type=int, default=None, help="Input resolution (default: the network's)."),
        click.option("--classes", "-k", type=int, default=1000, show_default=True, help="Number of classes."),
    ] + KNOB_OPTIONS + [skip_unsupported_option]
    for o in reversed(opts):
        f = o(f)
    return f


def collect_knobs(kwargs: dict) -> dict:
    """Pop the knob flags out of a command's kwargs; only those the user gave.
    (``--skip-unsupported`` is popped too; ``load_graph`` reads it from the click context.)"""
    kwargs.pop("skip_unsupported", None)
    knobs = {}
    for name in KNOB_FLAGS:
        v = kwargs.pop(name, None)
        if v is not None:
            knobs[name] = v
    for item in kwargs.pop("extra_knobs", ()) or ():
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise KnobError(f"--set takes KNOB=VALUE, got {item!r}")
        knobs[key.strip().replace("-", "_")] = value.strip()
    return knobs


def _given(name: str) -> bool:
    """Whether the current command's option ``name`` was given on the command line."""
    ctx = click.get_current_context(silent=True)
    if ctx is None or name not in ctx.params:
        return False
    src = ctx.get_parameter_source(name)
    return src is not None and src.name not in ("DEFAULT", "DEFAULT_MAP")


def load_graph(net: str, alpha: Optional[float], res: Optional[int], classes: int, knobs: dict,
               skip_unsupported: Optional[bool] = None):
    """Build the graph a command works on. NET is a spec file (.yaml/.yml/.json), an ONNX model
    (.onnx), a whitespace-separated block string, or else a registry name; one implementation,
    ``costmodel.specfile.load``, serves every command and the Python API (``costmodel.load``).

    ``skip_unsupported`` defaults to the command's ``--skip-unsupported`` flag. A spec file's own
    classes default applies unless --classes is given; ONNX models reject --classes and --alpha."""
    from ..specfile import load, source_kind
    kind = source_kind(net)
    ctx = click.get_current_context(silent=True)
    if skip_unsupported is None:
        skip_unsupported = bool(ctx.params.get("skip_unsupported")) if ctx is not None else False
    if kind == "onnx" and _given("classes"):
        raise KnobError(f"{net}: --classes does not apply to an ONNX model (its classifier is fixed)")
    if kind in ("spec", "blocks", "onnx") and ctx is not None and "classes" in ctx.params and not _given("classes"):
        classes = None  # the file's own default
    if skip_unsupported and kind != "onnx":
        raise KnobError("--skip-unsupported applies to ONNX models (.onnx) only")
    graph = load(net, alpha, res, classes, skip_unsupported=skip_unsupported, **knobs)
    unsupported = graph.meta.get("unsupported")
    if unsupported:
        click.echo(f"costmodel: warning: unsupported op(s) treated as identity and counted as zero "
                   f"(rows 'unsupported:<Op>'): {unsupported}", err=True)
    return graph


#: output formats implied by the suffix of -o FILE when --format is not given
SUFFIX_FORMATS = {".json": "json", ".csv": "csv", ".md": "markdown", ".markdown": "markdown", ".txt": "text",
                  ".xlsx": "xlsx", ".yaml": "yaml", ".yml": "yaml",
                  ".onnx": "onnx"}


def infer_format(output: Optional[str], formats, default: str) -> str:
    """The format implied by ``output``'s suffix when it is one of ``formats``, else ``default``."""
    if output:
        fmt = SUFFIX_FORMATS.get(os.path.splitext(str(output))[1].lower())
        if fmt in formats:
            return fmt
    return default


def format_option(formats=("text", "csv", "markdown", "json"), default: str = "text"):
    """--format/-f; when it is not given, the suffix of -o FILE chooses (v2.json -> json)."""
    suffixes = ", ".join(f"{k} -> {v}" for k, v in SUFFIX_FORMATS.items() if v in formats and v != default)
    opt = click.option("--format", "-f", "fmt", type=click.Choice(formats), default=None,
                       help=f"Output format [default: {default}, or from the suffix of -o FILE: {suffixes}].")

    def deco(f):
        @functools.wraps(f)
        def wrapper(*args, **kwargs):
            if kwargs.get("fmt") is None:
                kwargs["fmt"] = infer_format(kwargs.get("output"), formats, default)
            return f(*args, **kwargs)
        return opt(wrapper)
    return deco


output_option = click.option("-o", "--output", "output", default=None, metavar="FILE",
                             help="Write to FILE (atomically) instead of standard output.")


def emit(text: str, output: Optional[str]) -> None:
    if output:
        from ..fileio import write_atomic
        write_atomic(output, text)
    else:
        click.echo(text, nl=False)


def wraps_command(f):
    return functools.wraps(f)
