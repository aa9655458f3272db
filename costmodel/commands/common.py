"""Options shared by the subcommands: the network argument with alpha, resolution, classes and
knobs, the output format and ``-o FILE`` (written atomically)."""
from __future__ import annotations

import functools
from typing import Optional

import click

from ..errors import KnobError

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


def network_options(f):
    """NET argument plus --alpha, --res, --classes and the knob flags."""
    opts = [
        click.argument("net"),
        click.option("--alpha", "-a", type=float, default=None, help="Width multiplier (default: the network's)."),
        click.option("--res", "-r", type=int, default=None, help="Input resolution (default: the network's)."),
        click.option("--classes", "-k", type=int, default=1000, show_default=True, help="Number of classes."),
    ] + KNOB_OPTIONS
    for o in reversed(opts):
        f = o(f)
    return f


def collect_knobs(kwargs: dict) -> dict:
    """Pop the knob flags out of a command's kwargs; only those the user gave."""
    knobs = {}
    for name in ("variant", "groups", "bypass", "head", "output_stride", "aspp"):
        v = kwargs.pop(name, None)
        if v is not None:
            knobs[name] = v
    for item in kwargs.pop("extra_knobs", ()) or ():
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise KnobError(f"--set takes KNOB=VALUE, got {item!r}")
        knobs[key.strip().replace("-", "_")] = value.strip()
    return knobs


def load_graph(net: str, alpha: Optional[float], res: Optional[int], classes: int, knobs: dict):
    """Build the graph a command works on: a registry name (spec files and ONNX models are
    resolved here too as they are supported)."""
    from ..registry import build
    return build(net, alpha=alpha, res=res, classes=classes, **knobs)


def format_option(formats=("text", "csv", "markdown", "json")):
    return click.option("--format", "-f", "fmt", type=click.Choice(formats), default="text", show_default=True,
                        help="Output format.")


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
