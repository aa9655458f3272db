"""``costmodel calibrate``: fit a latency predictor to this machine (a device file for --device),
or ``--evaluate`` a device file on data it was not fitted to."""
from __future__ import annotations

import functools
import re
import shlex

import click

from .common import emit_tables, format_option, output_option


def parse_budget(text: str) -> float:
    """'10m' -> 600.0; '90s', '1h', '45' (seconds)."""
    from ..errors import CostModelError
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]*)?)\s*([smh]?)\s*", str(text))
    if not m or float(m.group(1)) <= 0:
        raise CostModelError(f"bad --budget {text!r}: expected a positive duration such as 10m, 90s or 1h")
    return float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[m.group(2)]


#: the options only calibrating uses (``--evaluate`` refuses them): parameter name -> flag
CALIBRATE_ONLY = {"backend": "--backend", "threads": "--threads", "budget": "--budget", "name": "--name",
                  "networks": "--networks"}


def _given(ctx, flags: dict) -> list:
    """The flags of ``flags`` (parameter name -> flag) given on the command line (or by environment)."""
    from .common import option_given
    return [flag for name, flag in flags.items() if option_given(ctx, name)]


def check_mode(ctx, evaluate_path, output) -> None:
    """One line for an option the mode does not use: calibration options with --evaluate, --format
    when calibrating (it writes a device file), and -o that is not FILE.json when calibrating (a device
    file is recognized by its .json suffix, by --device and --evaluate alike)."""
    from ..errors import CostModelError
    if evaluate_path:
        extra = _given(ctx, CALIBRATE_ONLY)
        if extra:
            raise CostModelError(f"{', '.join(extra)} {'sets' if len(extra) == 1 else 'set'} up a calibration, "
                                 f"which --evaluate does not run (it scores DEVICE as it is); leave "
                                 f"{'it' if len(extra) == 1 else 'them'} out")
        return
    if _given(ctx, {"fmt": "--format"}):
        raise CostModelError("--format chooses how --evaluate reports; calibrating writes a JSON device file "
                             "(-o FILE.json)")
    if not output:
        raise CostModelError("calibrate writes a device file: give -o FILE.json (or --evaluate FILE.json)")
    if not str(output).lower().endswith(".json"):
        raise CostModelError(f"calibrate writes a device file, which --device and --evaluate recognize by its "
                             f".json suffix: give -o FILE.json, got -o {str(output)!r:.80}")


def _mode_checked(f):
    """Run ``check_mode`` before ``format_option`` reads the suffix of -o (whose accepted suffixes are
    the report's, not a device file's)."""
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        check_mode(click.get_current_context(), kwargs.get("evaluate_path"), kwargs.get("output"))
        return f(*args, **kwargs)
    return wrapper


def _networks(text):
    """--networks NET,NET: the names (each a registry network), or None for the whole zoo."""
    nets = [n.strip() for n in text.split(",") if n.strip()] if text is not None else None
    if nets == []:  # '--networks ,' names none: an error, not "the whole zoo"
        raise click.BadParameter("names no network; give NET,NET or leave the option out for the whole zoo",
                                 param_hint="'--networks'")
    if nets:
        from ..registry import get
        for n in nets:
            get(n)  # unknown names: one line naming the accepted ones
    return nets


@click.command("calibrate")
@click.option("--backend", type=click.Choice(["onnxruntime", "torch"]), default="onnxruntime", show_default=True,
              help="Runtime to calibrate.")
@click.option("--threads", type=int, default=1, show_default=True, help="Intra-op threads (fixed).")
@click.option("--budget", default="10m", show_default=True, help="Measurement time budget (e.g. 10m, 90s, 1h).")
@click.option("--name", default=None, help="Device name written into the file [default: measured-BACKEND-Nt].")
@click.option("--networks", default=None, metavar="NET,NET",
              help="Measure only these registry networks (default: the whole zoo).")
@click.option("--evaluate", "evaluate_path", default=None, metavar="DEVICE",
              help="Score a device file (or calibrated built-in device) instead of calibrating; takes no "
                   "calibration option (--backend, --threads, --budget, --name, --networks).")
@_mode_checked
@format_option(("text", "markdown", "json"))
@output_option
def cmd(backend, threads, budget, name, networks, evaluate_path, fmt, output):
    """Measure per-op micro-benchmarks and the zoo at several alpha x resolution on this machine
    and fit the predictor of costmodel.predictor (t = t_0 + sum over executed units of
    a*FLOPs + b*bytes + c, per op class, non-negative least squares on relative error); -o FILE.json
    writes a device file that --device FILE.json accepts everywhere.

    --evaluate DEVICE reports, on configurations left out of the fit (leave-one-family-out for
    measured devices, leave-one-out for devices fitted to a published table), the share within
    +-10%, the MAPE and Spearman's rank correlation of the predictor and of three baselines
    (Mult-Adds-proportional, MAC-proportional, the uncalibrated roofline)."""
    from ..fileio import check_writable
    if output:
        check_writable(output)
    if evaluate_path:
        from ..calibrate import evaluate
        from ..roofline import device
        emit_tables(evaluation_tables(evaluate(device(evaluate_path))), fmt, output)
        return
    _calibrate(backend, threads, budget, name, networks, output)


def _calibrate(backend, threads, budget, name, networks, output):
    """Check every setting, then measure, fit and write the device file to ``output`` (FILE.json)."""
    from ..errors import CostModelError
    from ..measure import CLI_FLAGS, check_settings, need_onnxruntime, need_torch
    check_settings(threads, names=CLI_FLAGS)
    budget_s = parse_budget(budget)
    nets = _networks(networks)
    (need_onnxruntime if backend == "onnxruntime" else need_torch)()
    try:
        import scipy  # noqa: F401
    except ImportError:
        raise CostModelError("calibrate needs scipy: pip install '.[measure]'") from None
    from ..calibrate import calibrate
    from .common import Progress
    with Progress("calibrating", True) as bar:
        d = calibrate(backend, threads, budget_s, name or "", nets, progress=bar)
    from ..fileio import write_atomic
    from ..formatting import json_text
    write_atomic(output, json_text(d))
    fit = d["fit_in_sample"]
    click.echo(f"wrote {output}: {len(d['measurements'])} workloads ({len(d['skipped'])} skipped by the budget); "
               f"in-sample within +-10% {fit['within_10pct']:.0%}, MAPE {fit['mape']:.1%}; score it on left-out "
               f"families with: costmodel calibrate --evaluate {shlex.quote(str(output))}", err=True)


def _pct(v):
    return None if v != v else 100.0 * v


def evaluation_tables(r: dict) -> list:
    """``calibrate --evaluate`` as ``render.Table``s: the predictor beside three baselines on the
    configurations left out of the fit, the goals, and per left-out family (JSON: the evaluation)."""
    from ..render import Column, Table
    names = {"madds": "Mult-Adds-proportional (fitted k)", "mac": "MAC-proportional (fitted k)",
             "roofline": f"uncalibrated roofline ({r.get('roofline_baseline', '')})"}
    rows = [{"predictor": "calibrated predictor", "within": _pct(r["within_10pct"]), "mape": _pct(r["mape"]),
             "spearman": r["spearman"]}]
    for k in ("madds", "mac", "roofline"):
        b = r["baselines"][k]
        rows.append({"predictor": names[k], "within": _pct(b["within_10pct"]), "mape": _pct(b["mape"]),
                     "spearman": b["spearman"]})
    goals = [f"goal {k} >= {g['target']:g}: {'reached' if g['reached'] else 'NOT reached'} ({r[k]:.3f})"
             for k, g in r.get("goals", {}).items()]
    out = [Table(f"{r['device']}: {r['protocol']}, {r['n_configs']} configurations scored",
                 [Column("predictor", "predictor", "text"), Column("within", "within +-10% (%)", "pct"),
                  Column("mape", "MAPE (%)", "pct"), Column("spearman", "Spearman", "ratio")], rows,
                 notes=goals, data=r, sheet="scores")]
    if len(r.get("by_family", {})) > 1:
        fam = [{"family": f, "n": v["n"], "within": _pct(v["within_10pct"]), "mape": _pct(v["mape"]),
                "madds_within": _pct(v["madds_within_10pct"])} for f, v in r["by_family"].items()]
        out.append(Table("", [Column("family", "left-out family", "text"), Column("n", "configs", "int"),
                              Column("within", "within +-10% (%)", "pct"), Column("mape", "MAPE (%)", "pct"),
                              Column("madds_within", "Mult-Adds within +-10% (%)", "pct")], fam, sheet="families"))
    return out


def render_evaluation(r: dict, fmt: str, width=None):
    from ..render import render
    return render(evaluation_tables(r), fmt, width)
