"""Every reproduced figure agrees with its published value within the printed precision, or
differs with an explanation recorded in data/ (and no explanation is left on a figure that agrees)."""
import pytest

from costmodel.reproduce import PAPERS, Figure, precision, run
from decimal import Decimal

FIGURES = [(c.paper, c.title, f) for p in PAPERS for c in run(p) for f in c.figures]


@pytest.mark.parametrize("paper,title,fig", FIGURES, ids=[f"{p}:{f.label}:{f.quantity}" for p, _, f in FIGURES])
def test_figure_matches_or_is_explained(paper, title, fig):
    if fig.kind == "prediction":  # a latency predicted beside a measured one: scored, never matched
        assert fig.quantity == "latency_ms" and fig.convention and fig.explanation == ""
        assert (fig.computed is None) == (fig.error is None)
        if fig.computed is not None:
            assert fig.convention.startswith("predicted on ") and "sample" in fig.convention
        return
    if fig.matches is None:
        assert fig.computed is None and fig.convention, "a figure without a value must say why"
        return
    if fig.matches:
        assert not fig.explanation, f"{title}: {fig.label} matches but data/ still explains a difference"
    else:
        assert fig.explanation, f"{title}: {fig.label} {fig.quantity}: published {fig.published}, " \
                                f"computed {fig.computed_in_unit} and no explanation in data/"


def test_precision_and_rounding_habits():
    assert precision("4.2") == Decimal("0.05") and precision("569") == Decimal("0.5")
    assert Figure("x", "madds", "300", "M", 300_774_272).matches is False          # nearest: 301
    assert Figure("x", "madds", "300", "M", 300_774_272, rounding="floor").matches is True
    assert Figure("x", "madds", "301", "M", 300_774_272, rounding="floor").matches is False
    assert Figure("x", "params", "4.24", "M", 4_243_945).matches is True
    assert Figure("x", "params", "4.23", "M", 4_243_945).matches is False
    # two significant digits: 1,605,632 B printed as 1600 kB
    assert Figure("x", "memory", "1600", "", 1605.632, rounding="sig2").matches is True
    assert Figure("x", "memory", "1600", "", 1651.0, rounding="sig2").matches is False
    assert Figure("x", "memory", "1600", "", 1605.632).matches is False


def test_mobilenet_key_figures():
    figs = {(c.title, f.label, f.quantity): f for c in run("mobilenet_v1") + run("mobilenet_v2") for f in c.figures}
    v1 = figs[("TF-slim MobileNet_v1 checkpoints (mobilenet_v1.md)", "MobileNet_v1_1.0_224", "params")]
    assert v1.computed == 4_243_945 and v1.status == "ok"
    v2 = figs[("TF-slim MobileNetV2 checkpoints (mobilenet/README.md)", "mobilenet_v2_0.75_160", "madds")]
    assert v2.computed == 107_296_480 and v2.status == "ok"


def test_reproduce_cli(cli):
    r = cli("reproduce", "mobilenet_v1")
    assert r.code == 0 and "Table 3" in r.out and "DIFFERS" not in r.out
    assert "differ without one" in r.out
    r = cli("reproduce", "nonsense")
    assert r.code == 2 and r.err.count("\n") == 1 and "accepted: all" in r.err
