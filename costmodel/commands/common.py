"""Options shared by the subcommands, declared once: the network argument with alpha, depth,
resolution, classes, batch and knobs (``network_options`` / ``NetworkArgs``), the output format and
``-o FILE`` (written atomically)."""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from typing import Optional

import click

from ..errors import KnobError
from ..network import KNOB_FLAGS  # knobs with a flag of their own

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

#: what --set may not set, and the flag that sets it instead
_OWN_FLAGS = {"alpha": "--alpha", "res": "--res", "resolution": "--res", "classes": "--classes",
              "depth": "--depth-mult", "batch": "--batch"}

class ResolutionType(click.ParamType):
    """--res N or HxW: an int or an (H, W) pair (checked against the network by ``validate``)."""

    name = "N|HxW"

    def convert(self, value, param, ctx):
        from .. import validate
        if value is None or isinstance(value, (int, tuple)):
            return value
        try:
            return validate.parse_res(value, "")
        except KnobError as e:
            self.fail(str(e), param, ctx)


ALPHA_OPTION = click.option("--alpha", "-a", type=float, default=None,
                            help="Width multiplier (default: the network's).")
RES_OPTION = click.option("--res", "-r", type=ResolutionType(), default=None, metavar="N|HxW",
                          help="Input resolution: N (square) or HxW, e.g. 320x240 (default: the network's).")
CLASSES_OPTION = click.option("--classes", "-k", type=int, default=None,
                              help="Number of classes (default: the network's own, 1000 for the zoo).")
DEPTH_OPTION = click.option("--depth-mult", "-d", "depth", type=float, default=None,
                            help="Depth multiplier: stage repeats n -> ceil(d x n), for families with stage "
                                 "repeats (default: the network's).")
BATCH_OPTION = click.option("--batch", "-b", type=int, default=None,
                            help="Batch size: Mult-Adds, FLOPs, activation traffic and memory scale with it, "
                                 "weights are read once per batch [default: 1].")
SKIP_UNSUPPORTED_OPTION = click.option(
    "--skip-unsupported", "skip_unsupported", is_flag=True, default=False,
    help="Imported models (ONNX, PyTorch): treat unsupported ops as identity, counted as zero and flagged "
         "'unsupported:<Op>'.")


def network_options(f=None, *, batch: bool = True, skip_unsupported: bool = True):
    """NET argument (a registry name, a spec file .yaml/.yml/.json, an ONNX model .onnx, a PyTorch
    reference, or a quoted whitespace-separated block string) plus --alpha, --res, --classes,
    --depth-mult, --batch, the knob flags and --skip-unsupported; ``NetworkArgs.take`` collects them."""
    def deco(f):
        opts = [click.argument("net"), ALPHA_OPTION, RES_OPTION, CLASSES_OPTION, DEPTH_OPTION]
        opts += [BATCH_OPTION] if batch else []
        opts += KNOB_OPTIONS + ([SKIP_UNSUPPORTED_OPTION] if skip_unsupported else [])
        for o in reversed(opts):
            f = o(f)
        return f
    return deco(f) if f is not None else deco


def collect_knobs(kwargs: dict) -> dict:
    """Pop the knob flags and --set items out of a command's kwargs: only those the user gave. A
    knob given twice (a flag and --set, or --set twice), an empty value, or --set of something that
    has a flag of its own (alpha, res, classes, depth, batch) is an error."""
    knobs = {}
    for name in KNOB_FLAGS:
        v = kwargs.pop(name, None)
        if v is not None:
            knobs[name] = v
    for item in kwargs.pop("extra_knobs", ()) or ():
        key, sep, value = item.partition("=")
        key, value = key.strip().replace("-", "_"), value.strip()
        if not sep or not key:
            raise KnobError(f"--set takes KNOB=VALUE, got {item!r:.80}")
        if not key.isidentifier():
            raise KnobError(f"--set {item!r:.60}: a knob name is a word of letters, digits and '_', got {key!r:.40}")
        if not value:
            raise KnobError(f"--set {key}= has an empty value; give KNOB=VALUE")
        if key in _OWN_FLAGS:
            raise KnobError(f"--set {key}=... : {key} has a flag of its own; use {_OWN_FLAGS[key]} {value:.40}")
        if key in knobs:
            flag = f"--{key.replace('_', '-')}" if key in KNOB_FLAGS else f"--set {key}"
            raise KnobError(f"knob {key} is given twice ({flag} {knobs[key]!r:.40} and --set {key}={value!r:.40}); "
                            f"give it once")
        knobs[key] = value
    return knobs


@dataclass
class NetworkArgs:
    """What ``network_options`` collected: the source and how to build it."""

    net: str
    alpha: Optional[float] = None
    res: Optional[str] = None
    classes: Optional[int] = None
    depth: Optional[float] = None
    batch: int = 1
    knobs: dict = field(default_factory=dict)
    skip_unsupported: bool = False
    #: ``--set precision=...`` (``costmodel.precision.parse_text``): per-layer bits, not a network knob
    precision: Optional[str] = None
    #: False: ``load`` does not warn about unsupported ops (a command that refuses them says so itself)
    warn_unsupported: bool = True

    @classmethod
    def take(cls, kwargs: dict) -> "NetworkArgs":
        """Pop the network options out of a command's kwargs."""
        from .. import validate
        batch = kwargs.pop("batch", None)
        knobs = collect_knobs(kwargs)
        return cls(kwargs.pop("net"), kwargs.pop("alpha", None), kwargs.pop("res", None),
                   kwargs.pop("classes", None), kwargs.pop("depth", None),
                   1 if batch is None else validate.batch(batch, "--batch"), knobs,
                   bool(kwargs.pop("skip_unsupported", False)), knobs.pop("precision", None))

    def load(self):
        """The graph (``costmodel.load``); warns once on stderr about ops counted as zero (unless
        ``warn_unsupported`` is False: a command that refuses such graphs says so in its own line)."""
        from ..sources import load
        graph = load(self.net, self.alpha, self.res, self.classes, self.depth,
                     skip_unsupported=self.skip_unsupported, **self.knobs)
        if self.precision is not None:  # per-layer bits: --set precision=act=8,weight=8;conv0:act=16
            from ..precision import parse_text, with_precision
            graph = with_precision(graph, parse_text(self.precision))
        unsupported = graph.meta.get("unsupported")
        if unsupported and self.warn_unsupported:
            click.echo(f"costmodel: warning: unsupported op(s) treated as identity and counted as zero "
                       f"(rows 'unsupported:<Op>'): {unsupported}", err=True)
        return graph


#: output formats implied by the suffix of -o FILE when --format is not given
SUFFIX_FORMATS = {".json": "json", ".csv": "csv", ".md": "markdown", ".markdown": "markdown", ".txt": "text",
                  ".xlsx": "xlsx", ".yaml": "yaml", ".yml": "yaml",
                  ".onnx": "onnx"}


def infer_format(output: Optional[str], formats, default: str, suffixes: Optional[dict] = None) -> str:
    """The format implied by ``output``'s suffix: one of ``formats``, or ``default`` for a file
    without a suffix (and for standard output). A suffix that names another format, or none, is
    refused: a file named .xlsx never receives text."""
    if output and str(output) != "-":
        suffix = os.path.splitext(str(output))[1].lower()
        if not suffix:
            return default
        table = {**SUFFIX_FORMATS, **(suffixes or {})}
        fmt = table.get(suffix)
        if fmt in formats:
            return fmt
        accepted = ", ".join(k for k, v in table.items() if v in formats)
        raise click.UsageError(f"cannot tell the output format of {str(output)!r:.80} from its suffix "
                               f"{suffix!r:.20}; use one of {accepted}, or give --format")
    return default


def option_given(ctx, name: str) -> bool:
    """Whether option ``name`` of the command being run was given (on the command line or by
    environment), not left to its default: options that mean nothing in a mode are refused only
    when given."""
    from click.core import ParameterSource
    return ctx.get_parameter_source(name) not in (None, ParameterSource.DEFAULT)


#: formats whose files are not text: one of them must not be written under another's suffix, nor text
#: under theirs
BINARY_FORMATS = ("xlsx", "parquet", "onnx")


def check_suffix(output: Optional[str], fmt: str, suffixes: Optional[dict] = None) -> None:
    """An explicit --format against -o FILE's suffix: refused when either is a binary format and
    they differ (``-f csv -o x.xlsx`` would write text into a file every program opens as a
    workbook)."""
    if not output or str(output) == "-":
        return
    suffix = os.path.splitext(str(output))[1].lower()
    named = {**SUFFIX_FORMATS, **(suffixes or {})}.get(suffix)
    if named is not None and named != fmt and (named in BINARY_FORMATS or fmt in BINARY_FORMATS):
        raise click.UsageError(f"-o {str(output)!r:.80} is named as {named} but --format is {fmt}: drop --format, "
                               f"or name the file for {fmt}")


def format_option(formats=("text", "csv", "markdown", "json"), default: str = "text", suffixes: Optional[dict] = None):
    """--format/-f; when it is not given, the suffix of -o FILE chooses (v2.json -> json; ``suffixes``
    adds a command's own, e.g. .txt -> blocks). Binary formats (xlsx) need -o FILE."""
    own = suffixes
    suffixes = ", ".join(f"{k} -> {v}" for k, v in {**SUFFIX_FORMATS, **(own or {})}.items()
                         if v in formats and v != default)
    opt = click.option("--format", "-f", "fmt", type=click.Choice(formats), default=None,
                       help=f"Output format [default: {default}, or from the suffix of -o FILE: {suffixes}].")

    def deco(f):
        @functools.wraps(f)
        def wrapper(*args, **kwargs):
            if kwargs.get("fmt") is None:
                kwargs["fmt"] = infer_format(kwargs.get("output"), formats, default, own)
            else:
                check_suffix(kwargs.get("output"), kwargs["fmt"], own)
            if kwargs["fmt"] == "xlsx" and not kwargs.get("output"):
                raise click.UsageError("--format xlsx writes a workbook: give -o FILE.xlsx")
            return f(*args, **kwargs)
        return opt(wrapper)
    return deco


#: what -o does with what is already there (README, Errors)
OUTPUT_RULE = ("'-' is standard output. A FIFO or character device is written through; a symlink's target "
               "is written; an existing file is replaced atomically, keeping its mode; a read-only file only "
               "with --force; a directory is refused.")


def _set_force(ctx, param, value):
    from ..fileio import set_force
    set_force(bool(value))


#: --force: replace a read-only output file (read by costmodel.fileio, so every writer obeys it)
force_option = click.option("--force", is_flag=True, default=False, expose_value=False, callback=_set_force,
                            help="Replace an output file even if it is read-only (its mode is kept).")


def output_option(f=None, *, required: bool = False, metavar: str = "FILE",
                  help: str = "Write to FILE (atomically) instead of standard output."):
    """-o/--output FILE (with the rule of costmodel.fileio in its help) and --force. Use as
    ``@output_option`` or ``@output_option(required=True, metavar="FILE.png", help=...)``."""
    def deco(g):
        g = force_option(g)
        return click.option("-o", "--output", "output", default=None, required=required, metavar=metavar,
                            help=f"{help} {OUTPUT_RULE}")(g)
    return deco(f) if f is not None else deco


def emit(text, output: Optional[str], rows: Optional[int] = None) -> None:
    """``text`` (str, or bytes for a binary format) to ``output`` (a path, '-' or None for standard
    output), through costmodel.fileio: every failure is one line (``OutputError``). After writing a
    file, one line on stderr says where: 'wrote FILE (N rows)' (``rows``), else '(N bytes)'."""
    from ..fileio import is_stdout, write_atomic, write_stdout
    if isinstance(text, bytes):  # a workbook: '-' writes its bytes to stdout (refused on a terminal)
        write_atomic("-" if output is None else output, text)
    elif output is None or output == "-":
        write_stdout(text)
    else:
        write_atomic(output, text)
    if output is not None and output != "-" and not is_stdout(output):
        report_written(output, rows, len(text.encode() if isinstance(text, str) else text))


def report_written(path, rows: Optional[int] = None, size: Optional[int] = None) -> None:
    """'costmodel: wrote FILE (N rows)' on stderr, for a regular file (not a FIFO, a device or
    standard output); nothing when stderr cannot take it."""
    import contextlib
    if not os.path.isfile(str(path)):
        return
    if rows is None and size is None:
        size = os.path.getsize(str(path))
    what = f"{rows:,} row{'' if rows == 1 else 's'}" if rows is not None else f"{size:,} bytes"
    with contextlib.suppress(OSError, ValueError):
        click.echo(f"costmodel: wrote {path} ({what})", err=True)


def emit_tables(tables, fmt: str, output: Optional[str]) -> None:
    """Render ``tables`` (a ``render.Table`` or a list) in ``fmt`` and write them (``emit``): the
    text view fits the terminal when it goes to standard output, else $COLUMNS or 120 columns."""
    from ..fileio import is_stdout
    from ..render import DEFAULT_WIDTH, render, row_count, terminal_width
    width = None
    if fmt == "text":
        to_stdout = output is None or output == "-" or is_stdout(output)
        env = os.environ.get("COLUMNS", "").strip()
        width = terminal_width() if to_stdout or env.isdigit() else DEFAULT_WIDTH
    emit(render(tables, fmt, width), output, row_count(tables, fmt))


class Progress:
    """A progress bar on stderr (click's), shown only when ``enabled`` and stderr is a terminal (no
    bar debris in logs), created on the first report once the work has taken ``delay`` seconds:
    ``bar(done, total)`` (or ``bar.update(done)`` with ``length`` given), then ``bar.close()``.
    ``echo(line)`` prints a result line to stdout without mixing it into the bar."""

    def __init__(self, label: str, enabled: bool = True, stream=None, delay: float = 0.0,
                 length: Optional[int] = None):
        import sys
        import time
        self.stream = stream if stream is not None else sys.stderr
        self.label, self.bar, self.done = label, None, 0
        self.delay, self.length, self.start = delay, length, time.monotonic()
        try:
            tty = self.stream.isatty()
        except (AttributeError, ValueError, OSError):
            tty = False
        self.enabled = bool(enabled) and tty

    def update(self, done: int) -> None:
        """``bar(done, length)``: the total given when the bar was made."""
        self(done, self.length)

    def __call__(self, done: int, total: int):
        if not self.enabled:
            return
        if self.bar is None and self.delay:
            import time
            if time.monotonic() - self.start < self.delay:
                self.done = done
                return
        if self.bar is None or self.bar.length != total:
            self.close()
            self.bar = click.progressbar(length=total, label=self.label, file=self.stream)
            self.bar.__enter__()
            self.done = 0
        self.bar.update(done - self.done)
        self.done = done

    def echo(self, line: str) -> None:
        if self.bar is not None:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
        click.echo(line)
        if self.bar is not None:
            self.bar.render_progress()

    def close(self):
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def wraps_command(f):
    return functools.wraps(f)


#: options whose empty value has a message of its own
_EMPTY_HAS_MESSAGE = ("output", "extra_knobs")


def refuse_empty_values(command: click.Command) -> click.Command:
    """Make every text option of ``command`` refuse an empty value (``--device=``, ``--alpha ''``,
    ``--patches=``): an empty value is a mistake, never "the default". Called once per command by
    the CLI's command loader; idempotent."""
    for p in command.params:
        if (not isinstance(p, click.Option) or p.is_flag or getattr(p, "_refuses_empty", False)
                or p.name in _EMPTY_HAS_MESSAGE or not isinstance(p.type, click.types.StringParamType)):
            continue

        def check(ctx, param, value, _then=p.callback):
            values = value if isinstance(value, (tuple, list)) else (value,)
            if any(isinstance(v, str) and not v.strip() for v in values):
                raise click.BadParameter("the value is empty; give a value, or leave the option out for its "
                                         "default", ctx, param)
            return _then(ctx, param, value) if _then else value
        p.callback, p._refuses_empty = check, True
    return command

