"""The figures format of data/ (one row per published figure), its one knob parser, the counting
rules registry and the pinned computed values: every computable row's ``computed`` is exactly what
the model gives today, so that a change of a count cannot pass unnoticed behind an explanation."""
import csv
import io
import os

import pytest

from costmodel.datafiles import (
    CORE_KNOBS,
    EXTRA_COLUMNS,
    FIGURE_COLUMNS,
    data_dir,
    figure_files,
    figures,
    format_knobs,
    parse_knobs,
)
from costmodel.errors import CostModelError
from costmodel.reproduce import PAPERS, UNITS, pin, run
from costmodel.reproduce.compare import Figure
from costmodel.reproduce.reader import LABELLED, evaluate, figure, paper_module, pin_text
from costmodel.reproduce.rules import BUILDERS, RULES, Rule, Target, get_rule, register_rule


def rows_of(paper):
    paper_module(paper)  # registers the paper's own rules and builders
    return figures(paper)


# ----------------------------------------------------------------------------- pinned values
@pytest.mark.parametrize("paper", list(PAPERS))
def test_every_computable_row_is_pinned_exactly(paper):
    wrong, unpinned = [], []
    for r in rows_of(paper):
        value, why = evaluate(r)
        if r["counted_as"] and r["network"]:
            if value is None:
                unpinned.append(f"{r['_where']}not computed: {why}")
            elif pin_text(value) != r["computed"]:
                wrong.append(f"{r['_where']}computed {pin_text(value)}, pinned {r['computed'] or '(empty)'}")
        else:
            assert r["computed"] == "", f"{r['_where']}a figure that is not computed has a pinned value"
    assert not unpinned, "\n".join(unpinned)
    assert not wrong, ("counts changed; if intended and reviewed, run python -m costmodel.reproduce.pin:\n"
                       + "\n".join(wrong))


@pytest.mark.parametrize("paper", list(PAPERS))
def test_every_difference_is_explained_and_only_differences(paper):
    for r in rows_of(paper):
        if not r["counted_as"]:
            continue
        f = figure(r)
        assert f.status in ("ok", "differs (explained)", "n/a"), f"{r['_where']}{f.status} without an explanation"
        if f.status == "ok":
            assert not r["explanation"], f"{r['_where']}matches but data/ still explains a difference"
        if f.status == "n/a":  # published only: the report says why
            assert not r["network"] and f.convention, r["_where"]


def test_pin_script_finds_a_changed_count(monkeypatch, capsys):
    assert pin.main(["--check"]) == 0
    madds = RULES["madds"]
    monkeypatch.setitem(RULES, "madds", Rule("madds", madds.text, lambda t: madds.fn(t) + 1, madds.scoped))
    assert pin.main(["--check", "mixnet"]) == 1
    out = capsys.readouterr().out
    assert out.count("\n") == 3 and "data/mixnet.csv row 1 (MixNet-S, madds): computed 239173360 -> 239173361" in out


def test_pinned_value_text():
    assert pin_text(3_857_973_248) == "3857973248" and pin_text(None) == ""
    assert pin_text(832_667_936 / 387_747_520) == "2.147448772850952"  # a ratio: the float's shortest repr


# ----------------------------------------------------------------------------- schema
def test_figures_files_and_schema():
    assert set(figure_files()) == set(PAPERS)
    others = {n for n in os.listdir(data_dir()) if n.endswith(".csv")} - set(figure_files().values())
    assert others == {"devices.csv", "shufflenet_v2_guidelines.csv"}  # schemas of their own
    for paper in PAPERS:
        with open(os.path.join(data_dir(), f"{paper}.csv"), newline="", encoding="utf-8") as f:
            head = next(csv.reader(f))
        assert tuple(head[:len(FIGURE_COLUMNS)]) == FIGURE_COLUMNS and set(head[len(FIGURE_COLUMNS):]) <= set(
            EXTRA_COLUMNS), paper
        for r in rows_of(paper):
            w = r["_where"]
            assert r["source"] and r["table"] and r["model"] and r["quantity"], w
            float(r["published"])  # as printed, a number
            parse_knobs(r["knobs"], w)
            assert r["rounding"] in ("", "nearest", "floor") or r["rounding"][:3] == "sig", w
            if r["counted_as"]:
                get_rule(r["counted_as"], w)
                assert r["unit"] in UNITS, w
            else:  # published only: accuracy, latency, mAP...; nothing to explain
                assert not r["explanation"], w


def test_accuracy_and_latency_are_rows_of_their_own():
    qs = {(r["quantity"], r["unit"]) for p in PAPERS for r in figures(p) if not r["counted_as"]}
    assert {("top1", "%"), ("top5", "%"), ("top1_err", "%"), ("latency_ms", "ms")} <= qs
    lat = [r for r in figures("mobilenet_v3") if r["quantity"] == "latency_ms"]
    assert {parse_knobs(r["knobs"])["device"] for r in lat} == {"pixel1", "pixel2", "pixel3"}


def test_no_kibibyte_unit():
    assert "KB" not in UNITS and UNITS["K"] == 1000  # kB = 1000 B everywhere; KiB would be 1024


# ----------------------------------------------------------------------------- knobs
def test_one_knob_parser():
    assert parse_knobs("alpha=0.75;res=160;classes=1001;rounding=tfslim") == {
        "alpha": 0.75, "res": 160, "classes": 1001, "rounding": "tfslim"}
    k = parse_knobs("res=320x240;depth=1.2;batch=8;device=pixel1;groups=3")
    assert k == {"res": (320, 240), "depth": 1.2, "batch": 8, "device": "pixel1", "groups": "3"}
    assert format_knobs(k) == "res=320x240;depth=1.2;batch=8;device=pixel1;groups=3"
    assert parse_knobs("") == {} and parse_knobs(" ; alpha = 1 ;") == {"alpha": 1.0}
    assert set(LABELLED) <= set(CORE_KNOBS)


@pytest.mark.parametrize("text,needle", [
    ("alpha=x", "alpha='x' is not a number"), ("res=320x", "res=320x240"), ("classes=1.5", "not a number"),
    ("groups3", "is not name=value"), ("alpha=1;alpha=2", "alpha twice"), ("=3", "is not name=value"),
])
def test_bad_knobs_one_line(text, needle):
    with pytest.raises(CostModelError) as e:
        parse_knobs(text, "data/x.csv row 1: ")
    assert needle in str(e.value) and str(e.value).startswith("data/x.csv row 1: ") and "\n" not in str(e.value)


def test_knobs_pass_through_to_the_graph_builder(monkeypatch):
    """Knobs the core does not take yet (non-square res, depth, batch, device) reach build() as parsed."""
    seen = {}

    def builder(**kw):
        from costmodel import build
        seen.update(kw)
        return build("mobilenet_v1", alpha=0.25)
    monkeypatch.setitem(BUILDERS, "future_net", builder)
    row = dict(_row(), network="future_net", knobs="res=320x240;depth=1.2;batch=8;device=pixel1", counted_as="params")
    assert evaluate(row) == (464_600, "")
    assert seen == {"res": (320, 240), "depth": 1.2, "batch": 8, "device": "pixel1"}


# ----------------------------------------------------------------------------- rules
def _row(**kw):
    r = dict.fromkeys(FIGURE_COLUMNS + EXTRA_COLUMNS, "")
    r.update(source="test", table="1", model="m", quantity="params", published="1", unit="M")
    r.update(kw)
    return r


def test_rules_have_one_line_conventions():
    for name in ("params", "params_with_bn", "checkpoint_no_gamma", "madds", "madds_without_fc", "channels"):
        assert name in RULES
    for p in PAPERS:
        paper_module(p)
    for rule in RULES.values():
        assert rule.text and "\n" not in rule.text, rule.name
    assert RULES["channels"].describe("stage2") == "output channels of stage2 (built graph)"
    assert RULES["params"].describe("fire2") == "conv/FC weights + biases (fire2 only)"


def test_register_a_rule_and_use_it_from_a_row(monkeypatch):
    """The memory and latency work add rules the same way (e.g. peak bytes under a planner)."""
    monkeypatch.setattr("costmodel.reproduce.rules.RULES", dict(RULES))
    register_rule("weights_bytes8", "int8 weights in bytes", lambda t: t.counts()["params"])
    with pytest.raises(CostModelError, match="registered twice"):
        register_rule("weights_bytes8", "x", lambda t: 0)
    r = _row(network="mobilenet_v1", knobs="alpha=0.25", counted_as="weights_bytes8", quantity="memory_kB",
             unit="K", published="465")
    f = figure(r)
    assert f.computed == Target("mobilenet_v1", (("alpha", 0.25),)).counts()["params"] == 464_600
    assert f.status == "ok" and f.convention == "int8 weights in bytes"


def test_unknown_rule_and_published_only_rows():
    with pytest.raises(CostModelError, match="unknown counting rule 'nonsense'; registered: params"):
        evaluate(_row(network="mobilenet_v1", counted_as="nonsense"))
    f = figure(_row(counted_as="madds"))  # no network: shown with its published value only
    assert f.computed is None and f.status == "n/a" and f.convention == "published only (not a registry network)"
    assert evaluate(_row(network="mobilenet_v1")) == (None, "")  # no counted_as: data for other lookups
    f = figure(_row(network="shufflenet_v2", knobs="alpha=0.75", counted_as="madds"))
    assert f.computed is None and f.convention.startswith("not computed: shufflenet_v2: alpha 0.75")


def test_default_convention_and_rounding_text():
    f = figure(_row(network="shufflenet_v1", knobs="alpha=0.5;groups=3", counted_as="madds", unit="M",
                    published="37", rounding="floor"))
    assert f.convention == "Mult-Adds, FC included; groups=3; the source truncates" and f.status == "ok"
    assert Figure("x", "memory_kB", "1600", "K", 1_605_632, rounding="sig2").matches is True


def test_ratio_rows():
    f = figure(_row(network="squeezenet1_0/squeezenet1_1", counted_as="madds", quantity="ratio", unit="x",
                    published="2.1"))
    assert f.computed == 832_667_936 / 387_747_520 and f.status == "ok"  # Mult-Adds v1.0 / v1.1 at 227


# ----------------------------------------------------------------------------- CLI
def test_reproduce_help_lists_the_papers(cli):
    r = cli("reproduce", "--help")
    assert r.code == 0 and "the list below" in r.out
    listed = r.out.split("PAPER is one of:")[1]
    assert all(p in listed for p in ["all"] + list(PAPERS)), r.out


def test_no_figure_differs_without_an_explanation(cli):
    r = cli("reproduce", "all", "--strict")
    assert r.code == 0 and ", 0 differ without one" in r.out
    rows = list(csv.DictReader(io.StringIO(cli("reproduce", "all", "-f", "csv").out)))
    assert len(rows) == sum(len(c.figures) for c in run("all"))
